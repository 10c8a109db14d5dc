/*
 * testkit - the test suite's plugin "testkit" 1.0.0. Each handler produces
 * one behaviour the runtime must handle (schema 1..1 unless noted):
 *   ok         OK, result {"ok":true,"attempt":A}
 *   retry      RETRY every time, error "transient A" (max_attempts 3)
 *   fail       FAIL, error "permanent: bad input"
 *   flaky      {"succeed_on":N}: RETRY until attempt >= N, then OK with
 *              {"attempt":A} (max_attempts 5)
 *   sleep      {"ms":N}: sleeps N ms in 10 ms steps; RETRY "cancelled" as
 *              soon as cancellation is requested, else OK
 *   versioned  schema 1 -> {"v":1}, schema 2..3 -> {"v":"2-3"}
 *   record     appends "<job id>\n" to $JOBRT_TESTKIT_RECORD, then OK
 *   gather     {"n":N}: waits (up to 5 s) until N gather jobs are running
 *              at once in this process: OK {"peak":P}, else FAIL
 *   stoppable  runs until cancellation is requested (at most 60 s), then
 *              OK {"stopped":true}: a handler that stops cleanly
 *   fail_with  {"error":S}: logs S with job_log and host->log, then FAIL
 *              with S as its error: untrusted text in log lines (logs.sh)
 *   overlap    {"ms":N}: counts itself running in $JOBRT_TESTKIT_OVERLAP_DIR
 *              (a file per running job, named by pid and job id, under
 *              flock; jobs of processes that died are not counted),
 *              keeps the most seen at once in its file "max", sleeps N
 *              ms, then OK: how many run at once across processes
 *   progress   {"file":F,"ms":N,"message":S} (each optional): reports 10%
 *              "starting", then 50% with S (default "half way"), then
 *              waits until file F exists or N ms (default 30000) passed,
 *              reports 100% "done" and is OK {"progress":true}; RETRY
 *              "cancelled" when cancelled; FAIL when the host has no
 *              job_progress (ABI 1.2) or it refused a valid report
 */
#include <jobrt/plugin.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STR_LEN(s) (s), (sizeof(s) - 1)

/* Record a result built with snprintf. */
static int set_resultf(const jobrt_host_api *host, jobrt_job *job,
                       const char *fmt, unsigned value)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), fmt, value);

    if (n < 0 || (size_t)n >= sizeof(buf) ||
        host->job_set_result(job, buf, (size_t)n) != 0) {
        host->job_set_error(job, "testkit: could not set result");
        return JOBRT_FAIL;
    }
    return JOBRT_OK;
}

/*
 * Read a whole, non-negative number member `key` from the payload object.
 * Returns 0, or -1 after setting the job's error.
 */
static int payload_uint(const jobrt_host_api *host, jobrt_job *job,
                        const char *key, unsigned long *out)
{
    size_t len = 0;
    const char *text = host->job_payload(job, &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    int rc = -1;

    if (cJSON_IsNumber(item) && item->valuedouble >= 0 &&
        item->valuedouble <= 4294967295.0) {
        *out = (unsigned long)item->valuedouble;
        rc = 0;
    } else {
        host->job_set_error(job, "payload: %s must be a number >= 0", key);
    }
    cJSON_Delete(root);
    return rc;
}

static int run_ok(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return set_resultf(host, job, "{\"ok\":true,\"attempt\":%u}",
                       host->job_attempt(job));
}

static int run_retry(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    host->job_set_error(job, "transient %u", host->job_attempt(job));
    return JOBRT_RETRY;
}

static int run_fail(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    host->job_set_error(job, "permanent: bad input");
    return JOBRT_FAIL;
}

static int run_flaky(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    uint32_t attempt = host->job_attempt(job);
    unsigned long succeed_on;

    (void)ctx;
    if (payload_uint(host, job, "succeed_on", &succeed_on) != 0)
        return JOBRT_FAIL;
    if (attempt < succeed_on) {
        host->job_set_error(job, "flaky: attempt %u of %lu", attempt,
                            succeed_on);
        return JOBRT_RETRY;
    }
    return set_resultf(host, job, "{\"attempt\":%u}", attempt);
}

static int run_sleep(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    unsigned long ms, slept = 0;

    (void)ctx;
    if (payload_uint(host, job, "ms", &ms) != 0)
        return JOBRT_FAIL;
    for (;;) {
        unsigned long step;
        struct timespec ts;

        if (host->job_cancel_requested(job)) {
            host->job_set_error(job, "cancelled");
            return JOBRT_RETRY;
        }
        if (slept >= ms)
            break;
        step = ms - slept < 10 ? ms - slept : 10;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)step * 1000000L;
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        slept += step;
    }
    return JOBRT_OK;
}

