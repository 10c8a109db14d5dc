/*
 * test_events.c - lifecycle events (queue/events.h): the parse of the
 * stored max len, the lines `jobrt events tail` prints (text and JSON,
 * one per job of a worker's batch entry),
 * and, on a real redis-server, what the scripts write with events on
 * (COMPLETE's started and completed entries, one per JSON array the
 * worker passes,
 * REQUEUE's retried with its
 * error cut to 200 bytes, DLQ's dead_lettered, PARK's parked, ENQUEUE's
 * enqueued, none for a duplicate) and that with events off they write
 * no events stream at all; each still before its ack.
 */
#include <criterion/criterion.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "queue/events.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

/* ---- pure parts ---------------------------------------------------------- */

Test(events, max_len_parses_only_a_number_in_range)
{
    cr_assert_eq(events_parse_max_len("10000", 5), 10000);
    cr_assert_eq(events_parse_max_len("1", 1), 1);
    cr_assert_eq(events_parse_max_len("10000000", 8), EVENTS_MAX_LEN_LIMIT);
    cr_assert_eq(events_parse_max_len("10000001", 8), 0);
    cr_assert_eq(events_parse_max_len("0", 1), 0);
    cr_assert_eq(events_parse_max_len("", 0), 0);
    cr_assert_eq(events_parse_max_len("12a", 3), 0);
    cr_assert_eq(events_parse_max_len("-5", 2), 0);
    cr_assert_eq(events_parse_max_len("9999999999", 10), 0);
    cr_assert_eq(events_parse_max_len(NULL, 3), 0);
}

#define SV(s) {s, sizeof s - 1}

static const strview_t retried[] = {
    SV("type"), SV("retried"), SV("id"), SV("j-1"), SV("job"), SV("resize"),
    SV("v"), SV("2"), SV("at"), SV("1796223624299"), SV("attempt"), SV("3"),
    SV("error"), SV("timed \"out\""), SV("worker"), SV("vm-1")};

Test(events, text_line_leads_with_time_type_id_job_version)
{
    char out[512];
    int n = events_format("1-0", retried, 16, 0, out, sizeof out);
    cr_assert_str_eq(out, "2026-12-02T15:00:24.299Z retried j-1 resize v2 "
                          "attempt=3 error=timed \"out\" worker=vm-1");
    cr_assert_eq(n, (int)strlen(out));
    /* too small: -1, never past the end */
    char small[16];
    cr_assert_eq(events_format("1-0", retried, 16, 0, small, sizeof small),
                 -1);
    cr_assert_lt(strlen(small), sizeof small);
}

Test(events, json_line_has_every_field_numbers_as_numbers)
{
    char out[512];
    int n = events_format("1-0", retried, 16, 1, out, sizeof out);
    cr_assert_gt(n, 0);
    cr_assert_str_eq(out, "{\"stream_id\":\"1-0\",\"type\":\"retried\","
                          "\"id\":\"j-1\",\"job\":\"resize\",\"v\":2,"
                          "\"at\":1796223624299,\"attempt\":3,"
                          "\"error\":\"timed \\\"out\\\"\","
                          "\"worker\":\"vm-1\"}");
    /* a v that is not a number stays a string */
    const strview_t odd[] = {SV("type"), SV("started"), SV("v"), SV("x1")};
    events_format("2-0", odd, 4, 1, out, sizeof out);
    cr_assert_str_eq(out, "{\"stream_id\":\"2-0\",\"type\":\"started\","
                          "\"v\":\"x1\"}");
}

/* events_format_each's lines: the first 8 and the last 2 kept, all
 * counted */
static char lines[8][512], tail[2][512];
static size_t n_lines;
static void collect(void *arg, const char *line)
{
    (void)arg;
    if (n_lines < 8)
        snprintf(lines[n_lines], sizeof lines[0], "%s", line);
    memcpy(tail[0], tail[1], sizeof tail[0]);
    snprintf(tail[1], sizeof tail[1], "%s", line);
    n_lines++;
}

