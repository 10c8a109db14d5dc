/* pinned_tls.so - a valid plugin "zoo-pinned-tls" (job zoo_pinned_tls
 * v1..1) whose handler counts its runs per thread in a small initial-exec
 * TLS variable: the static TLS block it takes cannot be given back, so the
 * ELF check reports pin reason "uses initial-exec (static) TLS". */
#include <jobrt/plugin.h>

#include <stdio.h>

static __thread int runs __attribute__((tls_model("initial-exec")));

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    char out[32];
    int n = snprintf(out, sizeof out, "{\"runs\":%d}", ++runs);
    (void)ctx;
    return host->job_set_result(job, out, (size_t)n) == 0 ? JOBRT_OK
                                                          : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "zoo_pinned_tls",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "zoo-pinned-tls",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
