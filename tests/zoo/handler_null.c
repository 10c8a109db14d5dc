/* handler_null.so - a handler whose run function is NULL. The first handler
 * is fine; the second is the broken one, so the loader must check every
 * entry, not just the first. */
#include <jobrt/plugin.h>

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "zoo_handler_null_ok",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
    {
        .job_name = "zoo_handler_null",
        .schema_min = 1,
        .schema_max = 1,
        .run = NULL,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "zoo-handler-null",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
