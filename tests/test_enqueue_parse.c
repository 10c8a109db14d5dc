/*
 * test_enqueue_parse.c - unit tests for the `jobrt enqueue` input parser:
 * NDJSON lines and command-line values -> stream entry fields. The payload's
 * raw bytes must be kept exactly, and whatever is accepted must also pass
 * the worker's envelope_parse.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/enqueue_parse.h"

static enqueue_entry_t e;
static char why[512];

/* Every test calls this first (and teardown() last): fixtures are explicit
 * calls rather than TestSuite(.init/.fini), which cppcheck cannot parse. */
static void setup(void)
{
    memset(&e, 0, sizeof e);
    why[0] = '\0';
}

static void teardown(void) { enqueue_entry_free(&e); }

/* The value of field `name`, or NULL (len -1) if absent. */
static const strview_t *field(const char *name)
{
    const strview_t *found = NULL;
    for (size_t i = 0; i + 1 < e.n_fields; i += 2) {
        if (e.fields[i].len == strlen(name) &&
            memcmp(e.fields[i].ptr, name, e.fields[i].len) == 0) {
            cr_assert_null(found, "field '%s' appears twice", name);
            found = &e.fields[i + 1];
        }
    }
    return found;
}

static void expect_field(const char *name, const char *want)
{
    const strview_t *v = field(name);
    cr_assert_not_null(v, "field '%s' missing", name);
    cr_assert(v->len == strlen(want) && memcmp(v->ptr, want, v->len) == 0,
              "field '%s' is [%.*s], want [%s]", name, (int)v->len, v->ptr,
              want);
}

static int parse_line(const char *line, long long enq)
{
    why[0] = '\0';
    return enqueue_parse_line(line, strlen(line), enq, &e, why, sizeof why);
}

/* The produced entry is accepted by the worker's own parser. */
static void expect_worker_accepts(void)
{
    jobrt_envelope env;
    char w[256] = "";
    cr_assert_eq(envelope_parse(e.fields, e.n_fields, &env, w, sizeof w), 0,
                 "worker rejects what enqueue produced: %s", w);
    cr_assert_eq(envelope_check_payload(&env, 0, w, sizeof w), 0, "%s", w);
}

static void expect_rejected(const char *line, const char *named)
{
    int rc = parse_line(line, 1);
    cr_assert_eq(rc, -1, "accepted: %s", line);
    cr_assert_neq(why[0], '\0', "no reason for: %s", line);
    if (named)
        cr_assert(strstr(why, named) != NULL,
                  "reason for %s should mention '%s', got: %s", line, named,
                  why);
}

/* A line of the three required keys plus `extra` (",\"k\":v" or ""). */
static int parse_with(const char *extra, long long now)
{
    static char line[1024];
    snprintf(line, sizeof line, "{\"job\":\"a\",\"v\":1,\"payload\":{}%s}",
             extra);
    return parse_line(line, now);
}

static void expect_rejected_with(const char *extra, const char *named)
{
    cr_assert_eq(parse_with(extra, 1), -1, "accepted: %s", extra);
    cr_assert(strstr(why, named) != NULL,
              "reason for %s should mention [%s], got: %s", extra, named, why);
}

Test(enqueue_parse, valid_line_keeps_payload_bytes)
{
    setup();
    const char *line = "{\"job\":\"invoice_email\",\"v\":2,"
                       "\"payload\":{\"n\":12345678901234567890, \"s\":\"x\"}}";
    cr_assert_eq(parse_line(line, 1795442850626LL), 0, "%s", why);
    expect_field("job", "invoice_email");
    expect_field("v", "2");
    expect_field("payload", "{\"n\":12345678901234567890, \"s\":\"x\"}");
    expect_field("enqueued_at", "1795442850626");
    cr_assert_null(field("id"));
    cr_assert_null(field("correlation_id"));
    cr_assert_null(field("max_attempts"));
    cr_assert_eq(e.n_fields, 8u);
    cr_assert_str_eq(e.id, "");
    expect_worker_accepts();
    teardown();
}

Test(enqueue_parse, no_enqueued_at_when_zero)
{
    setup();
    cr_assert_eq(parse_line("{\"job\":\"a\",\"v\":0,\"payload\":null}", 0), 0,
                 "%s", why);
    cr_assert_eq(e.n_fields, 6u);
    cr_assert_null(field("enqueued_at"));
    expect_field("v", "0");
    expect_field("payload", "null");
    expect_worker_accepts();
    teardown();
}

