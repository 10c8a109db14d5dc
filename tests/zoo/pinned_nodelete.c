/* pinned_nodelete.so - a valid plugin "zoo-pinned-nodelete" (job
 * zoo_pinned_nodelete v1..1), linked with -z nodelete: glibc never unmaps
 * it, so the ELF check reports pin reason "linked with -z nodelete". */
#include <jobrt/plugin.h>

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return host->job_set_result(job, "\"nodelete\"", 10) == 0 ? JOBRT_OK
                                                              : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "zoo_pinned_nodelete",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "zoo-pinned-nodelete",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
