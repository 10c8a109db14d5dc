/* abi_1_0.so - a plugin built against the frozen ABI 1.0 header
 * (tests/abi/1.0, verbatim from commit 3dbd5aa). It must load into every
 * 1.x runtime, forever: two handlers (so the table's 40-byte stride
 * matters) with every 1.0 field set. */
#include <jobrt/plugin.h>

_Static_assert(JOBRT_ABI_MINOR == 0, "built against the frozen 1.0 header");

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return host->job_set_result(job, "\"abi-1.0\"", 9) == 0 ? JOBRT_OK
                                                            : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {.job_name = "abi_1_0", .schema_min = 1, .schema_max = 2, .run = run,
     .timeout_ms = 1234, .max_attempts = 7},
    {.job_name = "abi_1_0_b", .schema_min = 3, .schema_max = 3, .run = run,
     .timeout_ms = 2345, .max_attempts = 3},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "abi-1-0",
    .version = "1.0.0",
    .build_id = "abi",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