Test(enqueue_parse, payload_forms_preserved)
{
    setup();
    static const struct {
        const char *line, *payload;
    } cases[] = {
        {"{\"payload\" :  [1.0e+2 ,  -0.0] ,\"job\":\"a\",\"v\":1}",
         "[1.0e+2 ,  -0.0]"},
        {"{\"job\":\"a\",\"v\":1,\"payload\":\"a\\\"b\\u00e9\"}",
         "\"a\\\"b\\u00e9\""},
        {"{\"job\":\"a\",\"v\":1,\"payload\":  7  }", "7"},
        {"{\"job\":\"a\",\"v\":1,\"payload\":0.10}", "0.10"},
        {"{\"job\":\"a\",\"v\":1,"
         "\"payload\":{\"x\":{\"y\":[{}]}, \"}\":\"{\"}}",
         "{\"x\":{\"y\":[{}]}, \"}\":\"{\"}"},
        /* a nested "payload" key is not the payload */
        {"{\"job\":\"a\",\"v\":1,"
         "\"payload\":{\"payload\":1,\"real\":true}}",
         "{\"payload\":1,\"real\":true}"},
        {"{\"job\":\"a\",\"v\":1,\"payload\":\"caf\xc3\xa9\"}",
         "\"caf\xc3\xa9\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(parse_line(cases[i].line, 0), 0, "%s: %s", cases[i].line,
                     why);
        expect_field("payload", cases[i].payload);
        expect_worker_accepts();
    }
    teardown();
}

Test(enqueue_parse, null_optionals_are_absent)
{
    setup();
    const char *line = "{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":null,"
                       "\"correlation_id\":null,\"max_attempts\":null,"
                       "\"not_before\":null,\"key\":null,\"delay\":null}";
    cr_assert_eq(parse_line(line, 0), 0, "%s", why);
    cr_assert_null(field("id"));
    cr_assert_null(field("correlation_id"));
    cr_assert_null(field("max_attempts"));
    cr_assert_null(field("not_before"));
    cr_assert_eq(enqueue_entry_scripted(&e), 0);
    teardown();
}

Test(enqueue_parse, surrounding_whitespace)
{
    setup();
    const char *line = "  {\"job\":\"a\",\"v\":1,\"payload\":[]}\r\n";
    cr_assert_eq(parse_line(line, 0), 0, "%s", why);
    expect_field("payload", "[]");
    teardown();
}

/* Regression: unknown keys (and misspelled ones, like "delay_ms") were
 * dropped and the line enqueued without them. */
Test(enqueue_parse, unknown_key_is_an_error)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],\"extra\":"
                    "{\"k\":1}}", "unknown field 'extra'");
    cr_assert_str_eq(why, "unknown field 'extra'");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],"
                    "\"delay_ms\":5}", "unknown field 'delay_ms'");
    expect_rejected("{\"Job\":\"a\",\"v\":1,\"payload\":[]}",
                    "unknown field 'Job'");
    /* a key a terminal would misprint is shown escaped */
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],"
                    "\"x\\ny\":1}", "unknown field 'x\\x0ay'");
    teardown();
}

Test(enqueue_parse, worker_fields_are_refused)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],\"attempt\":2}",
                    "field 'attempt' is set by the worker, not by producers");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],"
                    "\"last_error\":\"x\"}",
                    "field 'last_error' is set by the worker");
    teardown();
}

/* A payload of 16 bytes or more is not parsed into a tree (the line is
 * parsed with it stubbed): its bytes, the other members and every check
 * stay as they are, wherever it stands and however it is spelled. */
Test(enqueue_parse, long_payloads_are_kept_raw_and_checked_alike)
{
    setup();
    static const struct {
        const char *line, *payload;
    } cases[] = {
        {"{\"payload\":{\"a\":\"}\\\"]\",\"b\":[[1,2],{\"c\":null}]},"
         "\"job\":\"a\",\"v\":3}",
         "{\"a\":\"}\\\"]\",\"b\":[[1,2],{\"c\":null}]}"},
        {"{\"job\":\"a\", \"payload\" : \"0123456789abcdef\\u00e9\" ,"
         "\"v\":1, \"id\":\"j-1\"}",
         "\"0123456789abcdef\\u00e9\""},
        {"{\"job\":\"a\",\"v\":1,\"pay\\u006coad\":[1,2,3,4,5,6,7,8,9]}",
         "[1,2,3,4,5,6,7,8,9]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(parse_line(cases[i].line, 0), 0, "%s: %s", cases[i].line,
                     why);
        expect_field("payload", cases[i].payload);
        expect_worker_accepts();
        if (i == 1) /* the members after it */
            expect_field("id", "j-1");
    }
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[1,2,3,4,5,6,7,8],"
                    "\"payload\":[1,2,3,4,5,6,7,8]}",
                    "field 'payload' appears more than once");
    expect_rejected("{\"job\":\"a\",\"v\":\"x\",\"payload\":[1,2,3,4,5,6,7,8]}",
                    "\"v\" must be an integer");
    teardown();
}

