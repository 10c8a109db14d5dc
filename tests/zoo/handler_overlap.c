/* handler_overlap.so - two handlers for the same job whose schema ranges
 * overlap (1..2 and 2..3): which one serves schema 2 is ambiguous. */
#include <jobrt/plugin.h>

static int run_a(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

static int run_b(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "zoo_handler_overlap",
        .schema_min = 1,
        .schema_max = 2,
        .run = run_a,
    },
    {
        .job_name = "zoo_handler_overlap",
        .schema_min = 2,
        .schema_max = 3,
        .run = run_b,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "zoo-handler-overlap",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