Test(events, a_batch_entry_is_one_line_per_job)
{
    const strview_t batch[] = {
        SV("type"), SV("completed"),
        SV("jobs"), SV("[{\"id\":\"a-1\",\"job\":\"mail\",\"v\":2,"
                       "\"attempt\":1},{\"id\":\"a-2\",\"job\":\"mail\","
                       "\"v\":2,\"attempt\":3}]"),
        SV("at"), SV("1796223624299"), SV("worker"), SV("vm-1")};
    char out[512];
    n_lines = 0;
    cr_assert_eq(events_format_each("5-0", batch, 8, 0, out, sizeof out,
                                    collect, NULL), 2);
    cr_assert_str_eq(lines[0], "2026-12-02T15:00:24.299Z completed a-1 mail "
                               "v2 attempt=1 worker=vm-1");
    cr_assert_str_eq(lines[1], "2026-12-02T15:00:24.299Z completed a-2 mail "
                               "v2 attempt=3 worker=vm-1");
    n_lines = 0;
    cr_assert_eq(events_format_each("5-0", batch, 8, 1, out, sizeof out,
                                    collect, NULL), 2);
    cr_assert_str_eq(lines[1], "{\"stream_id\":\"5-0\",\"type\":\"completed\","
                               "\"id\":\"a-2\",\"job\":\"mail\",\"v\":2,"
                               "\"attempt\":3,\"at\":1796223624299,"
                               "\"worker\":\"vm-1\"}");
    /* a one-job entry: once, as it is */
    n_lines = 0;
    cr_assert_eq(events_format_each("1-0", retried, 16, 0, out, sizeof out,
                                    collect, NULL), 1);
    cr_assert_str_eq(lines[0], "2026-12-02T15:00:24.299Z retried j-1 resize "
                               "v2 attempt=3 error=timed \"out\" "
                               "worker=vm-1");
}

/* An entry no worker writes (it holds at most 128 jobs): at most 256
 * lines of jobs, then a count of what was not a job and of the rest. */
Test(events, a_batch_entry_expands_to_a_bounded_number_of_lines)
{
    static char big[64 * 1024];
    size_t len = 0;
    len += (size_t)snprintf(big + len, sizeof big - len, "[1,\"x\"");
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(big + len, sizeof big - len,
                                ",{\"id\":\"j%d\",\"job\":\"m\",\"v\":1,"
                                "\"attempt\":1}", i);
    len += (size_t)snprintf(big + len, sizeof big - len, "]");
    cr_assert_lt(len, sizeof big - 1);
    const strview_t e[] = {SV("type"), SV("completed"), SV("jobs"),
                           {big, len}, SV("worker"), SV("vm-1")};
    char out[512];
    n_lines = 0;
    cr_assert_eq(events_format_each("7-0", e, 6, 1, out, sizeof out, collect,
                                    NULL), 258);
    cr_assert_eq(n_lines, 258);
    cr_assert(strstr(lines[0], "\"id\":\"j0\"") != NULL, "%s", lines[0]);
    cr_assert_str_eq(tail[0], "{\"stream_id\":\"7-0\",\"type\":\"completed\","
                              "\"not_jobs\":2,\"worker\":\"vm-1\"}");
    cr_assert_str_eq(tail[1], "{\"stream_id\":\"7-0\",\"type\":\"completed\","
                              "\"more_jobs\":44,\"worker\":\"vm-1\"}");
}

Test(events, a_jobs_field_that_is_not_a_list_of_jobs_is_shown_as_it_is)
{
    const char *bad[] = {"not json", "{\"id\":\"x\"}", "[1,2]", "[]",
                         "[{\"job\":\"no id\"}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const strview_t e[] = {SV("type"), SV("completed"), SV("jobs"),
                               {bad[i], strlen(bad[i])}};
        char out[512];
        n_lines = 0;
        cr_assert_eq(events_format_each("1-0", e, 4, 1, out, sizeof out,
                                        collect, NULL), 1, "%s", bad[i]);
        cr_assert(strstr(lines[0], "\"jobs\":") != NULL, "%s: %s", bad[i],
                  lines[0]);
    }
}

