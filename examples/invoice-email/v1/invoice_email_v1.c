/*
 * invoice-email 1.0.0 - example jobrt plugin, first release. It serves job
 * "invoice_email" with payload schema 1 only:
 *     {"invoice_id":"INV-1","to":"a@b.c","amount_cents":1250}
 * "Sending" is a log line; the result says who handled the job.
 */
#include <jobrt/plugin.h>

#include "../send_latency.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PLUGIN_NAME "invoice-email"
#define PLUGIN_VERSION "1.0.0"

/* A non-empty JSON string member, or NULL. */
static const char *get_string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsString(item) || item->valuestring[0] == '\0')
        return NULL;
    return item->valuestring;
}

/* A whole, non-negative amount in cents; 0 on success, -1 if not one. */
static int get_cents(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    double v;

    if (!cJSON_IsNumber(item))
        return -1;
    v = item->valuedouble;
    /* 2^53: beyond it doubles no longer hold every whole number. */
    if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(int64_t)v)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* Hand a cJSON tree to the host as the job's result; frees the tree. */
static int finish(const jobrt_host_api *host, jobrt_job *job, cJSON *result)
{
    char *text = result ? cJSON_PrintUnformatted(result) : NULL;
    int rc = -1;

    if (text != NULL) {
        rc = host->job_set_result(job, text, strlen(text));
        cJSON_free(text);
    }
    cJSON_Delete(result);
    if (rc != 0) {
        host->job_set_error(job, "could not record the result");
        return JOBRT_RETRY;
    }
    return JOBRT_OK;
}

static int run_schema1(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    size_t len = 0;
    const char *payload = host->job_payload(job, &len);
    cJSON *root, *result;
    const char *invoice_id, *to;
    const char *bad = NULL;
    int64_t cents = 0;
    char amount[32];

    (void)ctx;
    root = cJSON_ParseWithLength(payload, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        host->job_set_error(job, "payload: not a JSON object");
        return JOBRT_FAIL;
    }
    invoice_id = get_string(root, "invoice_id");
    to = get_string(root, "to");
    if (invoice_id == NULL)
        bad = "invoice_id must be a non-empty string";
    else if (to == NULL)
        bad = "to must be a non-empty string";
    else if (get_cents(root, "amount_cents", &cents) != 0)
        bad = "amount_cents must be a whole number >= 0";
    if (bad != NULL) {
        host->job_set_error(job, "payload: %s", bad);
        cJSON_Delete(root);
        return JOBRT_FAIL;
    }
    snprintf(amount, sizeof(amount), "%" PRId64 ".%02" PRId64,
             cents / 100, cents % 100);
    if (simulate_send(host, job, root) != 0) {
        cJSON_Delete(root);
        host->job_set_error(job, "cancelled before the invoice was sent");
        return JOBRT_RETRY;
    }

    result = cJSON_CreateObject();
    cJSON_AddStringToObject(result, "handled_by",
                            PLUGIN_NAME " " PLUGIN_VERSION " handler v1");
    cJSON_AddStringToObject(result, "invoice_id", invoice_id);
    cJSON_AddStringToObject(result, "to", to);
    cJSON_AddStringToObject(result, "amount", amount);

    host->job_log(job, JOBRT_LOG_INFO, "sent invoice %s to %s", invoice_id, to);
    cJSON_Delete(root);
    return finish(host, job, result);
}

static const jobrt_handler_desc handlers[] = {
    {
        .job_name = "invoice_email",
        .schema_min = 1,
        .schema_max = 1,
        .run = run_schema1,
    },
};

JOBRT_PLUGIN {
    JOBRT_PLUGIN_DESC_INIT,
    .name = PLUGIN_NAME,
    .version = PLUGIN_VERSION,
    .build_id = JOBRT_BUILD_ID,
    .n_handlers = sizeof(handlers) / sizeof(handlers[0]),
    .handlers = handlers,
};
