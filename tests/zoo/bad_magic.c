/* bad_magic.so - descriptor magic is 0xdeadbeef, not JOBRT_PLUGIN_MAGIC;
 * everything else is valid. */
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
        .job_name = "zoo_bad_magic",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

/* Header fields spelled out instead of JOBRT_PLUGIN_DESC_INIT. */
JOBRT_PLUGIN {
    .magic = 0xdeadbeefu,
    .struct_size = sizeof(jobrt_plugin_desc),
    .abi_major = JOBRT_ABI_MAJOR,
    .abi_minor = JOBRT_ABI_MINOR,
    .handler_size = sizeof(jobrt_handler_desc),
    .name = "zoo-bad-magic",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = 1,
    .handlers = handlers,
};
