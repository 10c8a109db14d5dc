/*
 * bench_json - the "realistic handler" of ./scripts/bench: job "bench_json"
 * v1 carries a ~1 KiB invoice as JSON. The handler parses it with cJSON,
 * sums quantity * unit_cents over the line items, applies the tax rate and
 * records {"total_cents":N,"items":K} as the job's result (the benchmark
 * runs with --result-ttl 0, so the runtime drops it, like the peers'
 * removeOnComplete / removeOnSuccess).
 *
 * Also "bench_retry" v1 (the retry-path workload): the first attempt asks
 * for a retry, the second succeeds. Backoff 0-1 ms, so every retry goes
 * through the delayed set and back, as a retry with backoff does.
 */
#include <cjson/cJSON.h>
#include <jobrt/plugin.h>
#include <stdio.h>

static int json_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    size_t len = 0;
    const char *text = host->job_payload(job, &len);
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (doc == NULL) {
        host->job_set_error(job, "payload is not an invoice");
        return JOBRT_FAIL;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    const cJSON *tax = cJSON_GetObjectItemCaseSensitive(doc, "tax_rate");
    double sum = 0;
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "qty");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "unit_cents");
        if (cJSON_IsNumber(q) && cJSON_IsNumber(u)) {
            sum += q->valuedouble * u->valuedouble;
            n++;
        }
    }
    if (cJSON_IsNumber(tax))
        sum *= 1.0 + tax->valuedouble;
    cJSON_Delete(doc);
    char res[96];
    int rlen = snprintf(res, sizeof res, "{\"total_cents\":%.0f,\"items\":%d}",
                        sum, n);
    host->job_set_result(job, res, (size_t)rlen);
    return JOBRT_OK;
}

static int retry_run(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    (void)ctx;
    if (host->job_attempt(job) <= 1) {
        host->job_set_error(job, "first attempt fails on purpose");
        return JOBRT_RETRY;
    }
    return JOBRT_OK;
}

static const jobrt_handler_desc json_handlers[] = {
    {.job_name = "bench_json", .schema_min = 1, .schema_max = 1,
     .run = json_run},
    {.job_name = "bench_retry", .schema_min = 1, .schema_max = 1,
     .run = retry_run, .max_attempts = 2, .backoff_base_ms = 1,
     .backoff_cap_ms = 1},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "bench-json",
    .version = "1.0.0",
    .build_id = "bench",
    .n_handlers = sizeof json_handlers / sizeof json_handlers[0],
    .handlers = json_handlers,
};