/* ---- the scripts, on a real redis-server --------------------------------- */

static test_redis_t server;
static redisContext *rc;
static redisReply *last;
#define cmd(...) test_redis_cmd(rc, &last, __VA_ARGS__)

static redisReply *eval(const char *script, int nkeys, int nargs,
                        const char *const *args)
{
    const char *argv[64];
    char n[8];
    cr_assert_lt(nargs, 60);
    snprintf(n, sizeof n, "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = n;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    redisReply *r = test_redis_argv(rc, &last, nargs + 3, argv);
    cr_assert_neq(r->type, REDIS_REPLY_ERROR, "script error: %s",
                  r->type == REDIS_REPLY_ERROR ? r->str : "");
    return r;
}

/* Entries 1-1 (job resize v 2, id j-1, attempt 2) and 2-1 (no id),
 * read by consumer c of group g. */
static void setup(void)
{
    rc = test_redis_start(&server, "events");
    cmd("XADD s 1-1 job resize v 2 payload {} id j-1 attempt 2");
    cmd("XADD s 2-1 job ok v 1 payload {}");
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS s >");
}

static void teardown(void)
{
    if (rc)
        redisFree(rc);
    rc = NULL;
    test_redis_stop(&server);
}

/* The value of field name of event i (0: the oldest) of stream "ev". */
static char got[512];
static const char *ev_field(size_t i, const char *name)
{
    redisReply *r = cmd("XRANGE ev - +");
    cr_assert_lt(i, r->elements, "event %zu of %zu", i, r->elements);
    const redisReply *f = r->element[i]->element[1];
    for (size_t k = 0; k + 1 < f->elements; k += 2)
        if (strcmp(f->element[k]->str, name) == 0) {
            snprintf(got, sizeof got, "%s", f->element[k + 1]->str);
            return got;
        }
    return "(none)";
}

static long long count(const char *c, const char *key)
{
    return cmd("%s %s", c, key)->integer;
}

Test(event_scripts, complete_writes_started_then_completed_before_the_ack)
{
    setup();
    /* 2 ids, no records; events: max len 100, worker w1, 1 started
     * entry, 2 completed entries (the second "[]": skipped), each a JSON
     * array of jobs */
    const char *started = "[{\"id\":\"j-1\",\"job\":\"resize\",\"v\":2,"
                          "\"attempt\":2}]";
    const char *completed = "[{\"id\":\"j-1\",\"job\":\"resize\",\"v\":2,"
                            "\"attempt\":2},{\"id\":\"2-1\",\"job\":\"ok\","
                            "\"v\":1,\"attempt\":1}]";
    const char *args[] = {"s", "b", "b:builds", "idx", "ev", "g", "2000000000",
                          "2000000100", "2000000200", "2000000050", "2", "1-1", "2-1", "0", "0",
                          "100", "w1", "1", started, "2", completed, "[]"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_COMPLETE], 5, 22, args)->integer,
                 2);
    cr_assert_eq(count("EXISTS", "idx"), 0, "no records: no bucket");
    cr_assert_eq(count("XLEN", "ev"), 2, "one entry per array");
    cr_assert_str_eq(ev_field(0, "type"), "started");
    cr_assert_str_eq(ev_field(0, "jobs"), started);
    cr_assert_str_eq(ev_field(0, "worker"), "w1");
    cr_assert_str_eq(ev_field(1, "type"), "completed");
    cr_assert_str_eq(ev_field(1, "jobs"), completed);
    cr_assert_str_eq(ev_field(1, "at"), ev_field(0, "at"), "one clock read");
    cr_assert_str_eq(ev_field(1, "id"), "(none)");
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 0, "acked");
    /* started events alone (n = 0): nothing acked */
    const char *only[] = {"s", "b", "b:builds", "idx", "ev", "g", "2000000000",
                          "2000000100", "2000000200", "2000000050", "0", "0", "0", "100", "w1", "1",
                          "[{\"id\":\"j-9\",\"job\":\"ok\",\"v\":1,"
                          "\"attempt\":1}]", "0"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_COMPLETE], 5, 18, only)->integer,
                 0);
    cr_assert_eq(count("XLEN", "ev"), 3);
    cr_assert(strstr(ev_field(2, "jobs"), "\"j-9\"") != NULL);
    teardown();
}

