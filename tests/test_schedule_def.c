/*
 * test_schedule_def.c - recurring jobs' pure logic: which ticks fire and
 * the next due time (schedule_plan) under the missed policy, the newest
 * tick search, names, the definition check with its flag-naming errors,
 * JSON round trip and refusal of hand-edited definitions, and local time
 * formatting.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "schedule/schedule_def.h"

#define S 1000LL
#define MIN (60 * S)
#define H (60 * MIN)
/* 2026-12-02T14:00:00Z */
#define T0 1796220000000LL

static cron_expr_t P(const char *s)
{
    cron_expr_t c;
    char err[512];
    cr_assert_eq(cron_parse(s, &c, err, sizeof err), 0, "%s: %s", s, err);
    return c;
}

Test(schedule_plan, not_due_yet_changes_nothing)
{
    cron_expr_t c = P("* * * * * *");
    schedule_plan_t p;
    schedule_plan(&c, NULL, T0 + 5 * S, T0, SCHEDULE_MISSED_SKIP,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(p.next, T0 + 5 * S);
    cr_assert_eq(p.missed, 0);
}

Test(schedule_plan, on_time_fires_the_tick_and_moves_to_the_next)
{
    cron_expr_t c = P("*/15 * * * *");
    schedule_plan_t p;
    schedule_plan(&c, NULL, T0, T0 + 120, SCHEDULE_MISSED_SKIP,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.fires[0], T0);
    cr_assert_eq(p.next, T0 + 15 * MIN);
    cr_assert_eq(p.missed, 0);
}

Test(schedule_plan, overdue_under_the_limit_fires_every_tick)
{
    cron_expr_t c = P("* * * * * *");
    schedule_plan_t p;
    /* 10 s late (a slow poll, a short outage): 11 ticks, T0..T0+10s */
    schedule_plan(&c, NULL, T0, T0 + 10 * S + 300, SCHEDULE_MISSED_SKIP,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.n, 11);
    for (size_t i = 0; i < p.n; i++)
        cr_assert_eq(p.fires[i], T0 + (int64_t)i * S);
    cr_assert_eq(p.next, T0 + 11 * S);
    cr_assert_eq(p.missed, 0);
    /* the same with once: the policy only applies past the limit */
    schedule_plan(&c, NULL, T0, T0 + 10 * S, SCHEDULE_MISSED_ONCE,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.n, 11);
    /* exactly at the limit still counts as on time */
    schedule_plan(&c, NULL, T0, T0 + 60 * S, SCHEDULE_MISSED_SKIP,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.missed, 0);
    cr_assert_eq(p.n, SCHEDULE_FIRE_BATCH < 61 ? SCHEDULE_FIRE_BATCH : 61);
}

Test(schedule_plan, a_full_batch_leaves_the_rest_due)
{
    cron_expr_t c = P("* * * * * *");
    schedule_plan_t p;
    /* 100 ticks overdue under a 120 s limit: one batch now, the rest at
     * the next poll */
    schedule_plan(&c, NULL, T0, T0 + 99 * S, SCHEDULE_MISSED_SKIP,
                  120 * S, &p);
    cr_assert_eq(p.n, SCHEDULE_FIRE_BATCH);
    cr_assert_eq(p.fires[SCHEDULE_FIRE_BATCH - 1],
                 T0 + (SCHEDULE_FIRE_BATCH - 1) * S);
    cr_assert_eq(p.next, T0 + SCHEDULE_FIRE_BATCH * S);
    schedule_plan(&c, NULL, p.next, T0 + 99 * S, SCHEDULE_MISSED_SKIP,
                  120 * S, &p);
    cr_assert_eq(p.n, 100 - SCHEDULE_FIRE_BATCH);
    cr_assert_eq(p.next, T0 + 100 * S);
}

Test(schedule_plan, missed_skip_fires_nothing_and_moves_past_now)
{
    cron_expr_t c = P("*/5 * * * *");
    schedule_plan_t p;
    int64_t now = T0 + 2 * H + 7 * MIN + 30 * S;
    schedule_plan(&c, NULL, T0, now, SCHEDULE_MISSED_SKIP,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.missed, 1);
    cr_assert_eq(p.missed_first, T0);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(p.next, T0 + 2 * H + 10 * MIN);
}

Test(schedule_plan, missed_once_fires_the_newest_missed_tick)
{
    cron_expr_t c = P("*/5 * * * *");
    schedule_plan_t p;
    int64_t now = T0 + 2 * H + 7 * MIN + 30 * S;
    schedule_plan(&c, NULL, T0, now, SCHEDULE_MISSED_ONCE,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.missed, 1);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.fires[0], T0 + 2 * H + 5 * MIN);
    cr_assert_eq(p.next, T0 + 2 * H + 10 * MIN);
    /* a per-second schedule down for 3 minutes: the tick of now itself */
    cron_expr_t sec = P("* * * * * *");
    schedule_plan(&sec, NULL, T0, T0 + 3 * MIN, SCHEDULE_MISSED_ONCE,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.fires[0], T0 + 3 * MIN);
    cr_assert_eq(p.next, T0 + 3 * MIN + S);
    /* a daily one missed for three days: yesterday's */
    cron_expr_t day = P("0 9 * * *");
    int64_t nine = T0 - 5 * H; /* 09:00Z that day */
    schedule_plan(&day, NULL, nine, nine + 3 * 24 * H + 2 * H,
                  SCHEDULE_MISSED_ONCE, SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.fires[0], nine + 3 * 24 * H);
    cr_assert_eq(p.next, nine + 4 * 24 * H);
}

