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
        {"{\"job\":\"a\",\"v\":1,\"payload\":{\"x\":{\"y\":[{}]}, \"}\":\"{\"}}",
         "{\"x\":{\"y\":[{}]}, \"}\":\"{\"}"},
        /* a nested "payload" key is not the payload */
        {"{\"meta\":{\"payload\":1},\"job\":\"a\",\"v\":1,"
         "\"payload\":{\"real\":true}}",
         "{\"real\":true}"},
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

Test(enqueue_parse, optional_fields)
{
    setup();
    const char *line = "{\"job\":\"invoice_email\",\"v\":1,\"payload\":{},"
                       "\"id\":\"inv-1\",\"correlation_id\":\"order-4711\","
                       "\"max_attempts\":3}";
    cr_assert_eq(parse_line(line, 0), 0, "%s", why);
    expect_field("id", "inv-1");
    expect_field("correlation_id", "order-4711");
    expect_field("max_attempts", "3");
    cr_assert_str_eq(e.id, "inv-1");
    expect_worker_accepts();
    teardown();
}

Test(enqueue_parse, null_optionals_are_absent)
{
    setup();
    const char *line = "{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":null,"
                       "\"correlation_id\":null}";
    cr_assert_eq(parse_line(line, 0), 0, "%s", why);
    cr_assert_null(field("id"));
    cr_assert_null(field("correlation_id"));
    teardown();
}

Test(enqueue_parse, unknown_keys_and_surrounding_whitespace)
{
    setup();
    const char *line = "  {\"job\":\"a\",\"v\":1,\"payload\":[],\"extra\":"
                       "{\"k\":1}}\r\n";
    cr_assert_eq(parse_line(line, 0), 0, "%s", why);
    expect_field("payload", "[]");
    cr_assert_null(field("extra"), "unknown keys are not copied");
    teardown();
}

/* `jobrt enqueue` always passes enqueued_at (util_now_ms()); with all three
 * optional keys the entry needs 7 field/value pairs = 14 fields. */
Test(enqueue_parse, all_optional_fields_with_enqueued_at)
{
    setup();
    const char *line = "{\"job\":\"invoice_email\",\"v\":1,\"payload\":{},"
                       "\"id\":\"inv-1\",\"correlation_id\":\"order-4711\","
                       "\"max_attempts\":3}";
    cr_assert_eq(parse_line(line, 1795442850626LL), 0,
                 "id + correlation_id + max_attempts + enqueued_at "
                 "rejected: %s",
                 why);
    expect_field("id", "inv-1");
    expect_field("correlation_id", "order-4711");
    expect_field("max_attempts", "3");
    expect_field("enqueued_at", "1795442850626");
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
    expect_rejected("{\"job\":\"a\",\"v\":\"2\",\"payload\":{}}", "\"v\"");
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
    expect_rejected("{\"job\":\"a\",\"v\":1}", "payload");
    expect_rejected("{\"job\":\"a\",\"v\":1,\"meta\":{\"payload\":1}}",
                    "payload");
    teardown();
}

Test(enqueue_parse, bad_job)
{
    setup();
    expect_rejected("{\"job\":1,\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"job\":[\"a\"],\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"job\":\"bad name\",\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"job\":\"\",\"v\":1,\"payload\":{}}", "job");
    expect_rejected("{\"job\":\"{q}\",\"v\":1,\"payload\":{}}", "job");
    teardown();
}

Test(enqueue_parse, bad_id_and_correlation_id)
{
    setup();
    expect_rejected("{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":5}", "id");
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
                                      "null", "true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line,
                 "{\"job\":\"a\",\"v\":1,\"payload\":{},\"max_attempts\":%s}",
                 bad[i]);
        expect_rejected(line, "max_attempts");
    }
    cr_assert_eq(
        parse_line("{\"job\":\"a\",\"v\":1,\"payload\":{},\"max_attempts\":1000}",
                   0),
        0, "%s", why);
    expect_field("max_attempts", "1000");
    teardown();
}