Test(event_scripts, complete_with_records_and_events_writes_both)
{
    setup();
    const char *args[] = {"s", "b", "b:builds", "idx", "ev", "g", "2000000000",
                          "2000000100", "2000000200", "2000000050", "1", "1-1", "1", "j-1",
                          "[1]{\"ok\":1}", "0", "100", "w1", "0", "1",
                          "[{\"id\":\"j-1\",\"job\":\"resize\",\"v\":2,"
                          "\"attempt\":2}]"};
    eval(queue_scripts[SCRIPT_COMPLETE], 5, 21, args);
    cr_assert_str_eq(cmd("HGET b j-1")->str, "[1]{\"ok\":1}");
    cr_assert_eq(count("XLEN", "ev"), 1);
    cr_assert_str_eq(ev_field(0, "type"), "completed");
    cr_assert(strstr(ev_field(0, "jobs"), "\"j-1\"") != NULL);
    teardown();
}

Test(event_scripts, scripts_with_events_off_write_no_stream)
{
    setup();
    const char *c[] = {"s", "b", "b:builds", "idx", "g", "2000000000",
                       "2000000100", "2000000200", "2000000050", "1", "1-1", "1", "j-1", "[1]", "0"};
    eval(queue_scripts[SCRIPT_COMPLETE], 4, 15, c);
    const char *d[] = {"s", "d", "g", "2-1", "poison", "boom", "w1", "5",
                       "100"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_DLQ], 2, 9, d)->integer, 1);
    cr_assert_eq(count("EXISTS", "ev"), 0);
    cr_assert_eq(count("XLEN", "d"), 1);
    teardown();
}

Test(event_scripts, requeue_writes_retried_with_the_error_cut)
{
    setup();
    char err[400];
    memset(err, 'e', sizeof err - 1);
    err[sizeof err - 1] = '\0';
    const char *args[] = {"s", "z", "ev", "g", "1-1", "500", "0",
                          "job", "resize", "v", "2", "payload", "{}",
                          "id", "j-1", "attempt", "3", "last_error", err,
                          "100", "w1"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_REQUEUE], 3, 21, args)->integer,
                 1);
    cr_assert_eq(count("ZCARD", "z"), 1, "delayed");
    cr_assert_eq(count("XLEN", "ev"), 1);
    cr_assert_str_eq(ev_field(0, "type"), "retried");
    cr_assert_str_eq(ev_field(0, "attempt"), "3");
    cr_assert_str_eq(ev_field(0, "delay_ms"), "500");
    cr_assert_eq(strlen(ev_field(0, "error")), EVENTS_ERROR_MAX);
    /* the new entry has exactly the fields, not the events block */
    redisReply *m = cmd("ZRANGE z 0 -1");
    cr_assert_eq(m->elements, 1);
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 1, "2-1 left");
    teardown();
}

