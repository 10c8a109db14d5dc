/*
 * abi_cxx_twin.c - the C twin of abi_cxx.cpp: the same plugin, handlers
 * and values in the C form (designated initializers, JOBRT_PLUGIN_DESC_INIT),
 * so that test_abi_cxx can compare what the loader reads from each.
 * Built against the current header.
 */
#include <jobrt/plugin.h>

#include <string.h>

static int twin_marker; /* what init() stores as ctx */

static int twin_init(const jobrt_host_api *host, jobrt_plugin_ref *self,
                     void **ctx)
{
    (void)host;
    (void)self;
    *ctx = &twin_marker;
    return 0;
}

static void twin_fini(void *ctx) { (void)ctx; }

static int twin_greet(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    static const char result[] = "{\"twin\":\"c\"}";
    (void)ctx;
    return host->job_set_result(job, result, strlen(result)) == 0
               ? JOBRT_OK
               : JOBRT_FAIL;
}

static int twin_wide(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)host;
    (void)ctx;
    (void)job;
    return JOBRT_OK;
}

static const jobrt_handler_desc handlers[] = {
    {.job_name = "cxx_twin_greet", .schema_min = 1, .schema_max = 1,
     .run = twin_greet, .timeout_ms = 10000, .max_attempts = 3,
     .backoff_base_ms = 250, .backoff_cap_ms = 8000},
    {.job_name = "cxx_twin_wide", .schema_min = 2, .schema_max = 7,
     .run = twin_wide},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "abi-cxx",
    .version = "1.2.3",
    .build_id = "twin-build",
    .init = twin_init,
    .fini = twin_fini,
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
