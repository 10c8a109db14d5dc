/*
 * test_cron.c - cron expressions: every syntax form, every error and its
 * message, next-fire cases in UTC, and DST in Europe/Berlin and
 * America/New_York in both directions (see the rules in cron.h).
 */
#include <criterion/criterion.h>

#include <string.h>

#include "schedule/cron.h"

static cron_expr_t P(const char *s)
{
    cron_expr_t c;
    char err[512];
    cr_assert_eq(cron_parse(s, &c, err, sizeof err), 0, "%s: %s", s, err);
    return c;
}

static void bad(const char *s, const char *want)
{
    cron_expr_t c;
    char err[512] = "";
    cr_assert_eq(cron_parse(s, &c, err, sizeof err), -1, "%s accepted", s);
    cr_assert(strstr(err, want), "%s: got '%s', want '%s'", s, err, want);
}

/* UTC instant in seconds from a civil UTC time */
static int64_t U(int y, int mo, int d, int h, int mi, int s)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

Test(cron, parse_forms)
{
    cron_expr_t c = P("*/5 * * * *");
    cr_assert_eq(c.sec, 1);
    cr_assert_eq(c.min, 0x084210842108421ull);
    cr_assert_eq(c.hour, 0xffffff);
    c = P("1-3,10 0 1 JAN,mar-May sun,SAT");
    cr_assert_eq(c.min, 0xeull | 1ull << 10);
    cr_assert_eq(c.mon, 1 << 1 | 1 << 3 | 1 << 4 | 1 << 5);
    cr_assert_eq(c.dow, 1 | 1 << 6);
    cr_assert_eq(c.flags, 0);
    c = P("30/10 * * * * 7");
    cr_assert_eq(c.sec, 1ull << 30 | 1ull << 40 | 1ull << 50);
    cr_assert_eq(c.dow, 1);
    c = P("0 10-20/5 * * 5-7");
    cr_assert_eq(c.hour, 1 << 10 | 1 << 15 | 1 << 20);
    cr_assert_eq(c.dow, 1 | 1 << 5 | 1 << 6);
    cr_assert_eq(c.flags, CRON_DOM_STAR);
    c = P("  0\t0  *  *  MON-FRI  ");
    cr_assert_eq(c.dow, 0x3e);
}

Test(cron, parse_errors)
{
    bad("*/0 * * * *", "cron expression '*/0 * * * *': minute field: "
                       "'*/0': step 0 is not allowed");
    bad("* * * *", "4 fields, expected 5 or 6");
    bad("* * * * * * *", "7 fields, expected 5 or 6");
    bad("", "0 fields");
    bad("60 * * * *", "minute field: '60': value out of range 0-59");
    bad("* 24 * * *", "hour field: '24'");
    bad("* * 0 * *", "day-of-month field: '0'");
    bad("* * 32 * *", "day-of-month field");
    bad("* * * 13 *", "month field: '13'");
    bad("* * * * 8", "day-of-week field: '8'");
    bad("61 * * * * *", "second field: '61'");
    bad("-1 * * * *", "minute field: '-1': bad token");
    bad("1,,2 * * * *", "minute field: empty list item");
    bad("1, * * * *", "empty list item");
    bad("5x * * * *", "'5x': bad token");
    bad("* * * FOO *", "month field: 'FOO': bad token");
    bad("* * * JANUARY *", "bad token");
    bad("5-2 * * * *", "'5-2': range is reversed");
    bad("*/ * * * *", "bad token");
    bad("*/99 * * * *", "step 99 out of range 1-60");
    bad("1-/2 * * * *", "bad token");
    bad("00000001 * * * *", "out of range");
    bad("* * * * \x01", "control character");
    char longx[400];
    memset(longx, '1', sizeof longx - 1);
    longx[sizeof longx - 1] = '\0';
    bad(longx, "too long");
}

static void next_is(const char *e, int64_t after_s, int64_t want_s)
{
    cron_expr_t c = P(e);
    int64_t got = cron_next(&c, NULL, after_s * 1000);
    cr_assert_eq(got, want_s * 1000, "%s after %lld: %lld, want %lld", e,
                 (long long)after_s, (long long)got, (long long)want_s * 1000);
}

Test(cron, next_utc)
{
    int64_t t = U(2025, 6, 10, 12, 3, 7);
    next_is("*/5 * * * *", t, U(2025, 6, 10, 12, 5, 0));
    next_is("*/5 * * * *", U(2025, 6, 10, 12, 5, 0), U(2025, 6, 10, 12, 10, 0));
    next_is("* * * * * *", t, t + 1);
    next_is("*/10 * * * * *", t, U(2025, 6, 10, 12, 3, 10));
    next_is("0 9-17 * * MON-FRI", U(2025, 6, 13, 17, 0, 0),
            U(2025, 6, 16, 9, 0, 0)); /* Friday 17:00 -> Monday 9:00 */
    next_is("0 0 1,15 * *", t, U(2025, 6, 15, 0, 0, 0));
    next_is("0 0 1 JAN *", t, U(2026, 1, 1, 0, 0, 0)); /* year rollover */
    next_is("0 0 31 * *", U(2025, 4, 1, 0, 0, 0), U(2025, 5, 31, 0, 0, 0));
    next_is("0 0 29 2 *", t, U(2028, 2, 29, 0, 0, 0)); /* leap years */
    /* 2100 is not a leap year: 2104 is beyond the 5-year horizon */
    cron_expr_t c = P("0 0 29 2 *");
    cr_assert_eq(cron_next(&c, NULL, U(2096, 3, 1, 0, 0, 0) * 1000), -1);
}