static int run_versioned_1(const jobrt_host_api *host, void *ctx,
                           jobrt_job *job)
{
    (void)ctx;
    if (host->job_set_result(job, STR_LEN("{\"v\":1}")) != 0)
        return JOBRT_FAIL;
    return JOBRT_OK;
}

static int run_versioned_2_3(const jobrt_host_api *host, void *ctx,
                             jobrt_job *job)
{
    (void)ctx;
    if (host->job_set_result(job, STR_LEN("{\"v\":\"2-3\"}")) != 0)
        return JOBRT_FAIL;
    return JOBRT_OK;
}

static int run_record(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    const char *path = getenv("JOBRT_TESTKIT_RECORD");
    const char *id = host->job_id(job);
    size_t id_len = strlen(id);
    char *line;
    ssize_t n;
    int fd;

    (void)ctx;
    if (path == NULL || path[0] == '\0') {
        host->job_set_error(job, "record: JOBRT_TESTKIT_RECORD is not set");
        return JOBRT_FAIL;
    }
    /* One write(2) of the whole line to an O_APPEND file: lines written by
     * concurrent workers (threads or processes) never interleave. */
    line = malloc(id_len + 1);
    if (line == NULL) {
        host->job_set_error(job, "record: out of memory");
        return JOBRT_RETRY;
    }
    memcpy(line, id, id_len);
    line[id_len] = '\n';

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        host->job_set_error(job, "record: open %s: %s", path,
                            strerror(errno));
        free(line);
        return JOBRT_RETRY;
    }
    n = write(fd, line, id_len + 1);
    if (n != (ssize_t)(id_len + 1)) {
        host->job_set_error(job, "record: write %s: %s", path,
                            n < 0 ? strerror(errno) : "short write");
        close(fd);
        free(line);
        return JOBRT_RETRY;
    }
    close(fd);
    free(line);
    return JOBRT_OK;
}

/* Appends "<id> <attempt> <wall ms>\n" to $JOBRT_TESTKIT_RECORD in one
 * write(2); returns 0 or -1 (error set on the job). */
