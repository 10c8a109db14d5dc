/* abi_major.so - built against ABI major 2, which this runtime does not
 * speak; everything else is valid. */
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
        .job_name = "zoo_abi_major",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

/* Header fields spelled out instead of JOBRT_PLUGIN_DESC_INIT. */
JOBRT_PLUGIN {
    .magic = JOBRT_PLUGIN_MAGIC,
    .struct_size = sizeof(jobrt_plugin_desc),
    .abi_major = 2,
    .abi_minor = JOBRT_ABI_MINOR,
    .handler_size = sizeof(jobrt_handler_desc),
    .name = "zoo-abi-major",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = 1,
    .handlers = handlers,
};
