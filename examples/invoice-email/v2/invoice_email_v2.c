/*
 * invoice-email 2.0.0 - example jobrt plugin, second release. It keeps
 * serving payload schema 1 (so jobs enqueued before the rollout still run)
 * and adds schema 2, with a structured invoice and several recipients:
 *     v1: {"invoice_id":"INV-1","to":"a@b.c","amount_cents":1250}
 *     v2: {"invoice":{"id":"INV-2","total":{"amount_cents":990,
 *          "currency":"EUR"}},"recipients":["x@y.z", ...]}
 * "Sending" is a log line; the result says which handler ran.
 */
#include <jobrt/plugin.h>

#include "../send_latency.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PLUGIN_NAME "invoice-email"
#define PLUGIN_VERSION "2.0.0"

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

static void format_amount(char *buf, size_t size, int64_t cents)
{
    snprintf(buf, size, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
}

/* Parse the payload as a JSON object, or set the error and return NULL. */
static cJSON *parse_payload(const jobrt_host_api *host, jobrt_job *job)
{
    size_t len = 0;
    const char *payload = host->job_payload(job, &len);
    cJSON *root = cJSON_ParseWithLength(payload, len);

    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        host->job_set_error(job, "payload: not a JSON object");
        return NULL;
    }
    return root;
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

/* Schema 1, unchanged from 1.0.0 apart from handled_by. */
static int run_schema1(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    cJSON *root, *result;
    const char *invoice_id, *to, *bad = NULL;
    int64_t cents = 0;
    char amount[32];

    (void)ctx;
    if ((root = parse_payload(host, job)) == NULL)
        return JOBRT_FAIL;
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
    format_amount(amount, sizeof(amount), cents);
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

/* Schema 2: nested invoice with currency, list of recipients. */
static int run_schema2(const jobrt_host_api *host, void *ctx, jobrt_job *job)
{
    cJSON *root, *result;
    const cJSON *invoice, *total, *recipients, *r;
    const char *invoice_id = NULL, *currency = NULL, *bad = NULL;
    int64_t cents = 0;
    int n = 0;
    char amount[48], number[32];

    (void)ctx;
    if ((root = parse_payload(host, job)) == NULL)
        return JOBRT_FAIL;
    invoice = cJSON_GetObjectItemCaseSensitive(root, "invoice");
    total = cJSON_GetObjectItemCaseSensitive(invoice, "total");
    recipients = cJSON_GetObjectItemCaseSensitive(root, "recipients");

    if (!cJSON_IsObject(invoice))
        bad = "invoice must be an object";
    else if ((invoice_id = get_string(invoice, "id")) == NULL)
        bad = "invoice.id must be a non-empty string";
    else if (!cJSON_IsObject(total))
        bad = "invoice.total must be an object";
    else if (get_cents(total, "amount_cents", &cents) != 0)
        bad = "invoice.total.amount_cents must be a whole number >= 0";
    else if ((currency = get_string(total, "currency")) == NULL)
        bad = "invoice.total.currency must be a non-empty string";
    else if (!cJSON_IsArray(recipients) || cJSON_GetArraySize(recipients) == 0)
        bad = "recipients must be a non-empty array";
    if (bad == NULL) {
        cJSON_ArrayForEach(r, recipients) {
            if (!cJSON_IsString(r) || r->valuestring[0] == '\0') {
                bad = "recipients must hold only non-empty strings";
                break;
            }
            n++;
        }
    }
    if (bad != NULL) {
        host->job_set_error(job, "payload: %s", bad);
        cJSON_Delete(root);
        return JOBRT_FAIL;
    }
    format_amount(number, sizeof(number), cents);
    if (simulate_send(host, job, root) != 0) {
        cJSON_Delete(root);
        host->job_set_error(job, "cancelled before the invoice was sent");
        return JOBRT_RETRY;
    }
    snprintf(amount, sizeof(amount), "%s %s", number, currency);

    result = cJSON_CreateObject();
    cJSON_AddStringToObject(result, "handled_by",
                            PLUGIN_NAME " " PLUGIN_VERSION " handler v2");
    cJSON_AddStringToObject(result, "invoice_id", invoice_id);
    cJSON_AddNumberToObject(result, "recipients", n);
    cJSON_AddStringToObject(result, "amount", amount);

    host->job_log(job, JOBRT_LOG_INFO, "sent invoice %s to %d recipient%s (%s)",
                  invoice_id, n, n == 1 ? "" : "s", amount);
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
    {
        .job_name = "invoice_email",
        .schema_min = 2,
        .schema_max = 2,
        .run = run_schema2,
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