Test(enqueue_parse, repeated_key_is_an_error)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],\"job\":\"b\"}",
                    "field 'job' appears more than once");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":[],\"delay\":1,"
                    "\"delay\":2}", "'delay' appears more than once");
    teardown();
}

Test(enqueue_parse, not_json)
{
    setup();
    expect_rejected("{", "JSON");
    expect_rejected("hello", "JSON");
    expect_rejected("", "JSON");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":{},}", "JSON");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":{}} {}", "JSON");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":\"\xc0\xaf\"}", "JSON");
    teardown();
}

Test(enqueue_parse, not_an_object)
{
    setup();
    expect_rejected("[1,2]", "object");
    expect_rejected("\"job\"", "object");
    expect_rejected("42", "object");
    expect_rejected("null", "object");
    teardown();
}

Test(enqueue_parse, bad_version)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":\"2\",\"payload\":{}}",
                    "\"v\" must be an integer 0-2147483647");
    expect_rejected("{\"job\":\"a\",\"v\":1.0,\"payload\":{}}", "\"v\"");
    expect_rejected("{\"job\":\"a\",\"v\":1.5,\"payload\":{}}", "\"v\"");
    expect_rejected("{\"job\":\"a\",\"v\":-1,\"payload\":{}}", "\"v\"");
    expect_rejected("{\"job\":\"a\",\"v\":2147483648,\"payload\":{}}", "\"v\"");
    expect_rejected("{\"job\":\"a\",\"v\":null,\"payload\":{}}", "\"v\"");
    expect_rejected("{\"job\":\"a\",\"v\":true,\"payload\":{}}", "\"v\"");
    expect_rejected("{\"job\":\"a\",\"payload\":{}}", "\"v\"");
    cr_assert_eq(parse_line("{\"job\":\"a\",\"v\":2147483647,\"payload\":{}}",
                            0),
                 0, "%s", why);
    expect_field("v", "2147483647");
    teardown();
}

Test(enqueue_parse, missing_payload)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":1}", "\"payload\" is missing");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"id\":\"payload\"}",
                    "payload");
    teardown();
}

Test(enqueue_parse, bad_job)
{
    setup();
    expect_rejected("{\"job\":1,\"v\":1,\"payload\":{}}",
                    "\"job\" must be a string");
    expect_rejected("{\"job\":[\"a\"],\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"v\":1,\"payload\":{}}", "\"job\" is missing");
    expect_rejected("{\"job\":\"bad name\",\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"job\":\"\",\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"job\":\"{q}\",\"v\":1,\"payload\":{}}", "job");
    teardown();
}

Test(enqueue_parse, bad_id_and_correlation_id)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":5}",
                    "\"id\" must be a string");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":\"a b\"}",
                    "id");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":\"\"}", "id");
    expect_rejected(
        "{\"job\":\"a\",\"v\":1,\"payload\":{},\"correlation_id\":7}",
        "correlation_id");
    expect_rejected(
        "{\"job\":\"a\",\"v\":1,\"payload\":{},\"correlation_id\":\"x\\ty\"}",
        "correlation_id");
    teardown();
}

Test(enqueue_parse, bad_max_attempts)
{
    setup();
    static const char *const bad[] = {"0", "1001", "1.5", "\"3\"", "-1",
                                      "true", "1.0", "3e0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line,
                 "{\"job\":\"a\",\"v\":1,\"payload\":{},\"max_attempts\":%s}",
                 bad[i]);
        expect_rejected(line, "\"max_attempts\" must be an integer 1-1000");
    }
    cr_assert_eq(parse_with(",\"max_attempts\":1000", 0), 0, "%s", why);
    expect_field("max_attempts", "1000");
    teardown();
}

Test(enqueue_parse, payload_nesting_limit)
{
    setup();
    /* the payload may nest 64 deep (the worker's limit), not 65 */
    for (int depth = 64; depth <= 65; depth++) {
        char line[256];
        int n = snprintf(line, sizeof line,
                         "{\"job\":\"a\",\"v\":1,\"payload\":");
        for (int i = 0; i < depth; i++)
            line[n++] = '[';
        for (int i = 0; i < depth; i++)
            line[n++] = ']';
        line[n++] = '}';
        line[n] = '\0';
        int rc = parse_line(line, 0);
        if (depth == 64) {
            cr_assert_eq(rc, 0, "depth 64 rejected: %s", why);
            expect_worker_accepts();
        } else {
            cr_assert_eq(rc, -1, "depth 65 accepted");
        }
    }
    teardown();
}

