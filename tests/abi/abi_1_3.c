/* abi_1_3.so - a plugin built against tests/abi/grown, the unpublished
 * ABI 1.3 of the tests, with every 1.3 field set. The control of the
 * grown-runtime test (its new fields are read when the plugin has them)
 * and refused by the real runtime (a newer minor than its own). */
#include <jobrt/plugin.h>

_Static_assert(JOBRT_ABI_MINOR == 3, "built against tests/abi/grown");

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return host->job_set_result(job, "\"abi-1.3\"", 9) == 0 ? JOBRT_OK
                                                            : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {.job_name = "abi_1_3", .schema_min = 1, .schema_max = 1, .run = run,
     .backoff_base_ms = 555, .backoff_cap_ms = 666, .added_in_1_3 = 77},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "abi-1-3",
    .version = "1.3.0",
    .build_id = "abi",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
    .added_in_1_3 = 0x1234,
};