Test(cron, next_none_and_vixie)
{
    cron_expr_t c = P("0 0 30 2 *");
    cr_assert_eq(cron_next(&c, NULL, U(2025, 1, 1, 0, 0, 0) * 1000), -1);
    /* Vixie: 13th OR Friday */
    next_is("0 0 13 * FRI", U(2025, 6, 1, 0, 0, 0), U(2025, 6, 6, 0, 0, 0));
    next_is("0 0 13 * FRI", U(2025, 6, 12, 0, 0, 0), U(2025, 6, 13, 0, 0, 0));
    next_is("0 0 13 * FRI", U(2025, 6, 13, 0, 0, 0), U(2025, 6, 20, 0, 0, 0));
    /* dom '*': day-of-week alone decides */
    next_is("0 0 * * SUN", U(2025, 6, 10, 0, 0, 0), U(2025, 6, 15, 0, 0, 0));
    /* milliseconds: strictly after */
    c = P("* * * * * *");
    cr_assert_eq(cron_next(&c, NULL, 1000), 2000);
    cr_assert_eq(cron_next(&c, NULL, 1999), 2000);
    cr_assert_eq(cron_next(&c, NULL, -1), 0);
}

/* ---- DST ---- */

static jobrt_tz_t *zone(const char *n)
{
    char err[256];
    jobrt_tz_t *tz = tz_load(n, err, sizeof err);
    cr_assert(tz, "%s", err);
    return tz;
}

/* all fire times of e in (from, to], in UTC seconds */
static int fires(const char *e, const jobrt_tz_t *tz, int64_t from,
                 int64_t to, int64_t *out, int cap)
{
    cron_expr_t c = P(e);
    int n = 0;
    int64_t t = from * 1000;
    while ((t = cron_next(&c, tz, t)) != -1 && t / 1000 <= to) {
        cr_assert(n < cap);
        out[n++] = t / 1000;
    }
    return n;
}

static void dst_checks(const char *name, int64_t spring, int64_t fall,
                       const char *repeated)
{
    /* spring, fall: the UTC instants of the changes (02:00 local) */
    jobrt_tz_t *tz = zone(name);
    static int64_t f[20000];
    int n;
    /* '30 2 * * *' spring: fires once at 03:00 (the gap's end) */
    n = fires("30 2 * * *", tz, spring - 86400, spring + 3600, f, 10);
    cr_assert_eq(n, 2);
    cr_assert_eq(f[0], spring - 86400 + 1800);
    cr_assert_eq(f[1], spring);
    /* fall: the repeated hour's :30 happens twice, fires at the first */
    n = fires(repeated, tz, fall - 3 * 3600, fall + 86400 - 3600, f, 10);
    cr_assert_eq(n, 1);
    cr_assert_eq(f[0], fall - 1800);
    /* '0 * * * *': every real hour, both ways */
    n = fires("0 * * * *", tz, spring - 3 * 3600, spring + 3 * 3600, f, 20);
    cr_assert_eq(n, 6);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f[i], spring - 2 * 3600 + i * 3600);
    n = fires("0 * * * *", tz, fall - 3 * 3600, fall + 3 * 3600, f, 20);
    cr_assert_eq(n, 6);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f[i], fall - 2 * 3600 + i * 3600);
    /* '*' /15: every 15 real minutes */
    n = fires("*/15 * * * *", tz, spring - 3600, spring + 3600, f, 20);
    cr_assert_eq(n, 8);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f[i], spring - 3600 + 900 + i * 900);
    n = fires("*/15 * * * *", tz, fall - 3600, fall + 3600, f, 20);
    cr_assert_eq(n, 8);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f[i], fall - 3600 + 900 + i * 900);
    /* every real second across both changes */
    n = fires("* * * * * *", tz, spring - 3000, spring + 3000, f, 20000);
    cr_assert_eq(n, 6000);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f[i], spring - 2999 + i);
    n = fires("* * * * * *", tz, fall - 5000, fall + 5000, f, 20000);
    cr_assert_eq(n, 10000);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f[i], fall - 4999 + i);
    tz_free(tz);
}

Test(cron, dst_berlin)
{
    /* 2025-03-30 01:00Z (02:00 CET -> 03:00 CEST); 2025-10-26 01:00Z */
    dst_checks("Europe/Berlin", U(2025, 3, 30, 1, 0, 0),
               U(2025, 10, 26, 1, 0, 0), "30 2 * * *");
    /* a far future year: the footer rule */
    dst_checks("Europe/Berlin", U(2040, 3, 25, 1, 0, 0),
               U(2040, 10, 28, 1, 0, 0), "30 2 * * *");
}

Test(cron, dst_new_york)
{
    /* 2025-03-09 07:00Z (02:00 EST); 2025-11-02 06:00Z (02:00 EDT ->
     * 01:00 EST: 01:xx repeats) */
    dst_checks("America/New_York", U(2025, 3, 9, 7, 0, 0),
               U(2025, 11, 2, 6, 0, 0), "30 1 * * *");
}

Test(cron, local_time_in_zone)
{
    jobrt_tz_t *tz = zone("Asia/Kolkata");
    cron_expr_t c = P("0 9 * * *");
    cr_assert_eq(cron_next(&c, tz, U(2025, 1, 1, 0, 0, 0) * 1000),
                 U(2025, 1, 1, 3, 30, 0) * 1000);
    tz_free(tz);
}