Test(enqueue_parse, entry_reuse)
{
    setup();
    cr_assert_eq(parse_line("{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":"
                            "\"first\"}",
                            0),
                 0);
    cr_assert_str_eq(e.id, "first");
    cr_assert_eq(parse_line("{\"job\":\"b\",\"v\":2,\"payload\":[1]}", 0), 0);
    expect_field("job", "b");
    expect_field("payload", "[1]");
    cr_assert_null(field("id"));
    cr_assert_str_eq(e.id, "", "id of the previous line must not stick");
    teardown();
}

/* An escaped NUL in a string value must not silently shorten it: the job
 * name "ok\u0000evil" is not the job "ok", and the id "a\u0000 b" is not
 * "a". Envelope rules say invalid input is never coerced. */
Test(enqueue_parse, regression_escaped_nul_in_strings_not_truncated)
{
    setup();
    int rc =
        parse_line("{\"job\":\"ok\\u0000evil\",\"v\":1,\"payload\":{}}", 0);
    cr_assert(rc == -1 || field("job")->len != 2,
              "job name \"ok\\u0000evil\" was enqueued as \"ok\"");
    rc = parse_line(
        "{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":\"inv\\u0000 x\"}", 0);
    cr_assert(rc == -1, "id \"inv\\u0000 x\" was enqueued as \"%s\"", e.id);
    teardown();
}


/* ---- every key: right type, wrong type, absent ---- */

/* A line with none of the optional keys is a plain XADD. */
Test(enqueue_parse, absent_optionals_mean_a_plain_xadd)
{
    setup();
    cr_assert_eq(parse_with("", 1795442850626LL), 0, "%s", why);
    cr_assert_eq(e.delay_ms, -1);
    cr_assert_eq(e.at_ms, -1);
    cr_assert_str_eq(e.idem_key, "");
    cr_assert_eq(enqueue_entry_scripted(&e), 0);
    static const char *const none[] = {"not_before", "expires_at",
                                       "idempotency_key", "delay", "at",
                                       "expires_in", "key", "dedupe_window"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        cr_assert_null(field(none[i]), "%s", none[i]);
    expect_field("enqueued_at", "1795442850626");
    teardown();
}

/* Regression: "not_before", "expires_at", "idempotency_key" were dropped. */
Test(enqueue_parse, wire_fields_kept)
{
    setup();
    cr_assert_eq(parse_with(",\"not_before\":1795442850626,"
                            "\"expires_at\":1795442860626,"
                            "\"idempotency_key\":\"order-4711\"",
                            5),
                 0, "%s", why);
    expect_field("not_before", "1795442850626");
    expect_field("expires_at", "1795442860626");
    expect_field("idempotency_key", "order-4711");
    cr_assert_eq(e.at_ms, 1795442850626LL, "not_before is the due time");
    cr_assert_eq(e.delay_ms, -1);
    cr_assert_str_eq(e.idem_key, "order-4711", "the key dedupes");
    cr_assert_eq(e.dedupe_window_ms, ENQUEUE_DEFAULT_WINDOW_MS);
    cr_assert_eq(enqueue_entry_scripted(&e), 1);
    expect_worker_accepts();
    teardown();
}

Test(enqueue_parse, expires_at_zero_is_kept)
{
    setup();
    cr_assert_eq(parse_with(",\"expires_at\":0", 5), 0, "%s", why);
    expect_field("expires_at", "0");
    cr_assert_eq(enqueue_entry_scripted(&e), 0, "no delay: a plain XADD");
    teardown();
}

Test(enqueue_parse, enqueued_at_given_wins_over_now)
{
    setup();
    cr_assert_eq(parse_with(",\"enqueued_at\":1234", 1795442850626LL), 0,
                 "%s", why);
    expect_field("enqueued_at", "1234");
    teardown();
}

Test(enqueue_parse, ms_fields_wrong_type)
{
    setup();
    static const char *const keys[] = {"enqueued_at", "not_before",
                                       "expires_at"};
    static const char *const bad[] = {"\"1795442850626\"", "1.5", "-1",
                                      "1e3", "1.0", "true", "[1]",
                                      "99999999999999999999"};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char extra[128], named[96];
            snprintf(extra, sizeof extra, ",\"%s\":%s", keys[k], bad[i]);
            snprintf(named, sizeof named, "\"%s\" must be an integer: ms "
                     "since the Unix epoch", keys[k]);
            expect_rejected_with(extra, named);
        }
    teardown();
}

