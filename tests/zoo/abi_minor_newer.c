/* abi_minor_newer.so - built against ABI minor JOBRT_ABI_MINOR + 1, newer
 * than the runtime; everything else is valid. */
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
        .job_name = "zoo_abi_minor_newer",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

/* Header fields spelled out instead of JOBRT_PLUGIN_DESC_INIT. */
JOBRT_PLUGIN {
    .magic = JOBRT_PLUGIN_MAGIC,
    .struct_size = sizeof(jobrt_plugin_desc),
    .abi_major = JOBRT_ABI_MAJOR,
    .abi_minor = JOBRT_ABI_MINOR + 1,
    .handler_size = sizeof(jobrt_handler_desc),
    .name = "zoo-abi-minor-newer",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = 1,
    .handlers = handlers,
};
