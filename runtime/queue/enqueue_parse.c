/*
 * enqueue_parse.c - a job to enqueue (command-line values or one NDJSON
 * line) -> stream entry fields and how to send them. json_check vets the
 * line, cJSON decodes its strings, a raw walk over the same members keeps
 * the payload's and the numbers' exact bytes, and envelope_parse has the
 * final word on the entry.
 */
#define _GNU_SOURCE /* memmem */
#include "queue/enqueue_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json_check.h"
#include "core/util.h"

/* ---- building the entry -------------------------------------------------- */

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

static int add_pair(enqueue_entry_t *e, layout_t *l, const char *name,
                    const char *value)
{
    return add(e, l, name, strlen(name)) | add(e, l, value, strlen(value));
}

static int add_ms(enqueue_entry_t *e, layout_t *l, const char *name,
                  int64_t ms)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)ms);
    return add_pair(e, l, name, num);
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
    e->idem_key[0] = '\0';
    if (env.idempotency_key.len)
        snprintf(e->idem_key, sizeof e->idem_key, "%.*s",
                 (int)env.idempotency_key.len, env.idempotency_key.ptr);
    return 0;
}

int enqueue_build(const enqueue_spec_t *s, enqueue_entry_t *e, char *why,
                  size_t why_len)
{
    layout_t l = {.n = 0};
    buf_reset(&e->scratch);
    e->n_fields = 0;
    if (s->payload == NULL) {
        snprintf(why, why_len, "missing field 'payload'");
        return -1;
    }
    if (s->dedupe_window_ms >= 0 && s->idempotency_key == NULL) {
        snprintf(why, why_len, "a dedupe window needs an idempotency key");
        return -1;
    }
    char num[24];
    int rc = 0;
    if (s->job)
        rc |= add_pair(e, &l, "job", s->job);
    snprintf(num, sizeof num, "%ld", s->version);
    rc |= add_pair(e, &l, "v", num);
    rc |= add(e, &l, "payload", 7) | add(e, &l, s->payload, s->payload_len);
    if (s->id)
        rc |= add_pair(e, &l, "id", s->id);
    if (s->correlation_id)
        rc |= add_pair(e, &l, "correlation_id", s->correlation_id);
    if (s->max_attempts != 0) {
        snprintf(num, sizeof num, "%ld", s->max_attempts);
        rc |= add_pair(e, &l, "max_attempts", num);
    }
    if (s->timeout_ms != 0) {
        snprintf(num, sizeof num, "%ld", s->timeout_ms);
        rc |= add_pair(e, &l, "timeout_ms", num);
    }
    if (s->enqueued_at_ms >= 0)
        rc |= add_ms(e, &l, "enqueued_at", s->enqueued_at_ms);
    if (s->not_before_ms >= 0)
        rc |= add_ms(e, &l, "not_before", s->not_before_ms);
    if (s->expires_at_ms >= 0)
        rc |= add_ms(e, &l, "expires_at", s->expires_at_ms);
    if (s->idempotency_key)
        rc |= add_pair(e, &l, "idempotency_key", s->idempotency_key);
    if (rc) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    if (finish(e, &l, why, why_len) != 0)
        return -1;
    e->delay_ms = s->delay_ms;
    e->at_ms = s->at_ms >= 0 ? s->at_ms : s->not_before_ms;
    e->dedupe_window_ms = s->dedupe_window_ms >= 0 ? s->dedupe_window_ms
                                                   : ENQUEUE_DEFAULT_WINDOW_MS;
    return 0;
}

int enqueue_entry_scripted(const enqueue_entry_t *e)
{
    return e->delay_ms >= 0 || e->at_ms >= 0 || e->idem_key[0] != '\0';
}

