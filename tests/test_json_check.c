/*
 * test_json_check.c - unit tests for json_check (strict RFC 8259 + UTF-8
 * validator with bounded nesting) and json_member_span (raw byte span of a
 * top-level member's value).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "core/json_check.h"

static int check_n(const char *s, size_t n, const char **why)
{
    *why = NULL;
    return json_check(s, n, JSON_CHECK_DEFAULT_DEPTH, why);
}

static void expect_valid_n(const char *s, size_t n)
{
    const char *why;
    int rc = check_n(s, n, &why);
    cr_assert_eq(rc, 0, "should be valid: [%.*s] (%s)", (int)n, s,
                 why ? why : "");
}

static void expect_valid(const char *s) { expect_valid_n(s, strlen(s)); }

/* Rejected; if phrase is not NULL the reason must contain it. */
static void expect_invalid_n(const char *s, size_t n, const char *phrase)
{
    const char *why;
    int rc = check_n(s, n, &why);
    cr_assert_eq(rc, -1, "should be invalid: [%.*s]", (int)n, s);
    cr_assert_not_null(why, "a reason must be given for [%.*s]", (int)n, s);
    if (phrase)
        cr_assert(strstr(why, phrase) != NULL,
                  "reason for [%.*s] should mention '%s', got '%s'", (int)n,
                  s, phrase, why);
}

static void expect_invalid(const char *s, const char *phrase)
{
    expect_invalid_n(s, strlen(s), phrase);
}

Test(json_check, valid_scalars)
{
    expect_valid("true");
    expect_valid("false");
    expect_valid("null");
    expect_valid("\"\"");
    expect_valid("\"hello\"");
    expect_valid("0");
    expect_valid("  7 \t\r\n");
}

