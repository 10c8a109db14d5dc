/*
 * test_envelope.c - unit tests for envelope_parse / envelope_check_payload:
 * the strict validation of one stream entry's field/value pairs (wire
 * format v1, docs/protocol.md). Every rejection must name the field.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "core/envelope.h"
#include "core/version.h"

#define MAX_PAIRS 16

/* Builds strview_t fields from NUL-terminated strings (n strings). */
static void to_views(const char *const *s, size_t n, strview_t *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i].ptr = s[i];
        out[i].len = strlen(s[i]);
    }
}

static int parse_strs(const char *const *s, size_t n, jobrt_envelope *env,
                      char *why, size_t why_len)
{
    strview_t f[2 * MAX_PAIRS];
    cr_assert(n <= 2 * MAX_PAIRS);
    to_views(s, n, f);
    return envelope_parse(f, n, env, why, why_len);
}

#define NSTR(...) (sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *))
#define PARSE(env, why, ...)                                                \
    parse_strs((const char *[]){__VA_ARGS__}, NSTR(__VA_ARGS__), (env),     \
               (why), sizeof(why))

/* The minimal valid entry with one field replaced (or added if absent). */
static int parse_with(const char *field, const char *value,
                      jobrt_envelope *env, char *why, size_t why_len)
{
    const char *s[8] = {"job", "invoice_email", "v", "2", "payload", "{}"};
    size_t n = 6;
    int replaced = 0;
    for (size_t i = 0; i < n; i += 2) {
        if (strcmp(s[i], field) == 0) {
            s[i + 1] = value;
            replaced = 1;
        }
    }
    if (!replaced) {
        s[n++] = field;
        s[n++] = value;
    }
    return parse_strs(s, n, env, why, why_len);
}

static void expect_reject(const char *field, const char *value,
                          const char *named)
{
    jobrt_envelope env;
    char why[256] = "";
    int rc = parse_with(field, value, &env, why, sizeof why);
    cr_assert_eq(rc, -1, "%s='%s' should be rejected", field, value);
    cr_assert(strstr(why, named) != NULL,
              "why for %s='%s' should name '%s', got: %s", field, value,
              named, why);
}

static void expect_accept(const char *field, const char *value,
                          jobrt_envelope *env)
{
    char why[256] = "";
    int rc = parse_with(field, value, env, why, sizeof why);
    cr_assert_eq(rc, 0, "%s='%s' should be accepted, got: %s", field, value,
                 why);
}