Test(event_scripts, dlq_writes_dead_lettered_with_its_reason)
{
    setup();
    const char *args[] = {"s", "d", "ev", "g", "1-1", "permanent_failure",
                          "bad input", "w1", "5", "100", "", "", "100"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_DLQ], 3, 13, args)->integer, 1);
    cr_assert_eq(count("XLEN", "d"), 1);
    cr_assert_eq(count("EXISTS", "ev"), 1);
    cr_assert_str_eq(ev_field(0, "type"), "dead_lettered");
    cr_assert_str_eq(ev_field(0, "reason"), "permanent_failure");
    cr_assert_str_eq(ev_field(0, "error"), "bad input");
    cr_assert_str_eq(ev_field(0, "id"), "j-1");
    cr_assert_eq(cmd("XRANGE s 1-1 1-1")->elements, 0, "deleted");
    /* with a record too */
    const char *rec[] = {"s", "d", "rec", "ev", "g", "2-1", "timeout", "",
                         "w1", "5", "100", "{}", "60", "100"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_DLQ], 4, 14, rec)->integer, 1);
    cr_assert_str_eq(cmd("GET rec")->str, "{}");
    cr_assert_str_eq(ev_field(1, "reason"), "timeout");
    teardown();
}

Test(event_scripts, park_writes_parked)
{
    setup();
    const char *args[] = {"s", "d", "ev", "g", "c", "1-1", "parked:resize:v2",
                          "1024", "no_handler", "nobody serves it", "5",
                          "100", "100"};
    cr_assert_eq(eval(queue_scripts[SCRIPT_PARK], 3, 13, args)->integer, 1);
    cr_assert_str_eq(ev_field(0, "type"), "parked");
    cr_assert_str_eq(ev_field(0, "reason"), "no_handler");
    cr_assert_str_eq(ev_field(0, "worker"), "c");
    redisReply *p = cmd("XPENDING s g - + 10 parked:resize:v2");
    cr_assert_eq(p->elements, 1, "held by the pseudo-consumer");
    teardown();
}

Test(event_scripts, enqueue_writes_enqueued_but_not_for_a_duplicate)
{
    setup();
    /* no idempotency key (window 0), events stream as KEYS[4] */
    const char *a[] = {"q", "qz", "seq", "ev", "0", "0", "0", "e-1",
                       "job", "ok", "v", "1", "payload", "{}", "id", "e-1",
                       "100"};
    cr_assert_eq(eval(queue_script_enqueue, 4, 17, a)->element[0]->integer,
                 1);
    cr_assert_eq(count("XLEN", "q"), 1);
    cr_assert_str_eq(ev_field(0, "type"), "enqueued");
    cr_assert_str_eq(ev_field(0, "id"), "e-1");
    cr_assert_str_eq(ev_field(0, "job"), "ok");
    /* the job's entry has its fields only, not the max len */
    cr_assert_eq(cmd("XRANGE q - +")->element[0]->element[1]->elements, 8);
    /* with a key and a delay: due_ms; then a duplicate writes nothing */
    const char *b[] = {"q", "qz", "seq", "idem", "ev", "60000", "0",
                       "86400000", "e-2", "job", "ok", "v", "1", "payload",
                       "{}", "id", "e-2", "100"};
    cr_assert_eq(eval(queue_script_enqueue, 5, 18, b)->element[0]->integer,
                 1);
    cr_assert_eq(count("ZCARD", "qz"), 1);
    cr_assert_str_neq(ev_field(1, "due_ms"), "(none)");
    cr_assert_eq(eval(queue_script_enqueue, 5, 18, b)->element[0]->integer,
                 0);
    cr_assert_eq(count("XLEN", "ev"), 2);
    /* the old form (key, window, no events) still works */
    const char *c[] = {"q", "qz", "seq", "idem3", "0", "0", "1000", "e-3",
                       "job", "ok", "v", "1", "payload", "{}", "id", "e-3"};
    cr_assert_eq(eval(queue_script_enqueue, 4, 16, c)->element[0]->integer,
                 1);
    cr_assert_eq(count("EXISTS", "idem3"), 1);
    cr_assert_eq(count("XLEN", "ev"), 2);
    teardown();
}
