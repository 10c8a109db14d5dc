/* abi_1_1.so - a plugin built against the frozen ABI 1.1 header
 * (tests/abi/1.1, verbatim from commit a0b215e), with 0xdeadbeef in the 4
 * padding bytes after each handler entry's 44 bytes of fields: where a
 * later minor may put its first new field (tests/abi/grown does). It must
 * load into every 1.x runtime with its backoff fields and never its
 * padding. */
#include <stddef.h>

#include <jobrt/plugin.h>

_Static_assert(JOBRT_ABI_MINOR == 1, "built against the frozen 1.1 header");

/* A 1.1 handler entry with its padding spelled out. */
typedef struct {
    const char *job_name;
    uint32_t schema_min;
    uint32_t schema_max;
    jobrt_handler_fn run;
    uint32_t timeout_ms;
    uint32_t max_attempts;
    uint32_t flags;
    uint32_t backoff_base_ms;
    uint32_t backoff_cap_ms;
    uint32_t padding;
} entry_with_padding;

_Static_assert(sizeof(entry_with_padding) == sizeof(jobrt_handler_desc),
               "same size as a 1.1 entry");
_Static_assert(offsetof(entry_with_padding, backoff_cap_ms) ==
                   offsetof(jobrt_handler_desc, backoff_cap_ms),
               "same fields as a 1.1 entry");

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return host->job_set_result(job, "\"abi-1.1\"", 9) == 0 ? JOBRT_OK
                                                            : JOBRT_FAIL;
}

static const entry_with_padding handlers[] = {
    {"abi_1_1", 1, 1, run, 1500, 4, 0, 111, 222, 0xdeadbeefu},
    {"abi_1_1_b", 2, 5, run, 0, 0, 0, 333, 444, 0xdeadbeefu},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "abi-1-1",
    .version = "1.1.0",
    .build_id = "abi",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = (const jobrt_handler_desc *)handlers,
};