Test(schedule_plan, threshold_is_the_callers)
{
    cron_expr_t c = P("* * * * * *");
    schedule_plan_t p;
    schedule_plan(&c, NULL, T0, T0 + 3 * S, SCHEDULE_MISSED_SKIP, 2 * S,
                  &p);
    cr_assert_eq(p.missed, 1);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(p.next, T0 + 4 * S);
}

Test(schedule_plan, zone_is_used)
{
    char err[512];
    jobrt_tz_t *tz = tz_load("Europe/Berlin", err, sizeof err);
    cr_assert_not_null(tz, "%s", err);
    cron_expr_t c = P("0 9 * * *");
    schedule_plan_t p;
    /* 2026-12-03 09:00 CET is 08:00Z */
    int64_t due = T0 + 18 * H;
    schedule_plan(&c, tz, due, due + 10 * S, SCHEDULE_MISSED_SKIP,
                  SCHEDULE_MISSED_MS, &p);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.next, due + 24 * H);
    char out[64];
    schedule_format_local(tz, due, out, sizeof out);
    cr_assert_str_eq(out, "2026-12-03 09:00:00+01:00");
    schedule_format_local(NULL, due, out, sizeof out);
    cr_assert_str_eq(out, "2026-12-03 08:00:00+00:00");
    tz_free(tz);
}

Test(schedule_newest_tick, search)
{
    cron_expr_t c = P("0 * * * *");
    cr_assert_eq(schedule_newest_tick(&c, NULL, T0, T0 + 5 * H + 1),
                 T0 + 5 * H);
    cr_assert_eq(schedule_newest_tick(&c, NULL, T0, T0), T0);
    /* no tick in [lo, now]: lo itself (a due time set by hand) */
    cr_assert_eq(schedule_newest_tick(&c, NULL, T0 + 1, T0 + 30 * MIN),
                 T0 + 1);
    cron_expr_t feb = P("* * * 2 *"); /* every minute of February */
    int64_t lo = 1769904000000LL;     /* 2026-02-01T00:00Z */
    cr_assert_eq(schedule_newest_tick(&feb, NULL, lo, T0),
                 1772323140000LL);    /* 2026-02-28T23:59Z */
}

Test(schedule_def, names)
{
    cr_assert(schedule_name_ok("nightly-report_2.v1:eu", 22));
    cr_assert(!schedule_name_ok("", 0));
    cr_assert(!schedule_name_ok("a b", 3));
    cr_assert(!schedule_name_ok("a/b", 3));
    cr_assert(!schedule_name_ok("{x}", 3));
    char n[80];
    memset(n, 'a', sizeof n);
    cr_assert(schedule_name_ok(n, SCHEDULE_NAME_MAX));
    cr_assert(!schedule_name_ok(n, SCHEDULE_NAME_MAX + 1));
    cr_assert_eq(schedule_missed_parse("skip"), SCHEDULE_MISSED_SKIP);
    cr_assert_eq(schedule_missed_parse("once"), SCHEDULE_MISSED_ONCE);
    cr_assert_eq(schedule_missed_parse("all"), -1);
}

static schedule_def_t good(void)
{
    schedule_def_t d;
    memset(&d, 0, sizeof d);
    strcpy(d.name, "nightly");
    strcpy(d.queue, "reports");
    strcpy(d.cron, "0 2 * * *");
    strcpy(d.tz, "Europe/Berlin");
    d.missed = SCHEDULE_MISSED_ONCE;
    strcpy(d.job, "report");
    d.version = 2;
    d.payload = "{\"kind\": \"daily\", \"n\": 1.50}";
    d.max_attempts = 3;
    d.created_at = 1700000000000LL;
    d.updated_at = 1700000001000LL;
    strcpy(d.by, "ops@host");
    return d;
}

static void refused(schedule_def_t d, const char *want)
{
    char err[1024] = "";
    cr_assert_eq(schedule_def_check(&d, err, sizeof err), -1, "accepted");
    cr_assert(strstr(err, want), "got '%s', want '%s'", err, want);
}