Test(enqueue_parse, payload_nesting_limit)
{
    setup();
    /* the payload may nest 64 deep (the worker's limit), not 65 */
    for (int depth = 64; depth <= 65; depth++) {
        char line[256];
        int n = snprintf(line, sizeof line, "{\"job\":\"a\",\"v\":1,\"payload\":");
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

/* A JSON key may be spelled with escapes; cJSON decodes it, so the line
 * has a "payload". Either accept it with the payload's bytes, or say what
 * is wrong - "out of memory" is not the reason. */
Test(enqueue_parse, regression_escaped_payload_key_misreported)
{
    setup();
    int rc = parse_line("{\"job\":\"a\",\"v\":1,\"pay\\u006coad\":{\"k\":1}}",
                        0);
    if (rc == 0)
        expect_field("payload", "{\"k\":1}");
    else
        cr_assert_null(strstr(why, "out of memory"),
                       "misleading reason: %s", why);
    teardown();
}

/* An escaped NUL in a string value must not silently shorten it: the job
 * name "ok\u0000evil" is not the job "ok", and the id "a\u0000 b" is not
 * "a". Envelope rules say invalid input is never coerced. */
Test(enqueue_parse, regression_escaped_nul_in_strings_not_truncated)
{
    setup();
    int rc = parse_line("{\"job\":\"ok\\u0000evil\",\"v\":1,\"payload\":{}}", 0);
    cr_assert(rc == -1 || field("job")->len != 2,
              "job name \"ok\\u0000evil\" was enqueued as \"ok\"");
    rc = parse_line(
        "{\"job\":\"a\",\"v\":1,\"payload\":{},\"id\":\"inv\\u0000 x\"}", 0);
    cr_assert(rc == -1, "id \"inv\\u0000 x\" was enqueued as \"%s\"", e.id);
    teardown();
}

/* ---- enqueue_build ---- */

static int build(const char *job, long v, const char *payload, const char *id,
                 const char *corr, long max_attempts, long long enq)
{
    why[0] = '\0';
    return enqueue_build(job, v, payload, id, corr, max_attempts, enq, &e,
                         why, sizeof why);
}

Test(enqueue_build, minimal)
{
    setup();
    cr_assert_eq(build("invoice_email", 2, "{\"n\":1.50}", NULL, NULL, 0, 0),
                 0, "%s", why);
    cr_assert_eq(e.n_fields, 6u);
    expect_field("job", "invoice_email");
    expect_field("v", "2");
    expect_field("payload", "{\"n\":1.50}");
    cr_assert_str_eq(e.id, "");
    expect_worker_accepts();
    teardown();
}

Test(enqueue_build, optional_fields)
{
    setup();
    cr_assert_eq(build("a", 1, "[]", "inv-9", NULL, 4, 0), 0, "%s", why);
    expect_field("id", "inv-9");
    expect_field("max_attempts", "4");
    cr_assert_null(field("correlation_id"));
    cr_assert_str_eq(e.id, "inv-9");
    cr_assert_eq(build("a", 1, "[]", NULL, "c-1", 0, 1234), 0, "%s", why);
    expect_field("correlation_id", "c-1");
    expect_field("enqueued_at", "1234");
    cr_assert_null(field("max_attempts"));
    cr_assert_null(field("id"));
    expect_worker_accepts();
    teardown();
}

Test(enqueue_build, all_optional_fields)
{
    setup();
    cr_assert_eq(build("a", 1, "{}", "inv-1", "c-1", 3, 1795442850626LL), 0,
                 "all optional fields rejected: %s", why);
    cr_assert_eq(e.n_fields, 14u);
    expect_field("enqueued_at", "1795442850626");
    expect_worker_accepts();
    teardown();
}

Test(enqueue_build, rejections)
{
    setup();
    cr_assert_eq(build("bad name", 1, "{}", NULL, NULL, 0, 0), -1);
    cr_assert(strstr(why, "job") != NULL, "%s", why);
    cr_assert_eq(build("a", -1, "{}", NULL, NULL, 0, 0), -1);
    cr_assert(strstr(why, "'v'") != NULL, "%s", why);
    cr_assert_eq(build("a", 2147483648L, "{}", NULL, NULL, 0, 0), -1);
    cr_assert(strstr(why, "'v'") != NULL, "%s", why);
    cr_assert_eq(build("a", 1, "{", NULL, NULL, 0, 0), -1);
    cr_assert(strstr(why, "payload") != NULL, "%s", why);
    cr_assert_eq(build("a", 1, "", NULL, NULL, 0, 0), -1);
    cr_assert(strstr(why, "payload") != NULL, "%s", why);
    cr_assert_eq(build("a", 1, "{}", "has space", NULL, 0, 0), -1);
    cr_assert(strstr(why, "'id'") != NULL, "%s", why);
    cr_assert_eq(build("a", 1, "{}", "", NULL, 0, 0), -1);
    cr_assert(strstr(why, "'id'") != NULL, "%s", why);
    cr_assert_eq(build("a", 1, "{}", NULL, "x y", 0, 0), -1);
    cr_assert(strstr(why, "correlation_id") != NULL, "%s", why);
    cr_assert_eq(build("a", 1, "{}", NULL, NULL, 1001, 0), -1);
    cr_assert(strstr(why, "max_attempts") != NULL, "%s", why);
    teardown();
}

/* ---- enqueue_entry_add ---- */

Test(enqueue_build, entry_add_keeps_fields_valid)
{
    setup();
    cr_assert_eq(build("a", 1, "{\"k\":1}", "inv-1", NULL, 0, 0), 0, "%s",
                 why);
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

/* `jobrt enqueue` builds the entry (up to 7 pairs with --id,
 * --correlation-id, --max-attempts and enqueued_at), then adds expires_at
 * (--expires-in) and idempotency_key (--key): 9 pairs, 18 fields. */
Test(enqueue_build, regression_entry_add_room_for_every_field)
{
    setup();
    cr_assert_eq(build("a", 1, "{}", "inv-1", "c-1", 3, 1795442850626LL), 0,
                 "%s", why);
    cr_assert_eq(enqueue_entry_add(&e, "expires_at", "1795446450626"), 0,
                 "no room for expires_at");
    cr_assert_eq(enqueue_entry_add(&e, "idempotency_key", "order-4711"), 0,
                 "no room for idempotency_key (entry has %zu fields, max %d)",
                 e.n_fields, ENQUEUE_MAX_FIELDS);
    expect_field("expires_at", "1795446450626");
    expect_field("idempotency_key", "order-4711");
    expect_worker_accepts();
    teardown();
}
