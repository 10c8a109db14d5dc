/*
 * hazard - the test suite's plugin "hazard" 1.0.0: handlers that do what
 * third-party code does to a process, for the isolation tests (schema 1):
 *   work   {"ms":N, "crash":"segv"|"abort"|"exit"}: without "crash",
 *          sleeps N ms (default 0), appends "<job id> <pid> <ms since
 *          the epoch>\n" to
 *          $JOBRT_HAZARD_RECORD and returns OK; with it, segfaults,
 *          aborts or calls exit(7) at once
 *   spin   loops forever, never looking at job_cancel_requested() (its
 *          deadline is 60 s unless the envelope's timeout_ms says less)
 *   hog    {"mb":N}: allocates and touches N MiB every 20 ms, forever
 * Its build id is HAZARD_BUILD (default "hazard-1").
 */
#define _GNU_SOURCE /* memmem */
#include <jobrt/plugin.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef HAZARD_BUILD
#define HAZARD_BUILD "hazard-1"
#endif

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The number after "key": in the payload, or dflt. */
static long payload_num(const char *p, size_t len, const char *key, long dflt)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = memmem(p, len, pat, strlen(pat));
    return at ? strtol(at + strlen(pat), NULL, 10) : dflt;
}

static int has(const char *p, size_t len, const char *s)
{
    return memmem(p, len, s, strlen(s)) != NULL;
}

static int run_work(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    size_t len = 0;
    const char *p = host->job_payload(job, &len);
    if (has(p, len, "\"crash\":\"segv\"")) {
        /* a real fault, on a page mapped with no access: no sanitizer
         * check catches it first (UBSan's null check would exit) */
        volatile int *nowhere = mmap(NULL, 4096, PROT_NONE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *nowhere = 1;
    } else if (has(p, len, "\"crash\":\"abort\"")) {
        abort();
    } else if (has(p, len, "\"crash\":\"exit\"")) {
        exit(7);
    }
    long ms = payload_num(p, len, "ms", 0);
    if (ms > 0)
        sleep_ms(ms);
    const char *path = getenv("JOBRT_HAZARD_RECORD");
    if (path) {
        char line[200];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int n = snprintf(line, sizeof line, "%s %d %lld\n", host->job_id(job),
                         (int)getpid(),
                         (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, (size_t)n) != n) {
            host->job_set_error(job, "hazard: cannot append to %s", path);
            if (fd >= 0)
                close(fd);
            return JOBRT_RETRY;
        }
        close(fd);
    }
    return JOBRT_OK;
}

static int run_spin(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host, (void)ctx, (void)job;
    for (;;)
        sleep_ms(5); /* never asks whether it should stop */
    return JOBRT_OK;
}

static int run_hog(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    size_t len = 0;
    const char *p = host->job_payload(job, &len);
    long mb = payload_num(p, len, "mb", 16);
    for (;;) {
        char *block = malloc((size_t)mb << 20);
        if (block)
            memset(block, 0x5a, (size_t)mb << 20); /* resident, kept */
        sleep_ms(20);
    }
    return JOBRT_OK;
}

static const jobrt_handler_desc handlers[] = {
    {.job_name = "work", .schema_min = 1, .schema_max = 1, .run = run_work},
    {.job_name = "spin", .schema_min = 1, .schema_max = 1, .run = run_spin,
     .timeout_ms = 60000},
    {.job_name = "hog", .schema_min = 1, .schema_max = 1, .run = run_hog},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "hazard",
    .version = "1.0.0",
    .build_id = HAZARD_BUILD,
    .n_handlers = sizeof handlers / sizeof handlers[0],
    .handlers = handlers,
};
