/*
 * api_dlq.c - the dashboard's dead-letter endpoints (api.h):
 *   GET  /api/dlq?count=N&before=ID  a page of summaries, newest first
 *   GET  /api/dlq/<entry id>         one dead letter with all its fields
 *   POST /api/dlq/retry {"ids": [...]}  re-enqueue those entries
 *   POST /api/dlq/purge {"ids": [...]}  delete them
 * Retry and purge run queue/dlq.h's dlq_retry and dlq_purge, the code of
 * `jobrt dlq retry/purge`, on exactly the entry ids given (at most
 * API_MAX_IDS); ids that are gone are named in the answer, not an error:
 * someone else may have acted on them since the page was drawn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "http/api_internal.h"
#include "queue/dlq.h"
#include "queue/scripts.h"

#define QUERY_MAX 256 /* bytes of a query string */

static void dlq_init(dlq_t *d, const api_ctx_t *a)
{
    memset(d, 0, sizeof *d);
    d->c = a->c;
    d->keys = *a->keys;
    d->queue = a->queue;
}

/* ---- GET /api/dlq -------------------------------------------------------- */

/* Parses "count=N&before=ID" (either, both or none; nothing else). */
static int parse_list_query(const char *q, long *count, char *before,
                            buf_t *out)
{
    size_t len = strlen(q);
    if (len > QUERY_MAX)
        return api_error(out, 400, "query string longer than %d bytes",
                         QUERY_MAX);
    char tmp[QUERY_MAX + 1];
    memcpy(tmp, q, len + 1);
    int have_count = 0, have_before = 0;
    for (char *save = NULL, *kv = strtok_r(tmp, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL)
            return api_error(out, 400, "query: expected name=value");
        *eq = '\0';
        const char *v = eq + 1;
        uint64_t n;
        if (strcmp(kv, "count") == 0 && !have_count) {
            if (util_parse_u64(v, strlen(v), API_DLQ_PAGE_MAX, &n) != 0 ||
                n == 0)
                return api_error(out, 400, "count: expected 1 to %d",
                                 API_DLQ_PAGE_MAX);
            *count = (long)n;
            have_count = 1;
        } else if (strcmp(kv, "before") == 0 && !have_before) {
            if (!dlq_looks_like_entry_id(v))
                return api_error(out, 400, "before: expected a dead-letter "
                                 "entry id (<ms>-<seq>)");
            util_copy_str(before, DLQ_ENTRY_ID_MAX, v);
            have_before = 1;
        } else {
            return api_error(out, 400, "query: unknown or repeated "
                             "parameter (expected count and before)");
        }
    }
    return 0;
}

static int dlq_list(api_ctx_t *a, const char *query, buf_t *out)
{
    long count = API_DLQ_PAGE_DEFAULT;
    char before[DLQ_ENTRY_ID_MAX] = "", from[DLQ_ENTRY_ID_MAX + 1] = "+";
    int rc = parse_list_query(query, &count, before, out);
    if (rc)
        return rc;
    if (before[0])
        snprintf(from, sizeof from, "(%s", before);
    char n[16];
    snprintf(n, sizeof n, "%ld", count);
    const char *argv[] = {"XREVRANGE", a->keys->dlq, from, "-", "COUNT", n};
    redisReply *r = redisCommandArgv(a->c, 6, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        rc = api_error(out, 502, "Redis: XREVRANGE failed: %s",
                       r == NULL ? a->c->errstr
                       : r->type == REDIS_REPLY_ERROR ? r->str
                                                      : "unexpected reply");
        freeReplyObject(r);
        return rc;
    }
    dlq_t d;
    dlq_init(&d, a);
    cJSON *doc = cJSON_CreateObject();
    cJSON *es = cJSON_AddArrayToObject(doc, "entries");
    const char *last = NULL;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (!dlq_entry_ok(e))
            continue;
        cJSON_AddItemToArray(es, api_dlq_summary(e));
        last = dlq_entry_id(e);
    }
    if (last && r->elements == (size_t)count)
        cJSON_AddStringToObject(doc, "next", last);
    else
        cJSON_AddNullToObject(doc, "next");
    freeReplyObject(r);
    long long total = dlq_len(&d);
    if (total < 0) {
        cJSON_Delete(doc);
        return api_error(out, 502, "Redis: %s", d.err);
    }
    cJSON_AddNumberToObject(doc, "total", (double)total);
    return api_reply(out, doc, 200);
}

