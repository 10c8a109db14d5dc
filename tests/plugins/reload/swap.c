/*
 * swap.c - plugin "swap", the hot-reload tests' plugin, built several ways
 * from this one file (see CMakeLists.txt beside it), each with its own
 * -DSWAP_BUILD="x" (and so its own build id). One handler, job "swap",
 * schema v1..SWAP_SCHEMA_MAX (1; build c: 2). It sleeps for the payload's
 * optional "sleep_ms" (a whole number, capped at 5000; RETRY "cancelled"
 * as soon as cancellation is requested), then records the result
 * {"build":"<SWAP_BUILD>","build_id":"<its build id>","job":"<job id>"}
 * (with $SWAP_RECORD set, it also appends "<job id> <build id>" to that
 * file). init() logs "swap build <x>
 * init" and fini() "swap build <x> fini" through the host's log, so a test
 * can tell which generation started and which was finalised.
 *
 * Variants (a file that breaks one rule each): SWAP_ABI_MAJOR sets the
 * descriptor's abi_major; SWAP_INIT_FAIL makes init() log why and return
 * -1; SWAP_MISSING_SYMBOL calls a function nothing defines (the build
 * links without -z defs, so dlopen(RTLD_NOW) fails on it).
 */
#include <jobrt/plugin.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef SWAP_BUILD
#error "build with -DSWAP_BUILD=\"a\" (see CMakeLists.txt)"
#endif
#ifndef SWAP_SCHEMA_MAX
#define SWAP_SCHEMA_MAX 1
#endif
#ifndef SWAP_ABI_MAJOR
#define SWAP_ABI_MAJOR JOBRT_ABI_MAJOR
#endif

#define SWAP_MAX_SLEEP_MS 5000

#ifdef SWAP_MISSING_SYMBOL
/* Defined nowhere: the dynamic linker cannot bind it. */
extern int swap_missing_dependency(void);
#endif

/* This generation's host and handle, for fini()'s log line (each load is
 * a private copy of the file, so each generation has its own). */
static struct {
    const jobrt_host_api *host;
    jobrt_plugin_ref *self;
} swap_state;

/* The payload's "sleep_ms": 0 if absent, else a whole number >= 0, capped.
 * Returns 0, or -1 after setting the job's error. */
static int sleep_ms_of(const jobrt_host_api *host, jobrt_job *job,
                       unsigned *ms)
{
    size_t len = 0;
    const char *text = host->job_payload(job, &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *item = cJSON_IsObject(root)
                            ? cJSON_GetObjectItemCaseSensitive(root,
                                                               "sleep_ms")
                            : NULL;
    int rc = 0;

    *ms = 0;
    if (item != NULL) {
        double v = cJSON_IsNumber(item) ? item->valuedouble : -1;
        if (v < 0 || v != (double)(long long)v) {
            host->job_set_error(job, "swap: sleep_ms must be a whole "
                                     "number >= 0");
            rc = -1;
        } else {
            *ms = v > SWAP_MAX_SLEEP_MS ? SWAP_MAX_SLEEP_MS : (unsigned)v;
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* Sleeps ms in steps of at most 10 ms; 0, or -1 once cancelled. */
static int nap(const jobrt_host_api *host, const jobrt_job *job, unsigned ms)
{
    for (unsigned slept = 0;;) {
        if (host->job_cancel_requested(job))
            return -1;
        if (slept >= ms)
            return 0;
        unsigned step = ms - slept < 10 ? ms - slept : 10;
        struct timespec ts = {0, (long)step * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        slept += step;
    }
}

/* With $SWAP_RECORD set, appends "<job id> <build id>" to that file, one
 * write(2) per line (O_APPEND: lines of concurrent jobs never mix), so a
 * test can count how often each job ran, and on which build. */
static void record_run(const jobrt_host_api *host, const jobrt_job *job)
{
    const char *path = getenv("SWAP_RECORD");
    if (path == NULL || *path == '\0')
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s\n", host->job_id(job),
                     JOBRT_BUILD_ID);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) < 0)
        host->job_log(job, JOBRT_LOG_WARN, "swap: cannot append to "
                      "SWAP_RECORD");
    close(fd);
}

/* {"build":"<build>","build_id":"<JOBRT_BUILD_ID>","job":"<id>"}: ids are
 * printable ASCII, but may hold '"' or '\\', so those are escaped. */
static int set_result(const jobrt_host_api *host, jobrt_job *job)
{
    char out[96 + 2 * 128 + sizeof SWAP_BUILD + sizeof JOBRT_BUILD_ID];
    size_t n = (size_t)snprintf(out, sizeof out,
                                "{\"build\":\"" SWAP_BUILD "\",\"build_id\":\""
                                JOBRT_BUILD_ID "\",\"job\":\"");
    for (const char *p = host->job_id(job); *p && n < sizeof out - 4; p++) {
        if (*p == '"' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    out[n++] = '"';
    out[n++] = '}';
    if (host->job_set_result(job, out, n) != 0) {
        host->job_set_error(job, "swap: could not set the result");
        return JOBRT_FAIL;
    }
    return JOBRT_OK;
}

static int swap_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    unsigned ms;

    (void)ctx;
#ifdef SWAP_MISSING_SYMBOL
    if (swap_missing_dependency() != 0)
        return JOBRT_FAIL;
#endif
    if (sleep_ms_of(host, job, &ms) != 0)
        return JOBRT_FAIL;
    if (nap(host, job, ms) != 0) {
        host->job_set_error(job, "cancelled");
        return JOBRT_RETRY;
    }
    record_run(host, job);
    return set_result(host, job);
}

static int swap_init(const jobrt_host_api *host, jobrt_plugin_ref *self,
                     void **ctx)
{
    swap_state.host = host;
    swap_state.self = self;
    *ctx = &swap_state;
#ifdef SWAP_INIT_FAIL
    host->log(self, JOBRT_LOG_ERROR,
              "swap build " SWAP_BUILD " init failed (on purpose)");
    return -1;
#else
    host->log(self, JOBRT_LOG_INFO, "swap build " SWAP_BUILD " init");
    return 0;
#endif
}

static void swap_fini(void *ctx)
{
    (void)ctx;
    swap_state.host->log(swap_state.self, JOBRT_LOG_INFO,
                         "swap build " SWAP_BUILD " fini");
}

static const jobrt_handler_desc swap_handlers[] = {
    {
        .job_name = "swap",
        .schema_min = 1,
        .schema_max = SWAP_SCHEMA_MAX,
        .run = swap_run,
    },
};

/* Header fields spelled out instead of JOBRT_PLUGIN_DESC_INIT, for
 * SWAP_ABI_MAJOR. */
JOBRT_PLUGIN {
    .magic = JOBRT_PLUGIN_MAGIC,
    .struct_size = sizeof(jobrt_plugin_desc),
    .abi_major = SWAP_ABI_MAJOR,
    .abi_minor = JOBRT_ABI_MINOR,
    .handler_size = sizeof(jobrt_handler_desc),
    .name = "swap",
    .version = "1.0.0",
    .build_id = JOBRT_BUILD_ID,
    .init = swap_init,
    .fini = swap_fini,
    .n_handlers = sizeof(swap_handlers) / sizeof(swap_handlers[0]),
    .handlers = swap_handlers,
};
