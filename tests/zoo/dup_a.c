/* dup_a.so - valid plugin "dup-a" serving job "dup_job" v1..1, as does
 * dup_b.so. Loaded together, dup_a.so wins (sorted first) and dup_b.so
 * is rejected because its job is already served. Its ELF constructor
 * leaves the trace "dup_a" (trace.h): the control that shows the trace of
 * ctor_bad_magic.so would appear if its constructor ran. */
#include <jobrt/plugin.h>

#include "trace.h"

__attribute__((constructor)) static void zoo_constructor(void)
{
    zoo_trace("dup_a");
}

static int run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    return host->job_set_result(job, "\"dup-a\"", 7) == 0 ? JOBRT_OK
                                                          : JOBRT_FAIL;
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "dup_job",
        .schema_min = 1,
        .schema_max = 1,
        .run = run,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "dup-a",
    .version = "1.0.0",
    .build_id = "zoo",
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
