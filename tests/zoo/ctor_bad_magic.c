/* ctor_bad_magic.so - descriptor magic is 0xdeadbeef, and an ELF
 * constructor leaves the trace "ctor_bad_magic" (trace.h). The magic is a
 * plain integer in the file, so the loader must refuse the file before
 * dlopen(): the trace must never appear. */
#include <jobrt/plugin.h>

#include "trace.h"

__attribute__((constructor)) static void zoo_constructor(void)
{
    zoo_trace("ctor_bad_magic");
}

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "zoo_ctor_bad_magic",
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
    .name = "zoo-ctor-bad-magic",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = 1,
    .handlers = handlers,
};