Test(enqueue_parse, idempotency_key_wrong_type)
{
    setup();
    expect_rejected_with(",\"idempotency_key\":5",
                         "\"idempotency_key\" must be a string");
    expect_rejected_with(",\"idempotency_key\":\"a b\"", "idempotency_key");
    expect_rejected_with(",\"idempotency_key\":\"\"", "idempotency_key");
    expect_rejected_with(",\"key\":[\"k\"]", "\"key\" must be a string");
    expect_rejected_with(",\"key\":\"a b\"", "idempotency_key");
    expect_rejected_with(",\"key\":\"k\\u0000\"", "\\u0000");
    teardown();
}

Test(enqueue_parse, delay)
{
    setup();
    static const struct {
        const char *value;
        int64_t ms;
    } ok[] = {{"\"30s\"", 30000},  {"30", 30000},   {"\"30\"", 30000},
              {"\"250ms\"", 250},  {"\"5m\"", 300000}, {"\"2h\"", 7200000},
              {"\"366d\"", 366 * 86400000LL}, {"0", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"delay\":%s", ok[i].value);
        cr_assert_eq(parse_with(extra, 1), 0, "%s: %s", extra, why);
        cr_assert_eq(e.delay_ms, ok[i].ms, "%s: %lld", extra,
                     (long long)e.delay_ms);
        cr_assert_eq(e.at_ms, -1);
        cr_assert_eq(enqueue_entry_scripted(&e), 1);
        cr_assert_null(field("delay"), "a convenience, not a field");
        cr_assert_null(field("not_before"));
        expect_worker_accepts();
    }
    static const char *const bad[] = {"\"1.5s\"", "-1", "1.5", "true",
                                      "\"367d\"", "\"\"", "{}", "\"30 s\"",
                                      "\"1w\"", "\"-5s\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ",\"delay\":%s", bad[i]);
        expect_rejected_with(extra, "\"delay\" must be a duration like "
                             "\"30s\", \"5m\", \"2h\" or a number of "
                             "seconds, 0 to 366d");
    }
    teardown();
}

