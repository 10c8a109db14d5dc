/*
 * envelope.c - strict validation of stream entries. No silent coercion: a
 * version of "2.0", " 2", "+2", "02" or "" is invalid, never rounded.
 * Unknown fields are ignored (forward compatibility) and kept intact by the
 * backend when it re-enqueues or dead-letters the entry.
 */
#include "core/envelope.h"

#include <stdio.h>
#include <string.h>

#include "core/json_check.h"
#include "core/util.h"
#include "core/version.h"

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == ':' || c == '/';
}

int envelope_valid_name(const char *s, size_t len)
{
    if (len == 0 || len > ENVELOPE_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

int envelope_valid_id(const char *ptr, size_t len)
{
    strview_t view = {ptr, len};
    const strview_t *v = &view;
    if (v->len == 0 || v->len > ENVELOPE_MAX_ID)
        return 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->ptr[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

int strview_is(const strview_t *v, const char *name)
{
    size_t n = strlen(name);
    return v->len == n && memcmp(v->ptr, name, n) == 0;
}

const strview_t *envelope_find_id(const strview_t *fields, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (strview_is(&fields[i], "id"))
            return envelope_valid_id(fields[i + 1].ptr, fields[i + 1].len)
                       ? &fields[i + 1]
                       : NULL;
    return NULL;
}

size_t envelope_own_fields(const strview_t *fields, size_t n)
{
    static const char *const managed[] = {"id", "attempt", "last_error"};
    int seen[3] = {0, 0, 0};
    size_t own = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int m = 0;
        while (m < 3 && !strview_is(&fields[i], managed[m]))
            m++;
        if (m < 3 && !seen[m])
            seen[m] = 1; /* the first of each is the runtime's */
        else
            own++;
    }
    return own;
}

/* Up to about 64 columns of v for a reason line (quoted in '...'). */
static void printable(const strview_t *v, char *out, size_t out_len)
{
    buf_t b = {0};
    if (buf_append_escaped(&b, v->ptr, v->len, 64, "\\'") == 0 && b.data)
        util_copy_str(out, out_len, b.data);
    else
        util_copy_str(out, out_len, "?");
    buf_free(&b);
}

#define BAD(...)                                                            \
    do {                                                                    \
        snprintf(why, why_len, __VA_ARGS__);                                \
        return -1;                                                          \
    } while (0)

enum {
    F_JOB, F_V, F_PAYLOAD, F_ID, F_CORR, F_MAXATT, F_ATTEMPT, F_ENQ, F_NBF,
    F_EXP, F_IDEM, F_TIMEOUT, F_WIRE, F_N
};
static const char *const known[F_N] = {
    "job", "v", "payload", "id", "correlation_id", "max_attempts", "attempt",
    "enqueued_at", "not_before", "expires_at", "idempotency_key",
    "timeout_ms", "wire"};

/* An optional ms-since-epoch field. */
static int parse_ms(const strview_t *v, int64_t *out)
{
    uint64_t ms;
    if (util_parse_u64(v->ptr, v->len, (uint64_t)INT64_MAX, &ms) != 0)
        return -1;
    *out = (int64_t)ms;
    return 0;
}

int envelope_parse(const strview_t *fields, size_t n, jobrt_envelope *env,
                   char *why, size_t why_len)
{
    const strview_t *seen[F_N] = {0};
    memset(env, 0, sizeof *env);

    if (n % 2 != 0)
        BAD("odd number of fields in stream entry");
    if (n > 2 * ENVELOPE_MAX_FIELDS &&
        envelope_own_fields(fields, n) > ENVELOPE_MAX_FIELDS)
        BAD("stream entry has %zu fields of its own, over the limit of %d",
            envelope_own_fields(fields, n), ENVELOPE_MAX_FIELDS);
    for (size_t i = 0; i < n; i += 2) {
        for (int k = 0; k < F_N; k++) {
            if (!strview_is(&fields[i], known[k]))
                continue;
            if (seen[k])
                BAD("field '%s' appears more than once", known[k]);
            seen[k] = &fields[i + 1];
        }
    }

    /* First, as a newer wire format may give the other fields another
     * meaning: such an entry is never read as this one. */
    if (seen[F_WIRE]) {
        uint64_t w;
        if (util_parse_u64(seen[F_WIRE]->ptr, seen[F_WIRE]->len, 1000000,
                           &w) != 0 || w == 0)
            BAD("field 'wire' must be a wire format version, an integer >= 1");
        if (w > JOBRT_WIRE_VERSION)
            BAD("field 'wire' is wire format %llu, newer than the %d this "
                "worker reads: upgrade the worker, then retry the job from "
                "the DLQ", (unsigned long long)w, JOBRT_WIRE_VERSION);
    }
    if (!seen[F_JOB])
        BAD("missing field 'job'");
    if (!envelope_valid_name(seen[F_JOB]->ptr, seen[F_JOB]->len))
        BAD("field 'job' must be 1-%d characters of [A-Za-z0-9_.:/-]",
            ENVELOPE_MAX_NAME);
    env->job = *seen[F_JOB];

    uint64_t v;
    if (!seen[F_V])
        BAD("missing field 'v' (payload schema version)");
    if (util_parse_u64(seen[F_V]->ptr, seen[F_V]->len, ENVELOPE_MAX_VERSION,
                       &v) != 0) {
        char shown[80];
        printable(seen[F_V], shown, sizeof shown);
        BAD("field 'v' must be a decimal integer 0-%u, got '%s'",
            ENVELOPE_MAX_VERSION, shown);
    }
    env->version = (uint32_t)v;

    if (!seen[F_PAYLOAD])
        BAD("missing field 'payload'");
    env->payload = *seen[F_PAYLOAD];

    if (seen[F_ID]) {
        if (!envelope_valid_id(seen[F_ID]->ptr, seen[F_ID]->len))
            BAD("field 'id' must be 1-%d printable non-space ASCII characters",
                ENVELOPE_MAX_ID);
        env->id = *seen[F_ID];
    }
    if (seen[F_CORR]) {
        if (!envelope_valid_id(seen[F_CORR]->ptr, seen[F_CORR]->len))
            BAD("field 'correlation_id' must be 1-%d printable non-space "
                "ASCII characters",
                ENVELOPE_MAX_ID);
        env->correlation_id = *seen[F_CORR];
    }
    if (seen[F_MAXATT]) {
        if (util_parse_u64(seen[F_MAXATT]->ptr, seen[F_MAXATT]->len,
                           ENVELOPE_MAX_ATTEMPTS, &v) != 0 || v == 0)
            BAD("field 'max_attempts' must be an integer 1-%d",
                ENVELOPE_MAX_ATTEMPTS);
        env->max_attempts = (uint32_t)v;
    }
    env->attempt = 1;
    if (seen[F_ATTEMPT]) {
        if (util_parse_u64(seen[F_ATTEMPT]->ptr, seen[F_ATTEMPT]->len,
                           1000000, &v) != 0 || v == 0)
            BAD("field 'attempt' must be an integer >= 1");
        env->attempt = (uint32_t)v;
    }
    if (seen[F_ENQ] && parse_ms(seen[F_ENQ], &env->enqueued_at_ms) != 0)
        BAD("field 'enqueued_at' must be ms since the Unix epoch");
    if (seen[F_NBF] && parse_ms(seen[F_NBF], &env->not_before_ms) != 0)
        BAD("field 'not_before' must be ms since the Unix epoch");
    if (seen[F_EXP]) {
        if (parse_ms(seen[F_EXP], &env->expires_at_ms) != 0)
            BAD("field 'expires_at' must be ms since the Unix epoch");
        env->has_expires_at = 1;
    }
    if (seen[F_TIMEOUT]) {
        if (util_parse_u64(seen[F_TIMEOUT]->ptr, seen[F_TIMEOUT]->len,
                           ENVELOPE_MAX_TIMEOUT_MS, &v) != 0 || v == 0)
            BAD("field 'timeout_ms' must be an integer 1-%d (ms)",
                ENVELOPE_MAX_TIMEOUT_MS);
        env->timeout_ms = (uint32_t)v;
    }
    if (seen[F_IDEM]) {
        if (!envelope_valid_id(seen[F_IDEM]->ptr, seen[F_IDEM]->len))
            BAD("field 'idempotency_key' must be 1-%d printable non-space "
                "ASCII characters", ENVELOPE_MAX_ID);
        env->idempotency_key = *seen[F_IDEM];
    }
    return 0;
}

int envelope_check_payload(const jobrt_envelope *env, size_t max_bytes,
                           char *why, size_t why_len)
{
    const char *reason;
    if (max_bytes && env->payload.len > max_bytes)
        BAD("payload is %zu bytes, over the %zu-byte limit", env->payload.len,
            max_bytes);
    if (json_check(env->payload.ptr, env->payload.len,
                   JSON_CHECK_DEFAULT_DEPTH, &reason) != 0)
        BAD("payload is not valid JSON: %s", reason);
    return 0;
}
