/*
 * test_limit_spec.c - the pure parts of the fleet's limits: rates
 * ("100/s", "30/m", "2/h" and what is refused), the --rate/--limit flag
 * split, concurrency values, the limit JSON (ranges, unknown fields),
 * formatting, the burst's default and tolerance, the GCRA slot
 * arithmetic (consecutive slots, a backlog that pushes tat ahead, a quiet
 * time that lets it fall back to now) and the denial backoff's bounds.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "core/limit_spec.h"

static double rate_of(const char *s)
{
    double r = -1;
    char err[256];
    cr_assert_eq(limit_parse_rate(s, &r, err, sizeof err), 0, "%s: %s", s,
                 err);
    return r;
}

static void rate_bad(const char *s, const char *why)
{
    double r = -1;
    char err[256] = "";
    cr_assert_eq(limit_parse_rate(s, &r, err, sizeof err), -1, "%s", s);
    cr_assert(strstr(err, why) != NULL, "%s: '%s' lacks '%s'", s, err, why);
    cr_assert_eq(r, -1);
}

Test(limit_spec, rates)
{
    cr_assert_float_eq(rate_of("100/s"), 100.0, 1e-9);
    cr_assert_float_eq(rate_of("100/sec"), 100.0, 1e-9);
    cr_assert_float_eq(rate_of("30/m"), 0.5, 1e-9);
    cr_assert_float_eq(rate_of("30/min"), 0.5, 1e-9);
    cr_assert_float_eq(rate_of("2/h"), 2.0 / 3600, 1e-12);
    cr_assert_float_eq(rate_of("1/h"), 1.0 / 3600, 1e-12);
    cr_assert_float_eq(rate_of("2.5/s"), 2.5, 1e-9);
    cr_assert_float_eq(rate_of("100000/s"), 100000.0, 1e-9);
    rate_bad("100", "expected N/s");
    rate_bad("/s", "expected N/s");
    rate_bad("0/s", "above 0");
    rate_bad("-1/s", "must be a number");
    rate_bad("1e3/s", "must be a number");
    rate_bad("10/d", "unit after '/' must be s, m or h");
    rate_bad("10/", "unit after '/'");
    rate_bad("0.5/h", "out of range");
    rate_bad("100001/s", "out of range");
    rate_bad("1.2.3/s", "must be a number");
}

Test(limit_spec, flags)
{
    char job[129], err[256];
    const char *v;
    cr_assert_eq(limit_split_flag("invoice_email=100/s", job, sizeof job, &v,
                                  err, sizeof err), 0);
    cr_assert_str_eq(job, "invoice_email");
    cr_assert_str_eq(v, "100/s");
    cr_assert_eq(limit_split_flag("a:b/c=4", job, sizeof job, &v, err,
                                  sizeof err), 0);
    cr_assert_str_eq(job, "a:b/c");
    cr_assert_str_eq(v, "4");
    cr_assert_eq(limit_split_flag("100/s", job, sizeof job, &v, err,
                                  sizeof err), -1);
    cr_assert(strstr(err, "JOB=VALUE"));
    cr_assert_eq(limit_split_flag("=4", job, sizeof job, &v, err,
                                  sizeof err), -1);
    cr_assert(strstr(err, "not a job name"));
    cr_assert_eq(limit_split_flag("bad name=4", job, sizeof job, &v, err,
                                  sizeof err), -1);
    long n = 0;
    cr_assert_eq(limit_parse_concurrency("4", &n, err, sizeof err), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(limit_parse_concurrency("1000000", &n, err, sizeof err), 0);
    cr_assert_eq(limit_parse_concurrency("0", &n, err, sizeof err), -1);
    cr_assert_eq(limit_parse_concurrency("4x", &n, err, sizeof err), -1);
    cr_assert_eq(limit_parse_concurrency("", &n, err, sizeof err), -1);
    cr_assert_eq(limit_parse_concurrency("1000001", &n, err, sizeof err), -1);
    cr_assert(strstr(err, "from 1 to 1000000"));
}

static limit_t json_ok(const char *s)
{
    limit_t l;
    char err[256];
    cr_assert_eq(limit_parse_json(s, strlen(s), &l, err, sizeof err), 0,
                 "%s: %s", s, err);
    return l;
}

static void json_bad(const char *s, const char *why)
{
    limit_t l;
    char err[256] = "";
    cr_assert_eq(limit_parse_json(s, strlen(s), &l, err, sizeof err), -1,
                 "%s", s);
    cr_assert(strstr(err, why) != NULL, "%s: '%s' lacks '%s'", s, err, why);
    cr_assert_eq(l.rate_per_s, 0);
    cr_assert_eq(l.concurrency, 0);
}

Test(limit_spec, json)
{
    limit_t l = json_ok("{\"rate_per_s\":100,\"burst\":5,\"concurrency\":4}");
    cr_assert_float_eq(l.rate_per_s, 100, 1e-9);
    cr_assert_float_eq(l.burst, 5, 1e-9);
    cr_assert_eq(l.concurrency, 4);
    l = json_ok("{\"concurrency\":2,\"note\":\"ignored\"}");
    cr_assert_eq(l.rate_per_s, 0);
    cr_assert_eq(l.concurrency, 2);
    l = json_ok("{}");
    cr_assert_eq(l.rate_per_s, 0);
    json_bad("[]", "not a JSON object");
    json_bad("{\"rate_per_s\":", "not a JSON object");
    json_bad("{\"rate_per_s\":\"100\"}", "rate_per_s must be");
    json_bad("{\"rate_per_s\":0}", "rate_per_s must be");
    json_bad("{\"rate_per_s\":1e9}", "rate_per_s must be");
    json_bad("{\"concurrency\":2.5}", "concurrency must be");
    json_bad("{\"concurrency\":0}", "concurrency must be");
    json_bad("{\"rate_per_s\":10,\"burst\":0.5}", "burst must be");
    char big[LIMIT_JSON_MAX + 20];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    json_bad(big, "over 512 bytes");
}

Test(limit_spec, format)
{
    char out[64];
    limit_format_rate(100, out, sizeof out);
    cr_assert_str_eq(out, "100/s");
    limit_format_rate(0.5, out, sizeof out);
    cr_assert_str_eq(out, "30/m");
    limit_format_rate(2.0 / 3600, out, sizeof out);
    cr_assert_str_eq(out, "2/h");
    limit_format_rate(2.5, out, sizeof out);
    cr_assert_str_eq(out, "150/m");
    limit_format_rate(1.0 / 7, out, sizeof out);
    cr_assert_str_eq(out, "0.142857/s");
    limit_t l = {.rate_per_s = 100, .concurrency = 4};
    limit_describe(&l, out, sizeof out);
    cr_assert_str_eq(out, "rate 100/s (burst 10, default), concurrency 4");
    l = (limit_t){.concurrency = 3};
    limit_describe(&l, out, sizeof out);
    cr_assert_str_eq(out, "concurrency 3");
    l = (limit_t){0};
    limit_describe(&l, out, sizeof out);
    cr_assert_str_eq(out, "none");
}

Test(limit_spec, burst_and_tolerance)
{
    limit_t l = {.rate_per_s = 100};
    cr_assert_float_eq(limit_burst(&l), 10, 1e-9);
    l.rate_per_s = 2;
    cr_assert_float_eq(limit_burst(&l), 1, 1e-9); /* at least one */
    l.burst = 7;
    cr_assert_float_eq(limit_burst(&l), 7, 1e-9);
    /* burst B: B slots start at once, the last (B-1) intervals ahead */
    cr_assert_eq(limit_tolerance_ms(100, 10), 90);
    cr_assert_eq(limit_tolerance_ms(2, 1), 0);
    cr_assert_eq(limit_tolerance_ms(0.5, 3), 4000);
}

