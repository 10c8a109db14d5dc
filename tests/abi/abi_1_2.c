/* abi_1_2.so - a plugin built against the frozen ABI 1.2 header
 * (tests/abi/1.2), with 0xdeadbeef in the 4 padding bytes after each
 * handler entry's 44 bytes of fields (1.2 added no handler field; a later
 * minor may put one there, tests/abi/grown does). Its handler uses the
 * 1.2 host function job_progress only after JOBRT_HOST_HAS says it is
 * there, checks that a percent outside 0..100 is refused, and fails with
 * an error naming what was missing otherwise. */
#include <stddef.h>

#include <jobrt/plugin.h>

_Static_assert(JOBRT_ABI_MINOR == 2, "built against the frozen 1.2 header");

/* A 1.2 handler entry (the 1.1 one) with its padding spelled out. */
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
               "same size as a 1.2 entry");
_Static_assert(offsetof(entry_with_padding, backoff_cap_ms) ==
                   offsetof(jobrt_handler_desc, backoff_cap_ms),
               "same fields as a 1.2 entry");

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    if (!JOBRT_HOST_HAS(host, job_progress)) {
        host->job_set_error(job, "the host has no job_progress (ABI 1.%u)",
                            (unsigned)host->abi_minor);
        return JOBRT_FAIL;
    }
    if (host->job_progress(job, 101, "too far") != -1 ||
        host->job_progress(job, -1, NULL) != -1) {
        host->job_set_error(job, "job_progress took a percent outside "
                            "0..100");
        return JOBRT_FAIL;
    }
    if (host->job_progress(job, 50, "half way") != 0 ||
        host->job_progress(job, 100, NULL) != 0) {
        host->job_set_error(job, "job_progress refused a valid percent");
        return JOBRT_FAIL;
    }
    return host->job_set_result(job, "\"abi-1.2\"", 9) == 0 ? JOBRT_OK
                                                            : JOBRT_FAIL;
}

static const entry_with_padding handlers[] = {
    {"abi_1_2", 1, 1, run, 1500, 4, 0, 121, 232, 0xdeadbeefu},
    {"abi_1_2_b", 2, 5, run, 0, 0, 0, 343, 454, 0xdeadbeefu},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "abi-1-2",
    .version = "1.2.0",
    .build_id = "abi",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = (const jobrt_handler_desc *)handlers,
};