/* ---- due times ----------------------------------------------------------- */

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int enqueue_parse_at(const char *s, int64_t *out_ms)
{
    uint64_t ms;
    if (util_parse_u64(s, strlen(s), (uint64_t)INT64_MAX, &ms) == 0) {
        if (ms > 0 && ms < (uint64_t)ENQUEUE_AT_MIN_MS)
            return ENQUEUE_AT_SECONDS;
        *out_ms = (int64_t)ms;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SS: 19 characters, then [.fff], then the zone */
    if (strnlen(s, 19) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac = frac * 10 + (*p - '0');
        if (n == 0 || n > 9)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
        return -1;
    *out_ms = ((util_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL +
              sec * 1000LL + frac;
    return 0;
}

/* ---- the members of a line, raw ------------------------------------------ */

/* The line has passed json_check, so these walks need not validate. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote; returns just past the closing one. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p < end ? p + 1 : end;
}

static int ends_scalar(char c)
{
    return c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' ||
           c == '\n' || c == '\r';
}

/* p at the first byte of a value; returns just past its last. */
static const char *skip_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_string(p, end);
    if (p < end && (*p == '{' || *p == '[')) {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return end;
    }
    while (p < end && !ends_scalar(*p))
        p++;
    return p;
}

typedef struct {
    const char *key, *val; /* raw text: the key without its quotes */
    size_t key_len, val_len;
} raw_member_t;

/* The next member of the object *pp is inside (just past '{' or past the
 * previous member). Returns 1, or 0 at the end of the object. */
static int next_member(const char **pp, const char *end, raw_member_t *m)
{
    const char *p = skip_ws(*pp, end);
    if (p < end && *p == ',')
        p = skip_ws(p + 1, end);
    if (p >= end || *p != '"')
        return 0;
    m->key = p + 1;
    p = skip_string(p, end);
    m->key_len = (size_t)(p - 1 - m->key);
    p = skip_ws(p, end);
    p = skip_ws(p + 1, end); /* past ':' */
    m->val = p;
    p = skip_value(p, end);
    m->val_len = (size_t)(p - m->val);
    *pp = p;
    return 1;
}

/* ---- one NDJSON line ----------------------------------------------------- */

enum {
    K_JOB, K_V, K_PAYLOAD, K_ID, K_CORR, K_IDEM, K_MAXATT, K_ENQ, K_NBF,
    K_EXP, K_DELAY, K_AT, K_EXPIN, K_KEY, K_WINDOW, K_TIMEOUT, K_N
};
static const char *const key_names[K_N] = {
    "job", "v", "payload", "id", "correlation_id", "idempotency_key",
    "max_attempts", "enqueued_at", "not_before", "expires_at", "delay", "at",
    "expires_in", "key", "dedupe_window", "timeout_ms"};
static const char *const worker_keys[] = {"attempt", "last_error"};

typedef struct {
    const cJSON *item[K_N]; /* NULL: absent or null */
    raw_member_t raw[K_N];  /* val NULL: absent */
    char *why;
    size_t why_len;
} line_t;

#define BAD(...)                                                            \
    do {                                                                    \
        snprintf(l->why, l->why_len, __VA_ARGS__);                          \
        return -1;                                                          \
    } while (0)

/* Up to 64 columns of a key for a reason line. */
static void shown_key(const char *s, char *out, size_t out_len)
{
    buf_t b = {0};
    if (buf_append_escaped(&b, s, strlen(s), 64, "'\\") == 0 &&
        buf_append(&b, "", 1) == 0)
        util_copy_str(out, out_len, b.data);
    else
        util_copy_str(out, out_len, "?");
    buf_free(&b);
}

/* Sorts the members into l, refusing unknown, worker-managed, repeated
 * and escaped-NUL keys. */
static int collect(line_t *l, const cJSON *obj, const char *line, size_t len)
{
    const char *p = skip_ws(line, line + len) + 1, *end = line + len;
    int seen[K_N] = {0};
    for (const cJSON *c = obj->child; c; c = c->next) {
        raw_member_t m;
        if (!next_member(&p, end, &m))
            BAD("could not read the members of the object");
        if (memmem(m.key, m.key_len, "\\u0000", 6) != NULL)
            BAD("a key contains \\u0000");
        char shown[80];
        int k = 0;
        while (k < K_N && strcmp(c->string, key_names[k]) != 0)
            k++;
        for (size_t w = 0; k == K_N && w < 2; w++)
            if (strcmp(c->string, worker_keys[w]) == 0)
                BAD("field '%s' is set by the worker, not by producers",
                    worker_keys[w]);
        if (k == K_N) {
            shown_key(c->string, shown, sizeof shown);
            BAD("unknown field '%s'", shown);
        }
        if (seen[k]++)
            BAD("field '%s' appears more than once", key_names[k]);
        l->raw[k] = m;
        if (!cJSON_IsNull(c))
            l->item[k] = c;
    }
    return 0;
}

/* A string member into *out (NULL if absent). cJSON's strings end at the
 * first NUL, so a value with the escape \u0000 would be silently cut
 * short: it is refused instead. */
static int get_str(line_t *l, int k, const char **out)
{
    *out = NULL;
    if (l->item[k] == NULL)
        return 0;
    if (!cJSON_IsString(l->item[k]))
        BAD("\"%s\" must be a string", key_names[k]);
    if (memmem(l->raw[k].val, l->raw[k].val_len, "\\u0000", 6) != NULL)
        BAD("\"%s\" must not contain \\u0000", key_names[k]);
    *out = l->item[k]->valuestring;
    return 0;
}

/* An integer member written as plain digits, within [lo, hi]; *out is
 * left alone if absent. */
static int get_int(line_t *l, int k, uint64_t lo, uint64_t hi, int64_t *out)
{
    uint64_t v;
    if (l->item[k] == NULL)
        return 0;
    if (!cJSON_IsNumber(l->item[k]) ||
        util_parse_u64(l->raw[k].val, l->raw[k].val_len, hi, &v) != 0 ||
        v < lo)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int get_ms(line_t *l, int k, int64_t *out)
{
    if (get_int(l, k, 0, (uint64_t)INT64_MAX, out) != 0)
        BAD("\"%s\" must be an integer: ms since the Unix epoch",
            key_names[k]);
    return 0;
}

/* The text of a string member, or the raw text of a number (for values a
 * flag would take): into out[out_len], or -1. */
static int flag_text(const line_t *l, int k, char *out, size_t out_len)
{
    const cJSON *it = l->item[k];
    if (cJSON_IsString(it) &&
        memmem(l->raw[k].val, l->raw[k].val_len, "\\u0000", 6) == NULL)
        util_copy_str(out, out_len, it->valuestring);
    else if (cJSON_IsNumber(it) && l->raw[k].val_len < out_len)
        snprintf(out, out_len, "%.*s", (int)l->raw[k].val_len, l->raw[k].val);
    else
        return -1;
    return 0;
}

static int get_duration(line_t *l, int k, int64_t min_ms, int64_t *out)
{
    char text[64];
    int64_t ms;
    if (l->item[k] == NULL)
        return 0;
    if (flag_text(l, k, text, sizeof text) != 0 ||
        util_parse_duration_ms(text, &ms) != 0 || ms < min_ms ||
        ms > ENQUEUE_MAX_DURATION_MS)
        BAD("\"%s\" must be a duration like \"30s\", \"5m\", \"2h\" or a "
            "number of seconds, %s to 366d", key_names[k],
            min_ms ? "1ms" : "0");
    *out = ms;
    return 0;
}

static int get_at(line_t *l, int64_t *out)
{
    char text[64];
    if (l->item[K_AT] == NULL)
        return 0;
    int rc = flag_text(l, K_AT, text, sizeof text) != 0
                 ? -1
                 : enqueue_parse_at(text, out);
    if (rc == ENQUEUE_AT_SECONDS)
        BAD("\"at\" is %s: that looks like seconds since the Unix epoch; "
            "\"at\" takes ms (%s000) or a UTC ISO-8601 time", text, text);
    if (rc != 0)
        BAD("\"at\" must be ms since the Unix epoch or a UTC ISO-8601 time "
            "like \"2026-11-23T15:00:00Z\"");
    return 0;
}

static int conflict(line_t *l, int a, int b)
{
    if (l->item[a] && l->item[b])
        BAD("\"%s\" and \"%s\" both given: give one of them", key_names[a],
            key_names[b]);
    return 0;
}

/* The members of the line into s (strings point into the cJSON tree). */
static int read_spec(line_t *l, enqueue_spec_t *s, int64_t now_ms)
{
    int64_t n = -1;
    if (l->item[K_JOB] == NULL)
        BAD("\"job\" is missing");
    if (get_int(l, K_V, 0, ENVELOPE_MAX_VERSION, &n) != 0 || n < 0)
        BAD("\"v\" must be an integer 0-%u (the payload schema version)",
            ENVELOPE_MAX_VERSION);
    s->version = (long)n;
    n = 0;
    if (get_int(l, K_MAXATT, 1, ENVELOPE_MAX_ATTEMPTS, &n) != 0)
        BAD("\"max_attempts\" must be an integer 1-%d",
            ENVELOPE_MAX_ATTEMPTS);
    s->max_attempts = (long)n;
    n = 0;
    if (get_int(l, K_TIMEOUT, 1, ENVELOPE_MAX_TIMEOUT_MS, &n) != 0)
        BAD("\"timeout_ms\" must be an integer 1-%d (ms)",
            ENVELOPE_MAX_TIMEOUT_MS);
    s->timeout_ms = (long)n;
    if (l->raw[K_PAYLOAD].val == NULL) /* null is a payload */
        BAD("\"payload\" is missing");
    s->payload = l->raw[K_PAYLOAD].val;
    s->payload_len = l->raw[K_PAYLOAD].val_len;
    if (get_str(l, K_JOB, &s->job) || get_str(l, K_ID, &s->id) ||
        get_str(l, K_CORR, &s->correlation_id) ||
        get_str(l, K_IDEM, &s->idempotency_key))
        return -1;
    const char *key = NULL;
    if (conflict(l, K_KEY, K_IDEM) || get_str(l, K_KEY, &key))
        return -1;
    if (key)
        s->idempotency_key = key;
    if (get_ms(l, K_ENQ, &s->enqueued_at_ms) ||
        get_ms(l, K_NBF, &s->not_before_ms) ||
        get_ms(l, K_EXP, &s->expires_at_ms))
        return -1;
    if (s->enqueued_at_ms < 0 && now_ms > 0)
        s->enqueued_at_ms = now_ms;
    if (conflict(l, K_DELAY, K_AT) || conflict(l, K_NBF, K_DELAY) ||
        conflict(l, K_NBF, K_AT) || conflict(l, K_EXP, K_EXPIN))
        return -1;
    int64_t expires_in = -1;
    if (get_duration(l, K_DELAY, 0, &s->delay_ms) || get_at(l, &s->at_ms) ||
        get_duration(l, K_EXPIN, 1, &expires_in) ||
        get_duration(l, K_WINDOW, 1, &s->dedupe_window_ms))
        return -1;
    if (expires_in >= 0)
        s->expires_at_ms = now_ms + expires_in;
    if (s->dedupe_window_ms >= 0 && s->idempotency_key == NULL)
        BAD("\"dedupe_window\" needs \"key\" (or \"idempotency_key\")");
    return 0;
}

#undef BAD

/* The payload is only ever used as the raw text it is (read_spec), so
 * cJSON need not build a tree of it: into stub, the line with the value
 * of each top-level "payload" member written as 0, which cJSON parses in
 * a few nodes where a 1 KiB invoice takes a hundred allocations, and
 * collect() walks it without skipping the payload's bytes again. The
 * members stay as they were, in their order; *payload is the original
 * text of the (last) payload stubbed. Returns the text to parse (the
 * line itself when it has no payload worth it). */
static const char *without_payload(const char *line, size_t len, buf_t *stub,
                                   size_t *out_len, raw_member_t *payload)
{
    const char *p = skip_ws(line, line + len), *end = line + len;
    const char *from = line;
    raw_member_t m;
    *out_len = len;
    if (p >= end || *p != '{')
        return line;
    p++;
    while (next_member(&p, end, &m)) {
        if (m.key_len != 7 || memcmp(m.key, "payload", 7) != 0 ||
            m.val_len < 16)
            continue;
        if (buf_append(stub, from, (size_t)(m.val - from)) != 0 ||
            buf_append(stub, "0", 1) != 0)
            return line; /* out of memory: parse it whole */
        from = m.val + m.val_len;
        *payload = m;
    }
    if (from == line)
        return line;
    if (buf_append(stub, from, (size_t)(end - from)) != 0)
        return line;
    *out_len = stub->len;
    return stub->data;
}

int enqueue_parse_line(const char *line, size_t len, int64_t now_ms,
                       enqueue_entry_t *e, char *why, size_t why_len)
{
    const char *reason;
    if (json_check(line, len, JSON_CHECK_DEFAULT_DEPTH + 2, &reason) != 0) {
        snprintf(why, why_len, "not valid JSON: %s", reason);
        return -1;
    }
    buf_t stub = {0};
    size_t parse_len;
    raw_member_t payload = {0};
    const char *parse =
        without_payload(line, len, &stub, &parse_len, &payload);
    cJSON *obj = cJSON_ParseWithLength(parse, parse_len);
    if (obj == NULL || !cJSON_IsObject(obj)) {
        snprintf(why, why_len, "expected a JSON object per line");
        cJSON_Delete(obj);
        buf_free(&stub);
        return -1;
    }
    line_t l;
    memset(&l, 0, sizeof l);
    l.why = why;
    l.why_len = why_len;
    enqueue_spec_t s = ENQUEUE_SPEC_INIT;
    int rc = -1;
    if (collect(&l, obj, parse, parse_len) == 0) {
        if (parse != line && l.raw[K_PAYLOAD].val) /* the stub's 0 */
            l.raw[K_PAYLOAD] = payload;
        if (read_spec(&l, &s, now_ms) == 0)
            rc = enqueue_build(&s, e, why, why_len);
    }
    cJSON_Delete(obj);
    buf_free(&stub);
    return rc;
}

/* ---- the entry ----------------------------------------------------------- */

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
    if (strcmp(name, "id") == 0)
        util_copy_str(e->id, sizeof e->id, value);
    return 0;
}

void enqueue_entry_free(enqueue_entry_t *e) { buf_free(&e->scratch); }
