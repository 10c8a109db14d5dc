/*
 * echo - first-party jobrt plugin: job "echo" (schema 1..1000000) records
 * its payload, byte for byte, as the job's result.
 */
#include <jobrt/plugin.h>

static int echo_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    size_t len = 0;
    const char *payload = host->job_payload(job, &len);

    (void)ctx;
    if (payload == NULL || host->job_set_result(job, payload, len) != 0) {
        host->job_set_error(job, "echo: payload is not valid JSON");
        return JOBRT_FAIL;
    }
    return JOBRT_OK;
}

static const jobrt_handler_desc echo_handlers[] = {
    {
        .job_name = "echo",
        .schema_min = 1,
        .schema_max = 1000000,
        .run = echo_run,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "echo",
    .version = "1.0.0",
    .build_id = JOBRT_BUILD_ID,
    .n_handlers = sizeof(echo_handlers) / sizeof(echo_handlers[0]),
    .handlers = echo_handlers,
};