static int append_line(const jobrt_host_api *host, jobrt_job *job)
{
    const char *path = getenv("JOBRT_TESTKIT_RECORD");
    struct timespec ts;
    char line[256];
    if (path == NULL || path[0] == '\0') {
        host->job_set_error(job, "JOBRT_TESTKIT_RECORD is not set");
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(line, sizeof line, "%s %u %lld\n", host->job_id(job),
                     host->job_attempt(job),
                     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || n < 0 || write(fd, line, (size_t)n) != n) {
        host->job_set_error(job, "cannot append to %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* retry_log: logs each attempt with its time, then asks for a retry
 * (backoff timing tests). */
static int run_retry_log(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    if (append_line(host, job) != 0)
        return JOBRT_FAIL;
    host->job_set_error(job, "retry_log attempt %u", host->job_attempt(job));
    return JOBRT_RETRY;
}

/* retry_after: payload {"ms":N}: the first attempt asks to be retried no
 * sooner than N ms later (a rate-limit window); the second succeeds. */
static int run_retry_after(const jobrt_host_api *host, void *ctx,
                           jobrt_job *job)
{
    unsigned long ms = 0;
    (void)ctx;
    if (append_line(host, job) != 0)
        return JOBRT_FAIL;
    if (host->job_attempt(job) > 1)
        return JOBRT_OK;
    if (payload_uint(host, job, "ms", &ms) != 0)
        return JOBRT_FAIL;
    host->job_retry_after(job, (uint32_t)ms);
    host->job_set_error(job, "rate limited for %lu ms", ms);
    return JOBRT_RETRY;
}

/* gather: a rendezvous that only N jobs running side by side can pass,
 * so it proves the runtime really runs N at once. */
static atomic_ulong gather_running, gather_peak;

static int run_gather(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    unsigned long n, now, peak;
    int waited_ms = 0;

    (void)ctx;
    if (payload_uint(host, job, "n", &n) != 0)
        return JOBRT_FAIL;
    now = atomic_fetch_add(&gather_running, 1) + 1;
    peak = atomic_load(&gather_peak);
    while (now > peak &&
           !atomic_compare_exchange_weak(&gather_peak, &peak, now))
        ;
    while (atomic_load(&gather_peak) < n && waited_ms < 5000) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
        waited_ms++;
    }
    atomic_fetch_sub(&gather_running, 1);
    peak = atomic_load(&gather_peak);
    if (peak < n) {
        host->job_set_error(job, "only %lu of %lu ran at once", peak, n);
        return JOBRT_FAIL;
    }
    return set_resultf(host, job, "{\"peak\":%u}", (unsigned)peak);
}

static int run_progress(const jobrt_host_api *host, void *ctx,
                        jobrt_job *job)
{
    (void)ctx;
    if (!JOBRT_HOST_HAS(host, job_progress)) {
        host->job_set_error(job, "progress: the host has no job_progress");
        return JOBRT_FAIL;
    }
    size_t len = 0;
    const char *text = host->job_payload(job, &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(root, "file");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "ms");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
    long wait_ms = cJSON_IsNumber(ms) && ms->valuedouble >= 0 &&
                           ms->valuedouble <= 600000
                       ? (long)ms->valuedouble
                       : 30000;
    int rc = JOBRT_OK;
    if (host->job_progress(job, 10, "starting") != 0 ||
        host->job_progress(job, 50, cJSON_IsString(msg) ? msg->valuestring
                                                         : "half way") != 0) {
        host->job_set_error(job, "progress: a valid report was refused");
        rc = JOBRT_FAIL;
    }
    for (long waited = 0; rc == JOBRT_OK && waited < wait_ms; waited += 10) {
        struct timespec ts = {0, 10000000L};
        if (cJSON_IsString(file) && access(file->valuestring, F_OK) == 0)
            break;
        if (host->job_cancel_requested(job)) {
            host->job_set_error(job, "cancelled");
            rc = JOBRT_RETRY;
        }
        nanosleep(&ts, NULL);
    }
    cJSON_Delete(root);
    if (rc != JOBRT_OK)
        return rc;
    if (host->job_progress(job, 100, "done") != 0 ||
        host->job_set_result(job, STR_LEN("{\"progress\":true}")) != 0)
        return JOBRT_FAIL;
    return JOBRT_OK;
}

static int run_stoppable(const jobrt_host_api *host, void *ctx,
                         jobrt_job *job)
{
    (void)ctx;
    for (int waited_ms = 0; waited_ms < 60000; waited_ms += 5) {
        struct timespec ts = {0, 5000000L};
        if (host->job_cancel_requested(job)) {
            if (host->job_set_result(job, STR_LEN("{\"stopped\":true}")) != 0)
                return JOBRT_FAIL;
            return JOBRT_OK;
        }
        nanosleep(&ts, NULL);
    }
    host->job_set_error(job, "stoppable: never asked to stop");
    return JOBRT_FAIL;
}

/* The host table and this plugin, saved by init() for host->log. */
static const jobrt_host_api *saved_host;
static jobrt_plugin_ref *saved_self;

static int testkit_init(const jobrt_host_api *host, jobrt_plugin_ref *self,
                        void **ctx)
{
    saved_host = host;
    saved_self = self;
    *ctx = NULL;
    return 0;
}

static int run_fail_with(const jobrt_host_api *host, void *ctx,
                         jobrt_job *job)
{
    size_t len = 0;
    const char *text = host->job_payload(job, &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "error");
    (void)ctx;
    if (!cJSON_IsString(item)) {
        cJSON_Delete(root);
        host->job_set_error(job, "payload: error must be a string");
        return JOBRT_FAIL;
    }
    host->job_log(job, JOBRT_LOG_WARN, "fail_with: %s", item->valuestring);
    if (saved_host)
        saved_host->log(saved_self, JOBRT_LOG_INFO, "plugin-level: %s",
                        item->valuestring);
    host->job_set_error(job, "%s", item->valuestring);
    cJSON_Delete(root);
    return JOBRT_FAIL;
}

/* crash: takes its whole worker process down, as a segfaulting or
 * OOM-killed handler would (poison-job tests). */
static int run_crash(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    host->job_log(job, JOBRT_LOG_WARN, "crashing the worker on purpose");
    abort();
}

/* overlap: see the header. Under the directory's lock: drop the files
 * of dead processes, count the rest, add ours, raise "max". */
static int overlap_enter(const char *dir, const char *mine)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", dir);
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) != 0)
        return -1;
    int running = 1;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "run-", 4) != 0)
            continue;
        long pid = strtol(e->d_name + 4, NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        } else {
            running++;
        }
    }
    if (d)
        closedir(d);
    int fd = open(mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/max", dir);
    int max = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%d", &max) != 1)
            max = 0;
        fclose(f);
    }
    if (running > max && (f = fopen(path, "w")) != NULL) {
        fprintf(f, "%d\n", running);
        fclose(f);
    }
    flock(lock, LOCK_UN);
    close(lock);
    return fd >= 0 ? 0 : -1;
}