Test(limit_spec, slots)
{
    int64_t s[5];
    /* empty limiter: slots from now, 10 ms apart at 100/s */
    double tat = limit_reserve(1000, 0, 100, 5, s);
    cr_assert_eq(s[0], 1000);
    cr_assert_eq(s[1], 1010);
    cr_assert_eq(s[4], 1040);
    cr_assert_float_eq(tat, 1050, 1e-9);
    /* a second batch right after continues where the first ended */
    tat = limit_reserve(1001, tat, 100, 3, s);
    cr_assert_eq(s[0], 1050);
    cr_assert_eq(s[2], 1070);
    cr_assert_float_eq(tat, 1080, 1e-9);
    /* after a quiet time the limiter starts from now again: no credit */
    tat = limit_reserve(5000, tat, 100, 1, s);
    cr_assert_eq(s[0], 5000);
    cr_assert_float_eq(tat, 5010, 1e-9);
    /* fractional intervals are kept in tat, slots round up */
    tat = limit_reserve(0, 0, 3, 4, s);
    cr_assert_eq(s[1], 334);
    cr_assert_eq(s[2], 667);
    cr_assert_eq(s[3], 1000);
    cr_assert_float_eq(tat, 4000.0 / 3, 1e-6);
    /* 1000 jobs at 100/s: the last slot is 9.99 s after the first */
    int64_t many[1000];
    limit_reserve(0, 0, 100, 1000, many);
    cr_assert_eq(many[999] - many[0], 9990);
}

Test(limit_spec, deny_backoff)
{
    uint64_t rng = 42;
    for (int i = 0; i < 200; i++) {
        uint32_t d0 = limit_deny_backoff_ms(0, &rng);
        cr_assert(d0 >= 75 && d0 <= 125, "first: %u", d0);
        uint32_t d2 = limit_deny_backoff_ms(2, &rng);
        cr_assert(d2 >= 300 && d2 <= 500, "third: %u", d2);
        uint32_t d9 = limit_deny_backoff_ms(9, &rng);
        cr_assert(d9 >= 1500 && d9 <= 2500, "capped: %u", d9);
    }
    /* jitter: not all the same */
    uint32_t a = limit_deny_backoff_ms(5, &rng), b = a;
    for (int i = 0; i < 20 && b == a; i++)
        b = limit_deny_backoff_ms(5, &rng);
    cr_assert_neq(a, b);
}