Test(schedule_def, check_names_the_flag)
{
    char err[1024];
    schedule_def_t d = good();
    cr_assert_eq(schedule_def_check(&d, err, sizeof err), 0, "%s", err);
    d = good();
    strcpy(d.cron, "61 * * * *");
    refused(d, "--cron: cron expression '61 * * * *': minute field");
    d = good();
    d.payload = "{\"a\":";
    refused(d, "--payload: not valid JSON");
    d = good();
    d.payload = NULL;
    refused(d, "--payload is required");
    d = good();
    strcpy(d.name, "bad name");
    refused(d, "NAME 'bad name' must be 1-64 characters");
    d = good();
    strcpy(d.job, "bad job");
    refused(d, "JOB 'bad job' is not a job name");
    d = good();
    d.max_attempts = 5000;
    refused(d, "--max-attempts");
    d = good();
    char *big = malloc(SCHEDULE_PAYLOAD_MAX + 10);
    memset(big, ' ', SCHEDULE_PAYLOAD_MAX + 9);
    big[0] = '1';
    big[SCHEDULE_PAYLOAD_MAX + 9] = '\0';
    d.payload = big;
    refused(d, "over the limit");
    free(big);
    jobrt_tz_t *tz = NULL;
    cr_assert_eq(schedule_load_tz("Mars/Olympus", &tz, err, sizeof err), -1);
    cr_assert(strncmp(err, "--tz: ", 6) == 0, "%s", err);
    cr_assert_null(tz);
    cr_assert_eq(schedule_load_tz("UTC", &tz, err, sizeof err), 0);
    cr_assert_null(tz); /* UTC needs no zone file */
}

Test(schedule_def, json_round_trip_keeps_the_payload_bytes)
{
    schedule_def_t d = good(), back;
    char *json = schedule_def_encode(&d);
    cr_assert_not_null(json);
    char err[512];
    cr_assert_eq(schedule_def_decode(json, strlen(json), &back, err,
                                     sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.name, "nightly");
    cr_assert_str_eq(back.queue, "reports");
    cr_assert_str_eq(back.cron, "0 2 * * *");
    cr_assert_str_eq(back.tz, "Europe/Berlin");
    cr_assert_eq(back.missed, SCHEDULE_MISSED_ONCE);
    cr_assert_str_eq(back.job, "report");
    cr_assert_eq(back.version, 2);
    cr_assert_str_eq(back.payload, d.payload);
    cr_assert_eq(back.max_attempts, 3);
    cr_assert_eq(back.paused, 0);
    cr_assert_eq(back.created_at, 1700000000000LL);
    cr_assert_eq(back.updated_at, 1700000001000LL);
    cr_assert_str_eq(back.by, "ops@host");
    schedule_def_free(&back);
    free(json);
}

static void undecodable(const char *json, const char *want)
{
    schedule_def_t d;
    char err[512] = "";
    cr_assert_eq(schedule_def_decode(json, strlen(json), &d, err,
                                     sizeof err), -1, "%s accepted", json);
    cr_assert(strstr(err, want), "%s: got '%s', want '%s'", json, err, want);
}

Test(schedule_def, hand_edited_definitions_are_refused)
{
    undecodable("not json", "not a JSON object");
    undecodable("[1]", "not a JSON object");
    undecodable("{\"queue\":\"q\",\"cron\":\"* * * * *\",\"job\":\"j\","
                "\"v\":1,\"payload\":\"{}\"}", "\"name\"");
    undecodable("{\"name\":\"n\",\"queue\":\"q\",\"cron\":\"* * * * *\","
                "\"job\":\"j\",\"v\":1,\"payload\":{}}", "\"payload\"");
    undecodable("{\"name\":\"n\",\"queue\":\"q\",\"cron\":\"* * * * *\","
                "\"job\":\"j\",\"v\":-1,\"payload\":\"{}\"}", "\"v\"");
    undecodable("{\"name\":\"n\",\"queue\":\"q\",\"cron\":\"* * *\","
                "\"job\":\"j\",\"v\":1,\"payload\":\"{}\"}", "--cron");
    undecodable("{\"name\":\"n\",\"queue\":\"q\",\"cron\":\"* * * * *\","
                "\"job\":\"j\",\"v\":1,\"payload\":\"{}\",\"missed\":"
                "\"all\"}", "\"missed\"");
    /* the smallest definition: defaults for the rest */
    schedule_def_t d;
    char err[512];
    const char *min = "{\"name\":\"n\",\"queue\":\"q\",\"cron\":\"* * * * *\","
                      "\"job\":\"j\",\"v\":1,\"payload\":\"{}\"}";
    cr_assert_eq(schedule_def_decode(min, strlen(min), &d, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(d.tz, "UTC");
    cr_assert_eq(d.missed, SCHEDULE_MISSED_SKIP);
    schedule_def_free(&d);
}