Test(enqueue_parse, at)
{
    setup();
    static const struct {
        const char *value;
        int64_t ms;
    } ok[] = {{"1795442850626", 1795442850626LL},
              {"\"1795442850626\"", 1795442850626LL},
              {"\"2026-11-23T15:00:00Z\"", 1795446000000LL},
              {"\"2026-11-23T15:00:00.5Z\"", 1795446000500LL},
              {"\"2026-11-23T15:00:00.123+00:00\"", 1795446000123LL},
              {"0", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char extra[80];
        snprintf(extra, sizeof extra, ",\"at\":%s", ok[i].value);
        cr_assert_eq(parse_with(extra, 1), 0, "%s: %s", extra, why);
        cr_assert_eq(e.at_ms, ok[i].ms, "%s: %lld", extra,
                     (long long)e.at_ms);
        cr_assert_eq(e.delay_ms, -1);
        cr_assert_eq(enqueue_entry_scripted(&e), 1);
        cr_assert_null(field("at"));
    }
    static const char *const bad[] = {"\"2026-02-29T00:00:00Z\"",
                                      "\"2026-11-23T15:00:00\"",
                                      "\"2026-11-23T15:00:00+01:00\"",
                                      "1.5e12", "true", "-5", "\"soon\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[80];
        snprintf(extra, sizeof extra, ",\"at\":%s", bad[i]);
        expect_rejected_with(extra, "\"at\" must be ms since the Unix epoch "
                             "or a UTC ISO-8601 time");
    }
    teardown();
}

Test(enqueue_parse, expires_in)
{
    setup();
    cr_assert_eq(parse_with(",\"expires_in\":\"10m\"", 1000), 0, "%s", why);
    expect_field("expires_at", "601000");
    cr_assert_null(field("expires_in"));
    cr_assert_eq(enqueue_entry_scripted(&e), 0, "no delay: a plain XADD");
    cr_assert_eq(parse_with(",\"expires_in\":90", 1000), 0, "%s", why);
    expect_field("expires_at", "91000");
    expect_rejected_with(",\"expires_in\":0", "\"expires_in\" must be a "
                         "duration like \"30s\", \"5m\", \"2h\" or a number "
                         "of seconds, 1ms to 366d");
    expect_rejected_with(",\"expires_in\":\"soon\"", "\"expires_in\"");
    expect_rejected_with(",\"expires_in\":false", "\"expires_in\"");
    teardown();
}

Test(enqueue_parse, key_and_dedupe_window)
{
    setup();
    cr_assert_eq(parse_with(",\"key\":\"order-1\"", 1), 0, "%s", why);
    expect_field("idempotency_key", "order-1");
    cr_assert_null(field("key"));
    cr_assert_str_eq(e.idem_key, "order-1");
    cr_assert_eq(e.dedupe_window_ms, ENQUEUE_DEFAULT_WINDOW_MS);
    cr_assert_eq(e.delay_ms, -1);
    cr_assert_eq(e.at_ms, -1);
    cr_assert_eq(enqueue_entry_scripted(&e), 1);
    expect_worker_accepts();
    cr_assert_eq(parse_with(",\"key\":\"order-1\",\"dedupe_window\":\"1h\"", 1),
                 0, "%s", why);
    cr_assert_eq(e.dedupe_window_ms, 3600000);
    cr_assert_eq(parse_with(",\"idempotency_key\":\"k\",\"dedupe_window\":60",
                            1),
                 0, "%s", why);
    cr_assert_eq(e.dedupe_window_ms, 60000);
    expect_rejected_with(",\"dedupe_window\":\"1h\"",
                         "\"dedupe_window\" needs \"key\"");
    expect_rejected_with(",\"key\":\"k\",\"dedupe_window\":0",
                         "\"dedupe_window\" must be a duration");
    expect_rejected_with(",\"key\":\"k\",\"dedupe_window\":\"1y\"",
                         "\"dedupe_window\" must be a duration");
    teardown();
}

Test(enqueue_parse, conflicts)
{
    setup();
    expect_rejected_with(",\"delay\":\"5s\",\"at\":1795442850626",
                         "\"delay\" and \"at\" both given: give one of them");
    expect_rejected_with(",\"not_before\":1,\"delay\":\"5s\"",
                         "\"not_before\" and \"delay\" both given");
    expect_rejected_with(",\"at\":1,\"not_before\":1",
                         "\"not_before\" and \"at\" both given");
    expect_rejected_with(",\"expires_at\":1,\"expires_in\":\"5s\"",
                         "\"expires_at\" and \"expires_in\" both given");
    expect_rejected_with(",\"key\":\"a\",\"idempotency_key\":\"a\"",
                         "\"key\" and \"idempotency_key\" both given");
    /* null is the key left out: no conflict */
    cr_assert_eq(parse_with(",\"delay\":null,\"at\":100000000005", 1), 0,
                 "%s", why);
    cr_assert_eq(e.delay_ms, -1);
    cr_assert_eq(e.at_ms, 100000000005LL);
    teardown();
}

Test(enqueue_parse, escaped_keys_are_the_keys)
{
    setup();
    cr_assert_eq(parse_line("{\"j\\u006fb\":\"a\",\"v\":1,\"pay\\u006coad\":"
                            "[1 ,2],\"d\\u0065lay\":\"5s\"}", 0),
                 0, "%s", why);
    expect_field("job", "a");
    expect_field("payload", "[1 ,2]");
    cr_assert_eq(e.delay_ms, 5000);
    expect_rejected("{\"job\\u0000x\":\"a\",\"v\":1,\"payload\":[]}",
                    "\\u0000");
    teardown();
}

Test(enqueue_parse, every_key_at_once)
{
    setup();
    cr_assert_eq(parse_line("{\"job\":\"a\",\"v\":3,\"payload\":{\"x\":1},"
                            "\"id\":\"i-1\",\"correlation_id\":\"c-1\","
                            "\"max_attempts\":2,\"enqueued_at\":7,"
                            "\"expires_in\":\"1h\",\"delay\":\"1m\","
                            "\"key\":\"k-1\",\"dedupe_window\":\"2h\"}",
                            1000),
                 0, "%s", why);
    expect_field("id", "i-1");
    expect_field("correlation_id", "c-1");
    expect_field("max_attempts", "2");
    expect_field("enqueued_at", "7");
    expect_field("expires_at", "3601000");
    expect_field("idempotency_key", "k-1");
    cr_assert_eq(e.delay_ms, 60000);
    cr_assert_eq(e.dedupe_window_ms, 7200000);
    cr_assert_str_eq(e.id, "i-1");
    expect_worker_accepts();
    teardown();
}

/* ---- enqueue_parse_at ---- */

Test(enqueue_parse_at, accepts)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"0", 0},
              {"1795442850626", 1795442850626LL},
              {"1970-01-01T00:00:00Z", 0},
              {"2026-11-23T15:00:00Z", 1795446000000LL},
              {"2028-02-29T23:59:59Z", 1835481599000LL},
              {"2000-03-01T00:00:00+00:00", 951868800000LL},
              {"2026-11-23T15:00:00.1Z", 1795446000100LL},
              {"2026-11-23T15:00:00.123456Z", 1795446000123LL}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        cr_assert_eq(enqueue_parse_at(ok[i].s, &ms), 0, "%s", ok[i].s);
        cr_assert_eq(ms, ok[i].ms, "%s: %lld", ok[i].s, (long long)ms);
    }
}

