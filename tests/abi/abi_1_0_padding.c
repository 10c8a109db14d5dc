/* abi_1_0_padding.so - built against the frozen ABI 1.0 header, with
 * 0xdeadbeef in the 4 padding bytes after each handler entry's 36 bytes of
 * fields: where ABI 1.1 put backoff_base_ms. The runtime must never read
 * that padding: both handlers must load with backoff_base_ms 0. */
#include <stddef.h>

#include <jobrt/plugin.h>

_Static_assert(JOBRT_ABI_MINOR == 0, "built against the frozen 1.0 header");

/* A 1.0 handler entry with its padding spelled out. */
typedef struct {
    const char *job_name;
    uint32_t schema_min;
    uint32_t schema_max;
    jobrt_handler_fn run;
    uint32_t timeout_ms;
    uint32_t max_attempts;
    uint32_t flags;
    uint32_t padding;
} entry_with_padding;

_Static_assert(sizeof(entry_with_padding) == sizeof(jobrt_handler_desc),
               "same size as a 1.0 entry");
_Static_assert(offsetof(entry_with_padding, flags) ==
                   offsetof(jobrt_handler_desc, flags),
               "same fields as a 1.0 entry");

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return host->job_set_result(job, "\"abi-1.0-padding\"", 17) == 0
               ? JOBRT_OK
               : JOBRT_FAIL;
}

static const entry_with_padding handlers[] = {
    {"abi_1_0_padding", 1, 1, run, 0, 0, 0, 0xdeadbeefu},
    {"abi_1_0_padding_b", 1, 1, run, 0, 0, 0, 0xdeadbeefu},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "abi-1-0-padding",
    .version = "1.0.0",
    .build_id = "abi",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = (const jobrt_handler_desc *)handlers,
};
