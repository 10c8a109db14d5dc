#define _GNU_SOURCE /* memmem */
/*
 * enqueue_parse.c - NDJSON line -> stream entry fields (cJSON for the line,
 * json_check for the payload, envelope_parse for the final word).
 */
#include "queue/enqueue_parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json_check.h"

/* Fields are laid out in scratch first, then viewed, because appending may
 * move the buffer. */
typedef struct {
    size_t off[ENQUEUE_MAX_FIELDS], len[ENQUEUE_MAX_FIELDS];
    size_t n;
} layout_t;

static int add(enqueue_entry_t *e, layout_t *l, const char *p, size_t n)
{
    if (l->n >= ENQUEUE_MAX_FIELDS)
        return -1;
    l->off[l->n] = e->scratch.len;
    l->len[l->n] = n;
    if (buf_append(&e->scratch, p, n) != 0)
        return -1;
    l->n++;
    return 0;
}

static int adds(enqueue_entry_t *e, layout_t *l, const char *s)
{
    return add(e, l, s, strlen(s));
}

static int finish(enqueue_entry_t *e, layout_t *l, char *why, size_t why_len)
{
    for (size_t i = 0; i < l->n; i++) {
        e->fields[i].ptr = e->scratch.data + l->off[i];
        e->fields[i].len = l->len[i];
    }
    e->n_fields = l->n;
    jobrt_envelope env;
    if (envelope_parse(e->fields, e->n_fields, &env, why, why_len) != 0)
        return -1;
    if (envelope_check_payload(&env, 0, why, why_len) != 0)
        return -1;
    e->id[0] = '\0';
    if (env.id.len)
        snprintf(e->id, sizeof e->id, "%.*s", (int)env.id.len, env.id.ptr);
    return 0;
}

int enqueue_build(const char *job, long version, const char *payload,
                  const char *id, const char *correlation_id,
                  long max_attempts, long long enqueued_at_ms,
                  enqueue_entry_t *e, char *why, size_t why_len)
{
    layout_t l = {.n = 0};
    char num[32];
    buf_reset(&e->scratch);
    int rc = adds(e, &l, "job") | adds(e, &l, job) | adds(e, &l, "v");
    snprintf(num, sizeof num, "%ld", version);
    rc |= adds(e, &l, num) | adds(e, &l, "payload") | adds(e, &l, payload);
    if (id)
        rc |= adds(e, &l, "id") | adds(e, &l, id);
    if (correlation_id)
        rc |= adds(e, &l, "correlation_id") | adds(e, &l, correlation_id);
    if (max_attempts > 0) {
        snprintf(num, sizeof num, "%ld", max_attempts);
        rc |= adds(e, &l, "max_attempts") | adds(e, &l, num);
    }
    if (enqueued_at_ms > 0) {
        snprintf(num, sizeof num, "%lld", enqueued_at_ms);
        rc |= adds(e, &l, "enqueued_at") | adds(e, &l, num);
    }
    if (rc) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    return finish(e, &l, why, why_len);
}

/* An integral JSON number within [lo, hi]. */
static int get_int(const cJSON *item, double lo, double hi, long *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double d = item->valuedouble;
    if (!(d >= lo && d <= hi) || floor(d) != d)
        return -1;
    *out = (long)d;
    return 0;
}

/* A string member. cJSON decodes "\u0000" and its strings end at the
 * first NUL, so a raw value containing that escape would be silently cut
 * short: such a value is refused (*bad) instead. */
static const char *get_str(const cJSON *obj, const char *line, size_t len,
                           const char *key, int *bad)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it == NULL || cJSON_IsNull(it))
        return NULL;
    const char *raw;
    size_t raw_len;
    if (!cJSON_IsString(it) ||
        (json_member_span(line, len, key, &raw, &raw_len) == 0 &&
         memmem(raw, raw_len, "\\u0000", 6) != NULL)) {
        *bad = 1;
        return NULL;
    }
    return it->valuestring;
}

int enqueue_parse_line(const char *line, size_t len, long long enqueued_at_ms,
                       enqueue_entry_t *e, char *why, size_t why_len)
{
    const char *reason;
    if (json_check(line, len, JSON_CHECK_DEFAULT_DEPTH + 2, &reason) != 0) {
        snprintf(why, why_len, "not valid JSON: %s", reason);
        return -1;
    }
    cJSON *obj = cJSON_ParseWithLength(line, len);
    if (obj == NULL || !cJSON_IsObject(obj)) {
        snprintf(why, why_len, "expected a JSON object per line");
        cJSON_Delete(obj);
        return -1;
    }
    int rc = -1, bad = 0;
    char *payload = NULL;
    long version, max_attempts = 0;
    const char *job = get_str(obj, line, len, "job", &bad);
    if (job == NULL) {
        snprintf(why, why_len, "\"job\" must be a string (without \\u0000)");
        goto out;
    }
    if (get_int(cJSON_GetObjectItemCaseSensitive(obj, "v"), 0, 2147483647.0,
                &version) != 0) {
        snprintf(why, why_len, "\"v\" must be an integer 0-2147483647");
        goto out;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "payload");
    if (p == NULL) {
        snprintf(why, why_len, "\"payload\" is missing");
        goto out;
    }
    /* Keep the payload's exact bytes: re-printing could change numbers. */
    const char *raw;
    size_t raw_len;
    if (json_member_span(line, len, "payload", &raw, &raw_len) != 0) {
        snprintf(why, why_len, "write the key \"payload\" without escapes, "
                 "so its value can be kept byte for byte");
        goto out;
    }
    payload = strndup(raw, raw_len);
    const char *id = get_str(obj, line, len, "id", &bad);
    const char *corr = get_str(obj, line, len, "correlation_id", &bad);
    if (bad) {
        snprintf(why, why_len, "\"id\" and \"correlation_id\" must be "
                 "strings (without \\u0000)");
        goto out;
    }
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(obj, "max_attempts");
    if (ma && get_int(ma, 1, 1000, &max_attempts) != 0) {
        snprintf(why, why_len, "\"max_attempts\" must be an integer 1-1000");
        goto out;
    }
    if (payload == NULL) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    rc = enqueue_build(job, version, payload, id, corr, max_attempts,
                       enqueued_at_ms, e, why, why_len);
out:
    free(payload);
    cJSON_Delete(obj);
    return rc;
}

int enqueue_entry_add(enqueue_entry_t *e, const char *name, const char *value)
{
    if (e->n_fields + 2 > ENQUEUE_MAX_FIELDS)
        return -1;
    size_t off[ENQUEUE_MAX_FIELDS];
    for (size_t i = 0; i < e->n_fields; i++)
        off[i] = (size_t)(e->fields[i].ptr - e->scratch.data);
    size_t name_off = e->scratch.len, nlen = strlen(name), vlen = strlen(value);
    if (buf_append(&e->scratch, name, nlen) != 0 ||
        buf_append(&e->scratch, value, vlen) != 0)
        return -1;
    for (size_t i = 0; i < e->n_fields; i++) /* the buffer may have moved */
        e->fields[i].ptr = e->scratch.data + off[i];
    e->fields[e->n_fields].ptr = e->scratch.data + name_off;
    e->fields[e->n_fields++].len = nlen;
    e->fields[e->n_fields].ptr = e->scratch.data + name_off + nlen;
    e->fields[e->n_fields++].len = vlen;
    return 0;
}

void enqueue_entry_free(enqueue_entry_t *e) { buf_free(&e->scratch); }
