/*
 * bench_json - the "realistic handler" of ./scripts/bench: job "bench_json"
 * v1 carries a ~1 KiB invoice as JSON. The handler parses it with cJSON,
 * sums quantity * unit_cents over the line items, applies the tax rate and
 * records {"total_cents":N,"items":K} as the job's result (the benchmark
 * runs with --result-ttl 0, so the runtime drops it, like the peers'
 * removeOnComplete / removeOnSuccess).
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

static const jobrt_handler_desc json_handlers[] = {
    {.job_name = "bench_json", .schema_min = 1, .schema_max = 1,
     .run = json_run},
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = "bench-json",
    .version = "1.0.0",
    .build_id = "bench",
    .n_handlers = 1,
    .handlers = json_handlers,
};