/* No silent coercion: February 30th is not March 2nd. */
Test(enqueue_parse_at, rejects)
{
    static const char *const bad[] = {
        "", "-1", "01", "1.5", "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T15:60:00Z", "2026-11-23T15:00:60Z", "2026-11-23 15:00:00Z",
        "2026-11-23T15:00:00", "2026-11-23T15:00:00+01:00", "2026-11-23Z",
        " 2026-11-23T15:00:00Z", "2026-11-23T15:00:00Z ", "2026-1-23T15:00:00Z",
        "1969-12-31T23:59:59Z", "2026-11-23T15:00:00.Z", "2026-11-23t15:00:00z",
        "2026-11-23T15:00:00.1234567890Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        cr_assert_eq(enqueue_parse_at(bad[i], &ms), -1, "'%s' accepted",
                     bad[i]);
        cr_assert_eq(ms, 42, "'%s': output written on error", bad[i]);
    }
}

/* A number of ms before March 1973 is surely seconds: refused, not run
 * at once; 0 (long past: now) and the first ms after it still pass. */
Test(enqueue_parse_at, seconds_are_not_taken_for_ms)
{
    int64_t ms = 42;
    cr_assert_eq(enqueue_parse_at("1733000000", &ms), ENQUEUE_AT_SECONDS);
    cr_assert_eq(enqueue_parse_at("1", &ms), ENQUEUE_AT_SECONDS);
    cr_assert_eq(enqueue_parse_at("99999999999", &ms), ENQUEUE_AT_SECONDS);
    cr_assert_eq(ms, 42, "output written on error");
    cr_assert_eq(enqueue_parse_at("100000000000", &ms), 0);
    cr_assert_eq(ms, 100000000000LL);
    cr_assert_eq(enqueue_parse_at("0", &ms), 0);
    cr_assert_eq(ms, 0);

    const char *line = "{\"job\":\"a\",\"v\":1,\"payload\":{},\"at\":1733000000}";
    cr_assert_eq(enqueue_parse_line(line, strlen(line), 1795442850626LL, &e,
                                    why, sizeof why), -1);
    cr_assert(strstr(why, "looks like seconds") != NULL, "got: %s", why);
}

/* ---- enqueue_build: the command line's form ---- */

static int build(const enqueue_spec_t *s)
{
    why[0] = '\0';
    return enqueue_build(s, &e, why, sizeof why);
}

static enqueue_spec_t spec(const char *job, long v, const char *payload)
{
    enqueue_spec_t s = ENQUEUE_SPEC_INIT;
    s.job = job;
    s.version = v;
    s.payload = payload;
    s.payload_len = payload ? strlen(payload) : 0;
    return s;
}

Test(enqueue_build, minimal)
{
    setup();
    enqueue_spec_t s = spec("invoice_email", 2, "{\"n\":1.50}");
    cr_assert_eq(build(&s), 0, "%s", why);
    cr_assert_eq(e.n_fields, 6u);
    expect_field("job", "invoice_email");
    expect_field("v", "2");
    expect_field("payload", "{\"n\":1.50}");
    cr_assert_str_eq(e.id, "");
    cr_assert_eq(enqueue_entry_scripted(&e), 0);
    expect_worker_accepts();
    teardown();
}

Test(enqueue_build, payload_length_is_respected)
{
    setup();
    enqueue_spec_t s = spec("a", 1, "[1,2]trailing");
    s.payload_len = 5;
    cr_assert_eq(build(&s), 0, "%s", why);
    expect_field("payload", "[1,2]");
    teardown();
}

Test(enqueue_build, every_field)
{
    setup();
    enqueue_spec_t s = spec("a", 1, "{}");
    s.id = "inv-1";
    s.correlation_id = "c-1";
    s.max_attempts = 3;
    s.enqueued_at_ms = 1795442850626LL;
    s.not_before_ms = 1795442851626LL;
    s.expires_at_ms = 1795446450626LL;
    s.idempotency_key = "order-4711";
    s.dedupe_window_ms = 60000;
    cr_assert_eq(build(&s), 0, "%s", why);
    cr_assert_eq(e.n_fields, 20u, "10 pairs");
    expect_field("id", "inv-1");
    expect_field("correlation_id", "c-1");
    expect_field("max_attempts", "3");
    expect_field("enqueued_at", "1795442850626");
    expect_field("not_before", "1795442851626");
    expect_field("expires_at", "1795446450626");
    expect_field("idempotency_key", "order-4711");
    cr_assert_str_eq(e.id, "inv-1");
    cr_assert_str_eq(e.idem_key, "order-4711");
    cr_assert_eq(e.at_ms, 1795442851626LL);
    cr_assert_eq(e.dedupe_window_ms, 60000);
    expect_worker_accepts();
    teardown();
}