static int sv_eq(strview_t v, const char *s)
{
    return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

Test(envelope, valid_minimal_entry)
{
    jobrt_envelope env;
    char why[256] = "";
    const char *payload = "{\"to\":\"a@b.c\"}";
    strview_t f[6];
    const char *s[] = {"job", "invoice_email", "v", "2", "payload", payload};
    to_views(s, 6, f);
    int rc = envelope_parse(f, 6, &env, why, sizeof why);
    cr_assert_eq(rc, 0, "unexpected rejection: %s", why);
    cr_assert(sv_eq(env.job, "invoice_email"));
    cr_assert_eq(env.version, 2u);
    /* payload is a borrowed view into the caller's value, not a copy */
    cr_assert_eq(env.payload.ptr, payload);
    cr_assert_eq(env.payload.len, strlen(payload));
    cr_assert_eq(env.id.len, 0u);
    cr_assert_eq(env.correlation_id.len, 0u);
    cr_assert_eq(env.max_attempts, 0u);
    cr_assert_eq(env.attempt, 1u, "attempt defaults to 1");
    cr_assert_eq(env.enqueued_at_ms, 0);
}

Test(envelope, field_order_does_not_matter)
{
    jobrt_envelope env;
    char why[256] = "";
    int rc = PARSE(&env, why, "payload", "[1]", "v", "7", "job", "a");
    cr_assert_eq(rc, 0, "%s", why);
    cr_assert(sv_eq(env.job, "a"));
    cr_assert_eq(env.version, 7u);
    cr_assert(sv_eq(env.payload, "[1]"));
}

Test(envelope, every_optional_field)
{
    jobrt_envelope env;
    char why[256] = "";
    int rc = PARSE(&env, why, "job", "invoice_email", "v", "1", "payload",
                   "{}", "id", "inv-7", "correlation_id", "order-4711",
                   "max_attempts", "7", "attempt", "3", "enqueued_at",
                   "1795442850626");
    cr_assert_eq(rc, 0, "unexpected rejection: %s", why);
    cr_assert(sv_eq(env.id, "inv-7"));
    cr_assert(sv_eq(env.correlation_id, "order-4711"));
    cr_assert_eq(env.max_attempts, 7u);
    cr_assert_eq(env.attempt, 3u);
    cr_assert_eq(env.enqueued_at_ms, 1795442850626LL);
}

Test(envelope, views_respect_length_not_nul)
{
    /* Values from Redis are not NUL-terminated: parse must use len only. */
    const char buf[] = "okXX22payloadZ[]";
    strview_t f[6] = {
        {"job", 3},      {buf, 2},      /* "ok" */
        {"v", 1},        {buf + 4, 1},  /* "2" (not "22") */
        {buf + 6, 7},    {buf + 14, 2}, /* "payload" -> "[]" */
    };
    jobrt_envelope env;
    char why[256] = "";
    cr_assert_eq(envelope_parse(f, 6, &env, why, sizeof why), 0, "%s", why);
    cr_assert(sv_eq(env.job, "ok"));
    cr_assert_eq(env.version, 2u);
    cr_assert(sv_eq(env.payload, "[]"));
}

Test(envelope, missing_required_fields)
{
    jobrt_envelope env;
    char why[256];

    why[0] = '\0';
    cr_assert_eq(PARSE(&env, why, "v", "1", "payload", "{}"), -1);
    cr_assert(strstr(why, "'job'") != NULL, "got: %s", why);

    why[0] = '\0';
    cr_assert_eq(PARSE(&env, why, "job", "x", "payload", "{}"), -1);
    cr_assert(strstr(why, "'v'") != NULL, "got: %s", why);

    why[0] = '\0';
    cr_assert_eq(PARSE(&env, why, "job", "x", "v", "1"), -1);
    cr_assert(strstr(why, "'payload'") != NULL, "got: %s", why);

    why[0] = '\0';
    cr_assert_eq(envelope_parse(NULL, 0, &env, why, sizeof why), -1);
    cr_assert(strstr(why, "job") != NULL, "got: %s", why);
}

Test(envelope, field_names_are_case_sensitive)
{
    jobrt_envelope env;
    char why[256] = "";
    cr_assert_eq(PARSE(&env, why, "Job", "x", "v", "1", "payload", "{}"), -1);
    cr_assert(strstr(why, "'job'") != NULL, "got: %s", why);
}

Test(envelope, duplicate_field_rejected)
{
    const char *names[] = {"job", "v", "payload", "id", "max_attempts"};
    const char *vals[] = {"x", "1", "{}", "a", "2"};
    for (size_t k = 0; k < 5; k++) {
        const char *s[12] = {"job", "x", "v", "1", "payload", "{}",
                             "id", "a", "max_attempts", "2"};
        size_t n = 10;
        s[n++] = names[k];
        s[n++] = vals[k];
        jobrt_envelope env;
        char why[256] = "";
        cr_assert_eq(parse_strs(s, n, &env, why, sizeof why), -1,
                     "duplicate '%s' accepted", names[k]);
        cr_assert(strstr(why, names[k]) != NULL, "got: %s", why);
        cr_assert(strstr(why, "more than once") != NULL, "got: %s", why);
    }
}

Test(envelope, duplicate_unknown_field_is_ignored)
{
    jobrt_envelope env;
    char why[256] = "";
    cr_assert_eq(PARSE(&env, why, "job", "x", "v", "1", "payload", "{}",
                       "x-trace", "1", "x-trace", "2"),
                 0, "%s", why);
}

Test(envelope, odd_field_count_rejected)
{
    jobrt_envelope env;
    char why[256] = "";
    cr_assert_eq(PARSE(&env, why, "job", "x", "v", "1", "payload"), -1);
    cr_assert(strstr(why, "odd") != NULL, "got: %s", why);
}

Test(envelope, version_strictness)
{
    static const char *const bad[] = {
        "2.0", " 2", "2 ", "+2", "02", "", "-1", "2147483648",
        "99999999999999999999", "0x2", "2e0", "١", "00",
        "4294967296", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject("v", bad[i], "'v'");

    jobrt_envelope env;
    expect_accept("v", "0", &env);
    cr_assert_eq(env.version, 0u);
    expect_accept("v", "2147483647", &env);
    cr_assert_eq(env.version, 2147483647u);
    expect_accept("v", "10", &env);
    cr_assert_eq(env.version, 10u);
}

Test(envelope, bad_job_names)
{
    char long129[130], long128[129];
    memset(long129, 'a', 129);
    long129[129] = '\0';
    memset(long128, 'b', 128);
    long128[128] = '\0';

    static const char *const bad[] = {"", "my job", "{emails}", "a{", "b}",
                                      "tab\there", "caf\xc3\xa9", "a\nb",
                                      "semi;colon", "star*", "q\"uote"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject("job", bad[i], "'job'");
    expect_reject("job", long129, "'job'");

    jobrt_envelope env;
    expect_accept("job", long128, &env);
    cr_assert_eq(env.job.len, 128u);
    expect_accept("job", "a.b:c/d-e_F9", &env);
    cr_assert(sv_eq(env.job, "a.b:c/d-e_F9"));
}

Test(envelope, valid_name_function)
{
    cr_assert(envelope_valid_name("x", 1));
    cr_assert(!envelope_valid_name("", 0));
    cr_assert(!envelope_valid_name("a b", 3));
    /* only len bytes are looked at */
    cr_assert(envelope_valid_name("ab cd", 2));
    cr_assert(!envelope_valid_name("ab\0cd", 5));
}

Test(envelope, id_and_correlation_id_rules)
{
    const char *fields[] = {"id", "correlation_id"};
    char long129[130], long128[129];
    memset(long129, 'i', 129);
    long129[129] = '\0';
    memset(long128, 'j', 128);
    long128[128] = '\0';

    for (int k = 0; k < 2; k++) {
        const char *f = fields[k];
        char named[64];
        snprintf(named, sizeof named, "'%s'", f);
        expect_reject(f, "", named);
        expect_reject(f, "has space", named);
        expect_reject(f, "tab\t", named);
        expect_reject(f, "nl\n", named);
        expect_reject(f, "del\x7f", named);
        expect_reject(f, "caf\xc3\xa9", named);
        expect_reject(f, long129, named);

        jobrt_envelope env;
        expect_accept(f, long128, &env);
        strview_t got = k == 0 ? env.id : env.correlation_id;
        cr_assert_eq(got.len, 128u);
        expect_accept(f, "inv-7!@#{}$%~", &env);
        got = k == 0 ? env.id : env.correlation_id;
        cr_assert(sv_eq(got, "inv-7!@#{}$%~"));
    }
}

Test(envelope, max_attempts_range)
{
    static const char *const bad[] = {"0", "1001", "", "-1", "01", "3.0",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject("max_attempts", bad[i], "'max_attempts'");

    jobrt_envelope env;
    expect_accept("max_attempts", "1", &env);
    cr_assert_eq(env.max_attempts, 1u);
    expect_accept("max_attempts", "1000", &env);
    cr_assert_eq(env.max_attempts, 1000u);
}

Test(envelope, attempt_default_and_rules)
{
    jobrt_envelope env;
    expect_accept("x-other", "1", &env);
    cr_assert_eq(env.attempt, 1u);
    expect_accept("attempt", "4", &env);
    cr_assert_eq(env.attempt, 4u);
    expect_reject("attempt", "0", "'attempt'");
    expect_reject("attempt", "x", "'attempt'");
}

Test(envelope, enqueued_at_rules)
{
    jobrt_envelope env;
    expect_accept("enqueued_at", "0", &env);
    cr_assert_eq(env.enqueued_at_ms, 0);
    expect_accept("enqueued_at", "9223372036854775807", &env);
    cr_assert_eq(env.enqueued_at_ms, INT64_MAX);
    expect_reject("enqueued_at", "-5", "'enqueued_at'");
    expect_reject("enqueued_at", "9223372036854775808", "'enqueued_at'");
    expect_reject("enqueued_at", "12.5", "'enqueued_at'");
}

Test(envelope, scheduling_and_idempotency_fields)
{
    jobrt_envelope env;
    char why[256] = "";
    int rc = PARSE(&env, why, "job", "x", "v", "1", "payload", "{}",
                   "not_before", "1795442850000", "expires_at",
                   "1795442860000", "idempotency_key", "order-4711:v2");
    cr_assert_eq(rc, 0, "%s", why);
    cr_assert_eq(env.not_before_ms, 1795442850000LL);
    cr_assert_eq(env.expires_at_ms, 1795442860000LL);
    cr_assert(sv_eq(env.idempotency_key, "order-4711:v2"));

    expect_accept("x-none", "1", &env);
    cr_assert_eq(env.not_before_ms, 0);
    cr_assert_eq(env.expires_at_ms, 0);
    cr_assert_eq(env.idempotency_key.len, 0u);

    expect_reject("not_before", "-1", "'not_before'");
    expect_reject("not_before", "soon", "'not_before'");
    expect_reject("expires_at", "1.5", "'expires_at'");
    expect_reject("expires_at", "", "'expires_at'");
    expect_reject("idempotency_key", "", "'idempotency_key'");
    expect_reject("idempotency_key", "a b", "'idempotency_key'");
}

Test(envelope, valid_id_function)
{
    cr_assert(envelope_valid_id("inv-7", 5));
    cr_assert(!envelope_valid_id("", 0));
    cr_assert(!envelope_valid_id("a b", 3));
    cr_assert(envelope_valid_id("a b", 1), "only len bytes are looked at");
}

Test(envelope, unknown_fields_ignored)
{
    jobrt_envelope env;
    char why[256] = "";
    int rc = PARSE(&env, why, "last_error", "boom\nmultiline", "job", "x",
                   "dlq_reason", "{not json", "v", "3", "", "", "payload",
                   "null", "JOB", "bad name");
    cr_assert_eq(rc, 0, "unknown fields must be ignored, got: %s", why);
    cr_assert(sv_eq(env.job, "x"));
    cr_assert_eq(env.version, 3u);
    cr_assert(sv_eq(env.payload, "null"));
}

Test(envelope, payload_json_not_checked_by_parse)
{
    jobrt_envelope env;
    expect_accept("payload", "{not json", &env);
    cr_assert(sv_eq(env.payload, "{not json"));
}

Test(envelope, why_is_truncated_safely)
{
    jobrt_envelope env;
    char why[9];
    memset(why, 'Z', sizeof why);
    cr_assert_eq(parse_with("v", "2.0", &env, why, sizeof why), -1);
    cr_assert_eq(strlen(why), sizeof why - 1);
}

/* The contract (envelope.h): "a one-line reason". The reason for a bad
 * 'v' echoes the raw value, which is attacker-controlled; a newline in it
 * must not split the dead-letter reason / log line. */
Test(envelope, regression_why_for_bad_v_is_one_line)
{
    jobrt_envelope env;
    char why[256] = "";
    cr_assert_eq(parse_with("v", "2\nFAKE LOG LINE", &env, why, sizeof why),
                 -1);
    cr_assert(strstr(why, "'v'") != NULL, "got: %s", why);
    cr_assert(strchr(why, '\n') == NULL && strchr(why, '\r') == NULL,
              "why must be one line, got: [%s]", why);
}

Test(envelope, check_payload_valid_json)
{
    jobrt_envelope env;
    char why[256] = "";
    expect_accept("payload", "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\"}",
                  &env);
    cr_assert_eq(envelope_check_payload(&env, 1 << 20, why, sizeof why), 0,
                 "%s", why);
    expect_accept("payload", "  42  ", &env);
    cr_assert_eq(envelope_check_payload(&env, 0, why, sizeof why), 0, "%s",
                 why);
}

Test(envelope, check_payload_invalid_json)
{
    static const char *const bad[] = {"{", "", "{\"a\":1,}", "[1] [2]",
                                      "\"\xc0\xaf\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jobrt_envelope env;
        char why[256] = "";
        expect_accept("payload", bad[i], &env);
        cr_assert_eq(envelope_check_payload(&env, 1 << 20, why, sizeof why),
                     -1, "payload '%s' should fail", bad[i]);
        cr_assert(strstr(why, "payload") != NULL, "got: %s", why);
        cr_assert(strstr(why, "JSON") != NULL, "got: %s", why);
    }
}

Test(envelope, check_payload_size_limit)
{
    jobrt_envelope env;
    char why[256] = "";
    const char *p = "{\"data\":\"0123456789\"}"; /* 21 bytes */
    expect_accept("payload", p, &env);
    cr_assert_eq(envelope_check_payload(&env, 21, why, sizeof why), 0, "%s",
                 why);
    why[0] = '\0';
    cr_assert_eq(envelope_check_payload(&env, 20, why, sizeof why), -1);
    cr_assert(strstr(why, "payload") != NULL, "got: %s", why);
    cr_assert(strstr(why, "21") != NULL, "size should be reported: %s", why);
    cr_assert(strstr(why, "20") != NULL, "limit should be reported: %s", why);
    /* max_bytes 0 = no limit */
    cr_assert_eq(envelope_check_payload(&env, 0, why, sizeof why), 0);
}

/* The field limit counts an entry's own pairs: all but the first id,
 * attempt and last_error, which the runtime manages (a retry adds them).
 * A second one of those is the entry's own, so repeating them cannot
 * smuggle extra pairs past the limit. */
Test(envelope, own_fields_count_each_managed_name_once)
{
    static strview_t v[2 * 600];
    static char names[600][16];
    size_t n = 0;
    const char *base[] = {"job", "ok", "v", "1", "payload", "{}", "id", "a",
                          "attempt", "2", "last_error", "x"};
    to_views(base, 12, v);
    n = 12;
    cr_assert_eq(envelope_own_fields(v, n), 3u, "job, v and payload");
    /* 253 more of its own: 256, at the limit */
    for (int i = 0; i < 253; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        v[n++] = (strview_t){names[i], strlen(names[i])};
        v[n++] = (strview_t){"x", 1};
    }
    cr_assert_eq(envelope_own_fields(v, n), 256u);
    jobrt_envelope env;
    char why[256];
    cr_assert_eq(envelope_parse(v, n, &env, why, sizeof why), 0, "%s", why);
    /* one more last_error is the entry's own: over the limit */
    v[n++] = (strview_t){"last_error", 10};
    v[n++] = (strview_t){"y", 1};
    cr_assert_eq(envelope_own_fields(v, n), 257u);
    cr_assert_eq(envelope_parse(v, n, &env, why, sizeof why), -1);
    cr_assert_not_null(strstr(why, "257 fields of its own"), "%s", why);
}

Test(envelope, timeout_ms_overrides_the_deadline_within_a_day)
{
    jobrt_envelope env;
    char why[256] = "";
    cr_assert_eq(parse_with("timeout_ms", "1500", &env, why, sizeof why), 0,
                 "%s", why);
    cr_assert_eq(env.timeout_ms, 1500u);
    cr_assert_eq(parse_with("v", "2", &env, why, sizeof why), 0);
    cr_assert_eq(env.timeout_ms, 0u, "not given: the handler's");
    static const char *const bad[] = {"0", "86400001", "-5", "1.5", "", "1s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject("timeout_ms", bad[i], "timeout_ms");
}

/* The wire format rule (docs/protocol.md#wire-format-versions): an entry
 * without `wire`, or with this runtime's, is read; one of a newer format
 * is refused before any other field is read, naming both versions. */
Test(envelope, wire_version_absent_current_or_newer)
{
    jobrt_envelope env;
    char why[256] = "", cur[16], next[16];
    snprintf(cur, sizeof cur, "%d", JOBRT_WIRE_VERSION);
    snprintf(next, sizeof next, "%d", JOBRT_WIRE_VERSION + 1);
    expect_accept("wire", cur, &env);
    cr_assert_eq(env.version, 2);

    cr_assert_eq(parse_with("wire", next, &env, why, sizeof why), -1);
    char want[128];
    snprintf(want, sizeof want, "wire format %d, newer than the %d this "
             "worker reads", JOBRT_WIRE_VERSION + 1, JOBRT_WIRE_VERSION);
    cr_assert(strstr(why, want) != NULL, "got: %s", why);

    /* A newer format is named even if its other fields mean nothing here. */
    const char *s[] = {"wire", next, "job", "", "payload", "x"};
    cr_assert_eq(parse_strs(s, 6, &env, why, sizeof why), -1);
    cr_assert(strstr(why, "wire format") != NULL, "got: %s", why);

    expect_reject("wire", "0", "'wire'");
    expect_reject("wire", "1.0", "'wire'");
    expect_reject("wire", "", "'wire'");
}