Test(json_check, valid_number_forms)
{
    static const char *const ok[] = {
        "0", "-0", "1", "-1", "10", "1234567890123456789012345678901234567890",
        "0.5", "-0.0", "3.14159", "1e10", "1E10", "1e+10", "1e-10", "-1.25E-3",
        "0e0", "2.5e+300"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        expect_valid(ok[i]);
}

Test(json_check, invalid_number_forms)
{
    static const char *const bad[] = {"01", "-01", "00", "+1", ".5", "1.",
                                      "-", "1e", "1e+", "1.e5", "0x10",
                                      "NaN", "Infinity", "-Infinity", "1_000",
                                      "[01]", "[-]", "{\"a\":01}", "- 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i], NULL);
}

Test(json_check, valid_nested)
{
    expect_valid("{}");
    expect_valid("[]");
    expect_valid("[[]]");
    expect_valid("[{}]");
    expect_valid(" { \"a\" : [ 1 , { \"b\" : null } , \"c\" ] , \"d\" : {} } ");
    expect_valid("{\"a\":{\"b\":{\"c\":[1,2,3,[true,false]]}}}");
    expect_valid("[\"}\", \"]\", \"{\", \"[\", \",\"]");
    expect_valid("{\"\":\"\"}");
}

Test(json_check, valid_escapes_and_utf8)
{
    expect_valid("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
    expect_valid("\"\\u0000\\u001f\\u00e9\\uFFFF\\uabcd\"");
    /* surrogate pair escape: U+1F600 */
    expect_valid("\"\\ud83d\\ude00\"");
    expect_valid("\"\\uD83D\\uDE00 and \\udbff\\udfff\"");
    /* raw UTF-8: 2, 3 and 4 byte sequences, incl. the highest code point */
    expect_valid("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
    expect_valid("\"\xed\x9f\xbf\""); /* U+D7FF, just below surrogates */
    expect_valid("\"\xee\x80\x80\""); /* U+E000, just above */
    expect_valid("\"\x7f\"");          /* DEL is not a control char in JSON */
}

Test(json_check, invalid_structure)
{
    expect_invalid("[1,]", NULL);
    expect_invalid("{\"a\":1,}", NULL);
    expect_invalid("[,1]", NULL);
    expect_invalid("[1 2]", NULL);
    expect_invalid("{\"a\" 1}", "':'");
    expect_invalid("{1:2}", "key");
    expect_invalid("{\"a\"}", NULL);
    expect_invalid("{'a':1}", NULL);
    expect_invalid("[1}", NULL);
    expect_invalid("{\"a\":1]", NULL);
    expect_invalid("tru", NULL);
    expect_invalid("nul", NULL);
    expect_invalid("True", NULL);
    expect_invalid("]", NULL);
}

Test(json_check, trailing_garbage)
{
    expect_invalid("[1] x", "trailing");
    expect_invalid("{} {}", "trailing");
    expect_invalid("1 2", "trailing");
    expect_invalid("\"a\"\"b\"", "trailing");
    expect_invalid("nullx", "trailing");
    /* an embedded NUL after a complete value is garbage too */
    expect_invalid_n("[1]\0", 4, NULL);
    /* the length bounds the input: trailing bytes past len are not read */
    expect_valid_n("[1] x", 3);
}

Test(json_check, empty_and_unterminated)
{
    expect_invalid("", "end");
    expect_invalid("   \n ", "end");
    expect_invalid_n(NULL, 0, NULL);
    expect_invalid("[", "end");
    expect_invalid("[1,", "end");
    expect_invalid("{\"a\":", "end");
    expect_invalid("{\"a\"", NULL);
    expect_invalid("\"abc", "unterminated");
    expect_invalid("\"abc\\", "unterminated");
    expect_invalid("\"\\u12", "truncated");
    expect_invalid("\"\\u12zz\"", "escape");
}

Test(json_check, bad_escapes)
{
    expect_invalid("\"\\x41\"", "escape");
    expect_invalid("\"\\a\"", "escape");
    expect_invalid("\"\\U0041\"", "escape");
    expect_invalid("\"\\'\"", "escape");
    expect_invalid_n("\"\\\0\"", 4, "escape");
}

Test(json_check, lone_surrogates)
{
    expect_invalid("\"\\ud800\"", "surrogate");
    expect_invalid("\"\\udbff\"", "surrogate");
    expect_invalid("\"\\udc00\"", "surrogate");
    expect_invalid("\"\\udfff\\ud800\"", "surrogate");
    expect_invalid("\"\\ud800\\u0041\"", "surrogate");
    expect_invalid("\"\\ud800\\ud800\"", "surrogate");
    expect_invalid("\"\\ud800x\"", "surrogate");
    expect_invalid("\"\\ud800\"  ", "surrogate");
}

Test(json_check, invalid_utf8)
{
    struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"\"\xc0\xaf\"", 4},             /* overlong '/' */
        {"\"\xc1\xbf\"", 4},             /* overlong */
        {"\"\xe0\x80\xaf\"", 5},         /* overlong 3-byte */
        {"\"\xe0\x9f\xbf\"", 5},         /* overlong 3-byte, top */
        {"\"\xf0\x80\x80\xaf\"", 6},     /* overlong 4-byte */
        {"\"\xf0\x8f\xbf\xbf\"", 6},     /* overlong 4-byte, top */
        {"\"\xed\xa0\x80\"", 5},         /* UTF-8 encoded surrogate D800 */
        {"\"\xed\xbf\xbf\"", 5},         /* UTF-8 encoded surrogate DFFF */
        {"\"\xf4\x90\x80\x80\"", 6},     /* above U+10FFFF */
        {"\"\xf5\x80\x80\x80\"", 6},     /* invalid lead byte */
        {"\"\xf8\x88\x80\x80\x80\"", 7}, /* 5-byte form */
        {"\"\xff\"", 3},
        {"\"\xfe\"", 3},
        {"\"\x80\"", 3},                 /* lone continuation byte */
        {"\"\xc3\"", 3},                 /* truncated 2-byte */
        {"\"\xe2\x82\"", 4},             /* truncated 3-byte */
        {"\"\xc3\x28\"", 4},             /* bad continuation */
        {"\"\xc3", 2},                   /* truncated at end of input */
        {"\"\xf0\x9f\x98", 4},           /* truncated at end of input */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid_n(bad[i].s, bad[i].n, "UTF-8");
    /* invalid bytes outside strings are rejected too */
    expect_invalid_n("\xef\xbb\xbf{}", 5, NULL); /* BOM is not allowed */
    expect_invalid_n("[\xc3\xa9]", 4, NULL);
}

Test(json_check, control_chars_in_strings)
{
    for (int c = 0; c < 0x20; c++) {
        char s[4] = {'"', (char)c, '"', '\0'};
        expect_invalid_n(s, 3, "control");
    }
    expect_invalid("\"tab\there\"", "control");
    expect_invalid("{\"k\ney\":1}", "control");
}

static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 1);
    cr_assert_not_null(s);
    memset(s, open, (size_t)depth);
    memset(s + depth, close, (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

Test(json_check, depth_limit_default)
{
    const char *why;
    char *s = nested(64, '[', ']');
    cr_assert_eq(json_check(s, strlen(s), JSON_CHECK_DEFAULT_DEPTH, &why), 0,
                 "64 nested arrays are within the default depth");
    free(s);

    s = nested(65, '[', ']');
    why = NULL;
    cr_assert_eq(json_check(s, strlen(s), JSON_CHECK_DEFAULT_DEPTH, &why),
                 -1, "65 nested arrays exceed the default depth");
    cr_assert_not_null(why);
    cr_assert(strstr(why, "nest") != NULL, "got '%s'", why);
    free(s);
}

Test(json_check, depth_limit_objects_and_mixed)
{
    /* {"a":{"a":...{"a":1}...}} with 64 objects is fine, 65 is not */
    for (int depth = 64; depth <= 65; depth++) {
        size_t cap = (size_t)depth * 6 + 8, n = 0;
        char *s = malloc(cap);
        cr_assert_not_null(s);
        for (int i = 0; i < depth; i++) {
            memcpy(s + n, i % 2 ? "[" : "{\"a\":", i % 2 ? 1 : 5);
            n += i % 2 ? 1 : 5;
        }
        s[n++] = '1';
        for (int i = depth - 1; i >= 0; i--)
            s[n++] = i % 2 ? ']' : '}';
        const char *why = NULL;
        int rc = json_check(s, n, JSON_CHECK_DEFAULT_DEPTH, &why);
        cr_assert_eq(rc, depth <= 64 ? 0 : -1, "depth %d: rc %d (%s)", depth,
                     rc, why ? why : "");
        free(s);
    }
}

Test(json_check, depth_limit_custom)
{
    const char *why;
    cr_assert_eq(json_check("[[[1]]]", 7, 3, &why), 0);
    cr_assert_eq(json_check("[[[[1]]]]", 9, 3, &why), -1);
    cr_assert_eq(json_check("1", 1, 1, &why), 0);
    cr_assert_eq(json_check("[1]", 3, 1, &why), 0);
    cr_assert_eq(json_check("[[1]]", 5, 1, &why), -1);
    /* depth counts open containers, not total containers */
    cr_assert_eq(json_check("[[1],[2],[3]]", 13, 2, &why), 0);
}

Test(json_check, hostile_nesting_does_not_crash)
{
    size_t n = 100000;
    char *s = malloc(n * 2);
    cr_assert_not_null(s);
    memset(s, '[', n);
    const char *why = NULL;
    cr_assert_eq(json_check(s, n, JSON_CHECK_DEFAULT_DEPTH, &why), -1);
    cr_assert_not_null(why);
    memset(s + n, ']', n);
    cr_assert_eq(json_check(s, 2 * n, JSON_CHECK_DEFAULT_DEPTH, &why), -1);
    memset(s, '{', n);
    cr_assert_eq(json_check(s, n, JSON_CHECK_DEFAULT_DEPTH, &why), -1);
    free(s);
}

Test(json_check, why_may_be_null)
{
    cr_assert_eq(json_check("[1,]", 4, JSON_CHECK_DEFAULT_DEPTH, NULL), -1);
    cr_assert_eq(json_check("[1]", 3, JSON_CHECK_DEFAULT_DEPTH, NULL), 0);
}

/* ---- json_member_span ---- */

static void expect_span(const char *doc, const char *key, const char *want)
{
    const char *val = NULL;
    size_t len = 0;
    /* the documents are valid JSON, as the function requires */
    cr_assert_eq(json_check(doc, strlen(doc), JSON_CHECK_DEFAULT_DEPTH, NULL),
                 0, "test document must be valid: %s", doc);
    int rc = json_member_span(doc, strlen(doc), key, &val, &len);
    cr_assert_eq(rc, 0, "key '%s' not found in %s", key, doc);
    cr_assert(val >= doc && val + len <= doc + strlen(doc),
              "span must point into the input");
    cr_assert_eq(len, strlen(want), "span of '%s' in %s: got [%.*s]", key,
                 doc, (int)len, val);
    cr_assert(memcmp(val, want, len) == 0, "span of '%s': got [%.*s]", key,
              (int)len, val);
}

static void expect_no_span(const char *doc, const char *key)
{
    const char *val = NULL;
    size_t len = 0;
    cr_assert_eq(json_member_span(doc, strlen(doc), key, &val, &len), -1,
                 "key '%s' should not be found in %s", key, doc);
}

Test(json_member_span, finds_payload_raw_bytes)
{
    expect_span("{\"job\":\"x\",\"payload\": {\"a\" : [1,  2],\n \"b\":\"}\"} ,"
                "\"v\":1}",
                "payload", "{\"a\" : [1,  2],\n \"b\":\"}\"}");
    expect_span("{\"payload\":{\"n\":12345678901234567890, \"s\":\"x\"}}",
                "payload", "{\"n\":12345678901234567890, \"s\":\"x\"}");
    expect_span("  {  \"payload\"  :  [ 1 , 2 ]  }  ", "payload",
                "[ 1 , 2 ]");
}

Test(json_member_span, scalar_values)
{
    expect_span("{\"payload\":-1.5e3,\"x\":1}", "payload", "-1.5e3");
    expect_span("{\"x\":1,\"payload\":true}", "payload", "true");
    expect_span("{\"payload\":null}", "payload", "null");
    expect_span("{\"payload\":12 }", "payload", "12");
    expect_span("{\"payload\":12\n,\"y\":2}", "payload", "12");
    expect_span("{\"a\":1,\"b\":2,\"c\":3}", "b", "2");
    expect_span("{\"a\":1,\"b\":2,\"c\":3}", "c", "3");
}

Test(json_member_span, strings_with_quotes_and_braces)
{
    expect_span("{\"a\":\"}\\\"{\",\"payload\":\"x\\\"}y\"}", "payload",
                "\"x\\\"}y\"");
    /* a string ending in an escaped backslash */
    expect_span("{\"a\":\"\\\\\",\"payload\":1}", "payload", "1");
    expect_span("{\"a\":\"\\\\\\\"\",\"payload\":[\"]\"]}", "payload",
                "[\"]\"]");
    /* keys with braces/colons in them */
    expect_span("{\"{payload}\":1,\"pay:load\":2,\"payload\":3}", "payload",
                "3");
}

Test(json_member_span, nested_objects)
{
    /* a nested "payload" is not a top-level member */
    expect_span("{\"meta\":{\"payload\":1},\"payload\":2}", "payload", "2");
    expect_span("{\"meta\":[{\"payload\":{\"}\":\"{\"}}],\"payload\":{\"k\":"
                "{\"m\":[\"]]}}\"]}}}",
                "payload", "{\"k\":{\"m\":[\"]]}}\"]}}");
    expect_no_span("{\"meta\":{\"payload\":1}}", "payload");
    expect_no_span("{\"meta\":\"\\\"payload\\\":1\"}", "payload");
}

Test(json_member_span, key_matching_is_exact)
{
    expect_span("{\"payloadx\":1,\"xpayload\":2,\"payload\":3}", "payload",
                "3");
    expect_no_span("{\"pay\":1,\"payloads\":2}", "payload");
    expect_no_span("{\"Payload\":1}", "payload");
    expect_span("{\"\":5}", "", "5");
}

Test(json_member_span, first_of_duplicate_keys)
{
    expect_span("{\"payload\":1,\"payload\":2}", "payload", "1");
}

Test(json_member_span, missing_key_and_non_objects)
{
    expect_no_span("{}", "payload");
    expect_no_span("  {  }  ", "payload");
    expect_no_span("{\"a\":1}", "payload");
    expect_no_span("[\"payload\",1]", "payload");
    expect_no_span("[{\"payload\":1}]", "payload");
    expect_no_span("\"payload\"", "payload");
    expect_no_span("42", "payload");
    expect_no_span("null", "payload");
    expect_no_span("", "payload");
}