/* ---- GET /api/dlq/<id> --------------------------------------------------- */

static void add_pair(cJSON *arr, const char *k, size_t kl, const char *v,
                     size_t vl)
{
    cJSON *pair = cJSON_CreateArray();
    cJSON_AddItemToArray(pair, api_str_item(k, kl, 256));
    cJSON_AddItemToArray(pair, api_str_item(v, vl, API_MAX_VALUE));
    cJSON_AddItemToArray(arr, pair);
}

/* The decoded fields of an over-limit entry (DLQ_FIELD_ENCODED); 0, or -1
 * when the value is not a list of netstrings. */
static int add_encoded(cJSON *arr, const redisReply *v)
{
    if (dlq_count_netstrings(v->str, v->len) < 0)
        return -1;
    const char *p = v->str, *end = v->str + v->len;
    strview_t name, value;
    while (dlq_next_netstring(&p, end, &name) == 1 &&
           dlq_next_netstring(&p, end, &value) == 1)
        add_pair(arr, name.ptr, name.len, value.ptr, value.len);
    return 0;
}

static int dlq_show(api_ctx_t *a, const char *id, buf_t *out)
{
    if (!dlq_looks_like_entry_id(id))
        return api_error(out, 400, "expected a dead-letter entry id "
                         "(<ms>-<seq>)");
    dlq_t d;
    dlq_init(&d, a);
    int failed;
    redisReply *r = dlq_fetch(&d, id, &failed);
    if (r == NULL)
        return failed ? api_error(out, 502, "Redis: %s", d.err)
                      : api_error(out, 404, "no dead letter %s in queue %s",
                                  id, a->queue);
    const redisReply *e = r->element[0], *f = e->element[1];
    cJSON *doc = api_dlq_summary(e);
    cJSON *fs = cJSON_AddArrayToObject(doc, "fields");
    int encoded = 0;
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
         i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            dlq_value_is(k, DLQ_FIELD_ENCODED) && add_encoded(fs, v) == 0) {
            encoded = 1;
            continue;
        }
        add_pair(fs, k->type == REDIS_REPLY_STRING ? k->str : "",
                 k->type == REDIS_REPLY_STRING ? k->len : 0,
                 v->type == REDIS_REPLY_STRING ? v->str : "",
                 v->type == REDIS_REPLY_STRING ? v->len : 0);
    }
    cJSON_AddBoolToObject(doc, "encoded", encoded);
    freeReplyObject(r);
    return api_reply(out, doc, 200);
}

/* ---- POST /api/dlq/retry and /purge -------------------------------------- */

/* Parses {"ids": ["<entry id>", ...]} (1 to API_MAX_IDS, nothing else).
 * Returns the parsed document with *ids its array, or NULL with the 400
 * (or 413) reply written and *status set. */
static cJSON *parse_ids(const char *body, size_t len, const cJSON **ids,
                        buf_t *out, int *status)
{
    if (len > API_MAX_BODY) {
        *status = api_error(out, 413, "body longer than %d bytes",
                            API_MAX_BODY);
        return NULL;
    }
    cJSON *doc = body ? cJSON_ParseWithLength(body, len) : NULL;
    const char *why = NULL;
    if (doc == NULL)
        why = "body is not JSON (expected {\"ids\": [...]})";
    else if (!cJSON_IsObject(doc))
        why = "body: expected an object {\"ids\": [...]}";
    else if (doc->child == NULL || doc->child->next != NULL ||
             strcmp(doc->child->string, "ids") != 0)
        why = "body: expected exactly one member, \"ids\"";
    else if (!cJSON_IsArray(doc->child))
        why = "ids: expected an array of dead-letter entry ids";
    if (why == NULL) {
        int n = cJSON_GetArraySize(doc->child);
        if (n == 0)
            why = "ids: empty (name at least one entry id)";
        else if (n > API_MAX_IDS)
            why = "ids: more than 1000 entry ids in one request";
        const cJSON *x;
        cJSON_ArrayForEach(x, doc->child) {
            if (why)
                break;
            if (!cJSON_IsString(x) || !dlq_looks_like_entry_id(x->valuestring))
                why = "ids: each must be a dead-letter entry id string "
                      "(<ms>-<seq>)";
        }
    }
    if (why) {
        cJSON_Delete(doc);
        *status = api_error(out, 400, "%s", why);
        return NULL;
    }
    *ids = doc->child;
    return doc;
}

