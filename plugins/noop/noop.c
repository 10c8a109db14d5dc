/*
 * noop - the cheapest possible jobrt plugin: job "noop" (schema 1..1000000)
 * succeeds at once with no result. It allocates nothing and touches nothing,
 * so benchmarks measure the runtime, not the handler.
 */
#include <jobrt/plugin.h>

static int noop_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

static const jobrt_handler_desc noop_handlers[] = {
    {
        .job_name = "noop",
        .schema_min = 1,
        .schema_max = 1000000,
        .run = noop_run,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "noop",
    .version = "1.0.0",
    .build_id = JOBRT_BUILD_ID,
    .n_handlers = sizeof(noop_handlers) / sizeof(noop_handlers[0]),
    .handlers = noop_handlers,
};
