/*
 * my_job.c - a minimal jobrt plugin to copy and rename. It serves job
 * "my_job", payload schema 1, and shows every host accessor, how to record
 * a result, when to ask for a retry versus fail for good, and how to honour
 * cancellation. Build it with the CMakeLists.txt or the Makefile beside
 * it, against the installed SDK. In C++, the descriptor takes another
 * form: see "C++ plugins" in jobrt/plugin.h and examples/cpp-report/.
 *
 * To show the retry flow, its first attempt always asks for a retry:
 * `jobrt exec ... my_job -v 1 --payload '{}'` exits 75 ("retry: downstream
 * busy, attempt 1"); add `--attempt 2` to see it succeed.
 */
#include <jobrt/plugin.h>

#include <stdio.h>

/*
 * Optional: runs once when the plugin is loaded, before any handler. Store
 * anything handlers share in *ctx (it is passed to every handler and to
 * fini). Return non-zero to refuse to load; say why with host->log first.
 */
static int my_init(const jobrt_host_api *host, struct jobrt_plugin *self,
                   void **ctx)
{
    *ctx = NULL;
    host->log(self, JOBRT_LOG_INFO, "my_job plugin ready");
    return 0;
}

/* Optional: frees what init made; called only after a successful init.
 * After it only the plugin's ELF destructors run (at dlclose). */
static void my_fini(void *ctx)
{
    (void)ctx;
}

/*
 * The handler. Several worker threads call it at once, so keep its state on
 * the stack or in ctx (made thread-safe). Strings the host returns are
 * borrowed until the handler returns: copy what you keep.
 */
static int my_job_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    /*
     * Every member of ABI 1.0 is always there. Before calling one added
     * later, check it: if (JOBRT_HOST_HAS(host, some_new_member)) ...
     *
     * Who and what: all of these are cheap, call them as often as needed.
     */
    const char *id = host->job_id(job);           /* unique job id */
    const char *name = host->job_name(job);       /* "my_job" */
    uint32_t version = host->job_version(job);    /* payload schema, here 1 */
    uint32_t attempt = host->job_attempt(job);    /* 1 on the first run */
    const char *corr = host->job_correlation_id(job); /* NULL if none */
    int64_t deadline = host->job_deadline_ms(job); /* epoch ms, 0 = none */

    /* The payload: validated JSON text, NUL-terminated, with its length. */
    size_t len = 0;
    const char *payload = host->job_payload(job, &len);

    char result[128];
    int n;

    (void)ctx;
    host->job_log(job, JOBRT_LOG_DEBUG,
                  "%s v%u attempt %u corr=%s deadline=%lld payload=%.*s",
                  name, version, attempt, corr ? corr : "-",
                  (long long)deadline, (int)len, payload);

    /*
     * Permanent failure: the input can never succeed, so retrying is
     * pointless. JOBRT_FAIL dead-letters the job at once with the error.
     */
    if (len < 2 || payload[0] != '{') {
        host->job_set_error(job, "payload: expected a JSON object");
        return JOBRT_FAIL;
    }

    /*
     * Long work goes in steps, checking for cancellation (deadline passed
     * or worker shutting down) between them. Stop promptly and ask for a
     * retry: the work was not done and may succeed on another run.
     */
    for (int step = 0; step < 3; step++) {
        if (host->job_cancel_requested(job)) {
            host->job_set_error(job, "cancelled at step %d", step);
            return JOBRT_RETRY;
        }
        /* ... one bounded piece of real work ... */
        /* ABI 1.2: how far it has come, shown by `jobrt status` while
         * the job runs. Only the latest report counts, so it is cheap to
         * call per step. */
        if (JOBRT_HOST_HAS(host, job_progress))
            host->job_progress(job, (step + 1) * 100 / 3, "working");
    }

    /*
     * Transient failure (a timeout, a busy downstream service): set the
     * error and return JOBRT_RETRY; the runtime runs the job again until
     * max_attempts, then dead-letters it. Here the first attempt pretends
     * to hit one, to show the flow.
     */
    if (attempt == 1) {
        host->job_set_error(job, "downstream busy, attempt %u", attempt);
        return JOBRT_RETRY;
    }

    /* Success: record a result (any JSON; it is copied) and return OK. */
    n = snprintf(result, sizeof(result), "{\"job\":\"%s\",\"attempt\":%u}",
                 id, attempt);
    if (n < 0 || (size_t)n >= sizeof(result) ||
        host->job_set_result(job, result, (size_t)n) != 0) {
        /* Producers choose job ids (printable ASCII, quotes and
         * backslashes included): a real plugin JSON-escapes what it puts
         * in a result; set_result refuses text that is not valid JSON. */
        host->job_set_error(job, "could not build the result");
        return JOBRT_FAIL;
    }
    return JOBRT_OK;
}

/* The job names and payload schema ranges this plugin serves. */
static const jobrt_handler_desc my_handlers[] = {
    {
        .job_name = "my_job",
        .schema_min = 1,
        .schema_max = 1,
        .run = my_job_run,
        .timeout_ms = 0,   /* 0: the worker's --job-timeout */
        .max_attempts = 0, /* 0: the worker's --max-attempts */
    },
};

/* The one exported symbol. The runtime checks it before running any code. */
JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "my-job",
    .version = "0.1.0",
    .build_id = JOBRT_BUILD_ID, /* stamped by the SDK */
    .init = my_init,
    .fini = my_fini,
    .n_handlers = sizeof(my_handlers) / sizeof(my_handlers[0]),
    .handlers = my_handlers,
};