static int dlq_act(api_ctx_t *a, int retry, const char *body, size_t len,
                   buf_t *out)
{
    const cJSON *ids;
    int status;
    cJSON *req = parse_ids(body, len, &ids, out, &status);
    if (req == NULL)
        return status;
    dlq_t d;
    dlq_init(&d, a);
    dlq_sels_t s = {NULL, 0, 0, 0};
    cJSON *doc = cJSON_CreateObject(), *missing = cJSON_CreateArray();
    const cJSON *x;
    status = 0;
    /* The server's clock decides `expired`, as the workers' scripts do. */
    redisReply *tr = redisCommand(a->c, "TIME");
    if (tr && tr->type == REDIS_REPLY_ARRAY && tr->elements == 2 &&
        tr->element[0]->type == REDIS_REPLY_STRING)
        s.now = strtoll(tr->element[0]->str, NULL, 10) * 1000;
    else
        s.now = util_now_ms();
    freeReplyObject(tr);
    cJSON_ArrayForEach(x, ids) {
        int failed;
        redisReply *r = dlq_fetch(&d, x->valuestring, &failed);
        if (failed) {
            status = api_error(out, 502, "Redis: %s", d.err);
            goto done;
        }
        if (r == NULL) {
            int dup = 0;
            const cJSON *m;
            cJSON_ArrayForEach(m, missing) dup |=
                strcmp(m->valuestring, x->valuestring) == 0;
            if (!dup)
                cJSON_AddItemToArray(missing,
                                     cJSON_CreateString(x->valuestring));
            continue;
        }
        int rc = dlq_sel_add(&s, r->element[0], 1);
        freeReplyObject(r);
        if (rc != 0) {
            status = api_error(out, 500, "out of memory");
            goto done;
        }
    }
    long long cancelled = 0, done_n = 0;
    size_t expired = 0;
    if (retry && s.n && (cancelled = dlq_count_cancelled(&d, &s)) < 0) {
        status = api_error(out, 502, "Redis: %s", d.err);
        goto done;
    }
    dlq_kept_t kept = {0, ""};
    if (s.n && (retry ? dlq_retry(&d, &s, &done_n, &kept)
                      : dlq_purge(&d, &s, &done_n)) < 0) {
        status = api_error(out, 502, "Redis: %s (%lld %s before the error)",
                           d.err, done_n, retry ? "re-enqueued" : "purged");
        goto done;
    }
    for (size_t i = 0; i < s.n; i++)
        expired += (size_t)s.v[i].expired;
    cJSON_AddNumberToObject(doc, retry ? "retried" : "purged",
                            (double)done_n);
    cJSON_AddItemToObject(doc, "not_found", missing);
    missing = NULL;
    if (retry) {
        cJSON_AddNumberToObject(doc, "kept", (double)kept.n);
        cJSON_AddNumberToObject(doc, "cancelled", (double)cancelled);
        cJSON_AddNumberToObject(doc, "expired", (double)expired);
    }
    status = api_reply(out, doc, 200);
    doc = NULL;
done:
    cJSON_Delete(missing);
    cJSON_Delete(doc);
    cJSON_Delete(req);
    dlq_sels_free(&s);
    return status;
}

/* ---- routing ------------------------------------------------------------- */

int api_dlq_route(api_ctx_t *a, const char *method, const char *path,
                  const char *query, const char *body, size_t body_len,
                  buf_t *out)
{
    int is_post = strcmp(method, "POST") == 0;
    int act = strcmp(path, "/retry") == 0 ? 1
              : strcmp(path, "/purge") == 0 ? 2 : 0;
    if (act && !is_post)
        return api_error(out, 405, "/api/dlq%s: only POST", path);
    if (!act && is_post)
        return api_error(out, 405, "/api/dlq%s: only GET", path);
    if (*path == '/' && strchr(path + 1, '/'))
        return api_error(out, 404, "no such API endpoint");
    if ((act || *path) && *query)
        return api_error(out, 400, "/api/dlq%s takes no query parameters",
                         path);
    if (a->c == NULL)
        return api_error(out, 503, "Redis is not connected");
    if (act)
        return dlq_act(a, act == 1, body, body_len, out);
    if (*path == '\0')
        return dlq_list(a, query, out);
    return dlq_show(a, path + 1, out);
}