static int run_overlap(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    unsigned long ms;
    const char *dir = getenv("JOBRT_TESTKIT_OVERLAP_DIR");
    if (dir == NULL || dir[0] == '\0') {
        host->job_set_error(job, "JOBRT_TESTKIT_OVERLAP_DIR is not set");
        return JOBRT_FAIL;
    }
    if (payload_uint(host, job, "ms", &ms) != 0)
        return JOBRT_FAIL;
    char mine[4096];
    snprintf(mine, sizeof mine, "%s/run-%ld-%s", dir, (long)getpid(),
             host->job_id(job));
    if (overlap_enter(dir, mine) != 0) {
        host->job_set_error(job, "overlap: cannot use %s", dir);
        return JOBRT_FAIL;
    }
    struct timespec step = {0, 10 * 1000000L};
    for (unsigned long t = 0; t < ms; t += 10)
        nanosleep(&step, NULL);
    unlink(mine);
    return JOBRT_OK;
}

static const jobrt_handler_desc handlers[] = {
    { .job_name = "overlap", .schema_min = 1, .schema_max = 1,
      .run = run_overlap },
    {
        .job_name = "retry_log",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_retry_log,
        .max_attempts = 4,
        .backoff_base_ms = 400,
        .backoff_cap_ms = 1000,
    },
    {
        .job_name = "retry_after",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_retry_after,
        .max_attempts = 3,
    },
    { .job_name = "crash", .schema_min = 1, .schema_max = 1, .run = run_crash },
    { .job_name = "ok", .schema_min = 1, .schema_max = 1, .run = run_ok },
    {
        .job_name = "retry",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_retry,
        .max_attempts = 3,
    },
    { .job_name = "fail", .schema_min = 1, .schema_max = 1, .run = run_fail },
    {
        .job_name = "flaky",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_flaky,
        .max_attempts = 5,
    },
    {
        .job_name = "sleep",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_sleep,
        .timeout_ms = 0,
    },
    {
        .job_name = "versioned",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_versioned_1,
    },
    {
        .job_name = "versioned",
        .schema_min = 2,
        .schema_max = 3,
        .run = run_versioned_2_3,
    },
    {
        .job_name = "record",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_record,
    },
    { .job_name = "gather", .schema_min = 1, .schema_max = 1, .run = run_gather },
    {
        .job_name = "stoppable",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_stoppable,
    },
    {
        .job_name = "fail_with",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_fail_with,
    },
    {
        .job_name = "progress",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_progress,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "testkit",
    .version = "1.0.0",
    .build_id = "test",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
    .init = testkit_init,
};