Test(enqueue_build, delay_and_at)
{
    setup();
    enqueue_spec_t s = spec("a", 1, "{}");
    s.delay_ms = 30000;
    cr_assert_eq(build(&s), 0, "%s", why);
    cr_assert_eq(e.delay_ms, 30000);
    cr_assert_eq(e.at_ms, -1);
    cr_assert_eq(enqueue_entry_scripted(&e), 1);
    s = spec("a", 1, "{}");
    s.at_ms = 1795446000000LL;
    cr_assert_eq(build(&s), 0, "%s", why);
    cr_assert_eq(e.at_ms, 1795446000000LL);
    cr_assert_null(field("not_before"), "--at is not a field");
    teardown();
}

Test(enqueue_build, rejections)
{
    setup();
    static const struct {
        const char *job;
        long v;
        const char *payload, *id, *corr;
        long max_attempts;
        const char *named;
    } bad[] = {
        {"bad name", 1, "{}", NULL, NULL, 0, "job"},
        {NULL, 1, "{}", NULL, NULL, 0, "'job'"},
        {"a", -1, "{}", NULL, NULL, 0, "'v'"},
        {"a", 2147483648L, "{}", NULL, NULL, 0, "'v'"},
        {"a", 1, "{", NULL, NULL, 0, "payload"},
        {"a", 1, "", NULL, NULL, 0, "payload"},
        {"a", 1, NULL, NULL, NULL, 0, "payload"},
        {"a", 1, "{}", "has space", NULL, 0, "'id'"},
        {"a", 1, "{}", "", NULL, 0, "'id'"},
        {"a", 1, "{}", NULL, "x y", 0, "correlation_id"},
        {"a", 1, "{}", NULL, NULL, 1001, "max_attempts"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enqueue_spec_t s = spec(bad[i].job, bad[i].v, bad[i].payload);
        s.id = bad[i].id;
        s.correlation_id = bad[i].corr;
        s.max_attempts = bad[i].max_attempts;
        cr_assert_eq(build(&s), -1, "case %zu accepted", i);
        cr_assert(strstr(why, bad[i].named) != NULL, "case %zu: %s", i, why);
    }
    enqueue_spec_t s = spec("a", 1, "{}");
    s.dedupe_window_ms = 1000;
    cr_assert_eq(build(&s), -1);
    cr_assert(strstr(why, "dedupe window needs an idempotency key") != NULL,
              "%s", why);
    teardown();
}

/* ---- enqueue_entry_add ---- */

Test(enqueue_build, entry_add_keeps_fields_valid)
{
    setup();
    enqueue_spec_t s = spec("a", 1, "{\"k\":1}");
    s.id = "inv-1";
    cr_assert_eq(build(&s), 0, "%s", why);
    /* a value large enough to move the scratch buffer */
    static char big[8192];
    memset(big, '7', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(enqueue_entry_add(&e, "enqueued_at", big), 0);
    cr_assert_eq(e.n_fields, 10u);
    expect_field("job", "a");
    expect_field("payload", "{\"k\":1}");
    expect_field("id", "inv-1");
    expect_field("enqueued_at", big);
    teardown();
}

/* The sender adds a generated id to a scripted job that has none: there is
 * room for it after every other field, and e.id follows. */
Test(enqueue_build, room_for_a_generated_id_after_every_field)
{
    setup();
    cr_assert_eq(parse_line("{\"job\":\"a\",\"v\":3,\"payload\":{},"
                            "\"correlation_id\":\"c-1\",\"max_attempts\":2,"
                            "\"expires_at\":9,\"not_before\":8,"
                            "\"key\":\"k-1\"}",
                            1000),
                 0, "%s", why);
    cr_assert_str_eq(e.id, "");
    cr_assert_eq(enqueue_entry_add(&e, "id", "1795442850626-0000002a"), 0,
                 "no room for the id (entry has %zu fields, max %d)",
                 e.n_fields, ENQUEUE_MAX_FIELDS);
    cr_assert_str_eq(e.id, "1795442850626-0000002a");
    expect_field("id", "1795442850626-0000002a");
    expect_worker_accepts();
    teardown();
}

Test(enqueue_parse, timeout_ms)
{
    setup();
    static const char *const bad[] = {"0", "86400001", "\"500\"", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line,
                 "{\"job\":\"a\",\"v\":1,\"payload\":{},\"timeout_ms\":%s}",
                 bad[i]);
        expect_rejected(line, "\"timeout_ms\" must be an integer 1-86400000");
    }
    cr_assert_eq(parse_with(",\"timeout_ms\":2500", 0), 0, "%s", why);
    expect_field("timeout_ms", "2500");
    teardown();
}
