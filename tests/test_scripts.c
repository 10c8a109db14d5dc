/*
 * test_scripts.c - the queue's Lua scripts run on a real redis-server
 * (started per test on a private unix socket): where TRIM cuts the
 * stream, that it never deletes a pending or undelivered entry, that an
 * idle stream ends empty, that REQUEUE adds the new entry exactly once,
 * now or delayed; that every script that moves an entry (REQUEUE, DLQ,
 * RELEASE, PROMOTE, RECLAIM, COMPLETE, DLQ_RETRY) leaves it in exactly
 * one place, even with 5 000 field pairs, when a write fails midway or
 * when it is sent again; and that CANCEL gives every id its own score.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/envelope.h"
#include "queue/dlq.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

static test_redis_t server;
static redisContext *rc;

static void start_redis(void) { rc = test_redis_start(&server, "scripts"); }

static void stop_redis(void)
{
    if (rc)
        redisFree(rc);
    rc = NULL;
    test_redis_stop(&server);
}

/* Runs a command; the reply is freed by the next call. */
static redisReply *last;
#define cmd(...) test_redis_cmd(rc, &last, __VA_ARGS__)

static redisReply *eval_argv(const char *script, int nkeys, int nargs,
                             const char *const *args)
{
    const char *argv[32];
    char n[8];
    cr_assert_lt(nargs, 29);
    snprintf(n, sizeof n, "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = n;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    return test_redis_argv(rc, &last, nargs + 3, argv);
}

/* TRIM on stream "s" for group "g" with the given stale ids; returns the
 * cut point it answered. */
static const char *trim(int n_stale, const char *const *stale)
{
    const char *args[16] = {"s", "g"};
    cr_assert_lt(n_stale, 14);
    for (int i = 0; i < n_stale; i++)
        args[2 + i] = stale[i];
    redisReply *r = eval_argv(queue_scripts[SCRIPT_TRIM], 1, 2 + n_stale,
                              args);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    return r->str;
}

static int exists(const char *id)
{
    return cmd("XRANGE s %s %s", id, id)->elements == 1;
}

/* Entries 1-1 .. 10-1; group g reads the first `read`, acks `acked`. */
static void setup_stream(int read, const char *const *acked, int n_acked)
{
    for (int i = 1; i <= 10; i++)
        cmd("XADD s %d-1 job noop v 1 payload {}", i);
    cmd("XGROUP CREATE s g 0");
    if (read)
        cmd("XREADGROUP GROUP g c COUNT %d STREAMS s >", read);
    for (int i = 0; i < n_acked; i++)
        cr_assert_eq(cmd("XACK s g %s", acked[i])->integer, 1);
}

Test(queue_scripts, trim_cuts_below_the_oldest_pending_entry)
{
    start_redis();
    const char *acked[] = {"1-1", "2-1", "4-1", "5-1"};
    setup_stream(6, acked, 4); /* 3-1 and 6-1 pending, 7..10 undelivered */
    cr_assert_str_eq(trim(0, NULL), "3-1");
    cr_assert_eq(cmd("XLEN s")->integer, 8);
    cr_assert(!exists("1-1") && !exists("2-1"));
    cr_assert(exists("3-1") && exists("4-1"), "the cut is below 3-1 only");
    stop_redis();
}

Test(queue_scripts, stale_ids_go_unless_still_pending)
{
    start_redis();
    const char *acked[] = {"1-1", "2-1", "4-1", "5-1"};
    setup_stream(6, acked, 4);
    /* 6-1 is still pending (say its ack failed): it must stay */
    const char *stale[] = {"4-1", "5-1", "6-1", "2-1"};
    cr_assert_str_eq(trim(4, stale), "3-1");
    cr_assert(!exists("4-1") && !exists("5-1"));
    cr_assert(exists("3-1") && exists("6-1"), "pending entries stay");
    for (int i = 7; i <= 10; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d-1", i);
        cr_assert(exists(id), "undelivered %s stays", id);
    }
    cr_assert_eq(cmd("XLEN s")->integer, 6);
    stop_redis();
}

Test(queue_scripts, an_idle_stream_ends_empty_and_new_entries_stay)
{
    start_redis();
    setup_stream(10, NULL, 0);
    for (int i = 1; i <= 10; i++)
        cmd("XACK s g %d-1", i);
    cr_assert_str_eq(trim(0, NULL), "10-1");
    cr_assert_eq(cmd("XLEN s")->integer, 0);
    cmd("XADD s 11-1 job noop v 1 payload {}");
    cr_assert_str_eq(trim(0, NULL), "10-1");
    cr_assert(exists("11-1"), "an entry not yet delivered stays");
    cr_assert_eq(cmd("XLEN s")->integer, 1);
    stop_redis();
}

Test(queue_scripts, a_group_that_read_nothing_blocks_the_cut_only)
{
    start_redis();
    const char *acked[] = {"1-1", "2-1", "3-1"};
    setup_stream(3, acked, 3);
    cmd("XGROUP CREATE s other 0");
    const char *stale[] = {"2-1"};
    cr_assert_str_eq(trim(1, stale), "", "no cut below another group");
    cr_assert(exists("1-1") && exists("3-1"));
    cr_assert(!exists("2-1"), "stale ids are still deleted");
    stop_redis();
}

Test(queue_scripts, trim_of_a_missing_stream_does_nothing)
{
    start_redis();
    const char *stale[] = {"1-1"};
    cr_assert_str_eq(trim(1, stale), "");
    cr_assert_eq(cmd("EXISTS s")->integer, 0);
    stop_redis();
}

Test(queue_scripts, requeue_adds_the_new_entry_once)
{
    start_redis();
    cmd("XADD s 1-1 job retry v 1 payload {} id a");
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    const char *now[] = {"s", "z", "g", "1-1", "0", "0", "job", "retry",
                         "v", "1", "payload", "{}", "id", "a", "attempt",
                         "2", "last_error", "boom"};
    cr_assert_eq(eval_argv(queue_scripts[SCRIPT_REQUEUE], 2, 18, now)->integer,
                 1);
    redisReply *r = cmd("XRANGE s (1-1 +");
    cr_assert_eq(r->elements, 1, "one new entry at the tail");
    redisReply *f = r->element[0]->element[1];
    cr_assert_eq(f->elements, 12);
    cr_assert_str_eq(f->element[9]->str, "2");
    cr_assert_str_eq(f->element[11]->str, "boom");
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 0, "acked");
    /* a resend after a lost reply adds nothing */
    cr_assert_eq(eval_argv(queue_scripts[SCRIPT_REQUEUE], 2, 18, now)->integer,
                 0);
    cr_assert_eq(cmd("XLEN s")->integer, 2, "old (until trimmed) + new");

    /* delayed: into the sorted set, due about 60 s from now */
    cmd("XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    const char *new_id = cmd("XRANGE s (1-1 +")->element[0]->element[0]->str;
    char id[48];
    snprintf(id, sizeof id, "%s", new_id);
    const char *later[] = {"s", "z", "g", id, "60000", "0", "job", "retry",
                           "v", "1", "payload", "{}", "id", "a"};
    cr_assert_eq(
        eval_argv(queue_scripts[SCRIPT_REQUEUE], 2, 14, later)->integer, 1);
    cr_assert_eq(cmd("ZCARD z")->integer, 1);
    cr_assert_eq(cmd("XLEN s")->integer, 2, "nothing new in the stream");
    stop_redis();
}

/* ---- entries with many fields ------------------------------------------- */

#define BIG_PAIRS 5000 /* far over ENVELOPE_MAX_FIELDS, and over what one
                          Lua call can take as values (about 8 000) */

/* Runs EVAL with any number of arguments; an error reply is allowed only
 * when want_error is set (and then required). */
static redisReply *evalv(int want_error, const char *script, int nkeys,
                         int argc, const char *const *args)
{
    const char **argv = malloc((size_t)(argc + 3) * sizeof *argv);
    cr_assert_not_null(argv);
    char n[8];
    snprintf(n, sizeof n, "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = n;
    memcpy(argv + 3, args, (size_t)argc * sizeof *argv);
    freeReplyObject(last);
    last = redisCommandArgv(rc, argc + 3, argv, NULL);
    free(argv);
    cr_assert_not_null(last, "connection to redis-server lost");
    if (want_error)
        cr_assert_eq(last->type, REDIS_REPLY_ERROR, "expected an error");
    else
        cr_assert_neq(last->type, REDIS_REPLY_ERROR, "%s", last->str);
    return last;
}

/* XADD key id job JOB v 1 payload {} f3 v3 f4 v4 ...: `pairs` pairs. */
static void add_entry_of(const char *key, const char *id, const char *job,
                         int pairs)
{
    static char names[BIG_PAIRS][16], values[BIG_PAIRS][16];
    static const char *argv[3 + 2 * BIG_PAIRS];
    int n = 0;
    argv[n++] = "XADD";
    argv[n++] = key;
    argv[n++] = id;
    const char *head[] = {"job", job, "v", "1", "payload", "{}"};
    for (int i = 0; i < 6; i++)
        argv[n++] = head[i];
    for (int i = 3; i < pairs; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        snprintf(values[i], sizeof values[i], "v%d", i);
        argv[n++] = names[i];
        argv[n++] = values[i];
    }
    redisReply *r = redisCommandArgv(rc, n, argv, NULL);
    cr_assert(r && r->type == REDIS_REPLY_STRING, "XADD of a big entry");
    freeReplyObject(r);
}

static void add_big_entry(const char *key, const char *id, const char *job)
{
    add_entry_of(key, id, job, BIG_PAIRS);
}

/* The XRANGE reply for one entry (the caller frees it), NULL if absent. */
static redisReply *fetch(const char *key, const char *id)
{
    redisReply *r = redisCommand(rc, "XRANGE %s %s %s", key, id, id);
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    if (r->elements == 1)
        return r;
    freeReplyObject(r);
    return NULL;
}

/* The field list of entry e of an XRANGE reply. */
static const redisReply *fields(const redisReply *r)
{
    return r->element[0]->element[1];
}

static int is_pending(const char *id)
{
    return cmd("XPENDING s g %s %s 1", id, id)->elements == 1;
}

static long long count(const char *what, const char *key)
{
    return cmd("%s %s", what, key)->integer;
}

/* The newest dead letter in d, as an XRANGE-style reply (caller frees). */
static redisReply *newest_dead_letter(void)
{
    redisReply *r = redisCommand(rc, "XREVRANGE d + - COUNT 1");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1,
              "a dead letter in d");
    return r;
}

static void assert_field(const redisReply *r, const char *name,
                         const char *want)
{
    const redisReply *v = dlq_field(r->element[0], name);
    cr_assert_not_null(v, "no field %s", name);
    cr_assert(dlq_value_is(v, want), "%s is '%s', not '%s'", name, v->str,
              want);
}

/* The value of the first field `name` of a field list, or NULL. */
static const redisReply *first_value(const redisReply *list, const char *name)
{
    for (size_t i = 0; i + 1 < list->elements; i += 2)
        if (strcmp(list->element[i]->str, name) == 0)
            return list->element[i + 1];
    return NULL;
}

/* The dead letter holds exactly the original field list, as netstrings in
 * dlq_fields, and nothing else but dlq_* fields and copies of the
 * original's first id, job and v (for listing and finding it). */
static void assert_encoded(const redisReply *dead, const redisReply *orig)
{
    const redisReply *f = fields(dead);
    for (size_t i = 0; i < f->elements; i += 2) {
        const char *k = f->element[i]->str;
        if (strncmp(k, "dlq_", 4) == 0)
            continue;
        cr_assert(strcmp(k, "id") == 0 || strcmp(k, "job") == 0 ||
                      strcmp(k, "v") == 0,
                  "field %s outside dlq_*, id, job and v", k);
        const redisReply *o = first_value(orig, k);
        cr_assert_not_null(o, "%s is copied but the entry has none", k);
        cr_assert_str_eq(f->element[i + 1]->str, o->str, "copy of %s", k);
    }
    const redisReply *v = dlq_field(dead->element[0], DLQ_FIELD_ENCODED);
    cr_assert_not_null(v, "no " DLQ_FIELD_ENCODED);
    /* the documented form, checked without the decoder */
    cr_assert_eq(strncmp(v->str, "3:job,", 6), 0, "starts %.20s", v->str);
    cr_assert_eq(dlq_count_netstrings(v->str, v->len),
                 (long)orig->elements);
    const char *p = v->str, *end = v->str + v->len;
    for (size_t i = 0; i < orig->elements; i++) {
        strview_t s;
        cr_assert_eq(dlq_next_netstring(&p, end, &s), 1);
        cr_assert(s.len == orig->element[i]->len &&
                  memcmp(s.ptr, orig->element[i]->str, s.len) == 0,
                  "string %zu differs", i);
    }
}

/* Entry 1-1 of s, with BIG_PAIRS pairs, delivered to consumer c of g. */
static redisReply *pending_big_entry(const char *job)
{
    add_big_entry("s", "1-1", job);
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS s >");
    cr_assert(is_pending("1-1"));
    return fetch("s", "1-1");
}

Test(queue_scripts, requeue_over_the_field_limit_changes_nothing)
{
    start_redis();
    redisReply *orig = pending_big_entry("retry");
    const redisReply *f = fields(orig);
    int argc = 6 + (int)f->elements;
    const char **args = malloc((size_t)argc * sizeof *args);
    cr_assert_not_null(args);
    const char *head[] = {"s", "z", "g", "1-1", "0", "0"};
    memcpy(args, head, sizeof head);
    for (size_t i = 0; i < f->elements; i++)
        args[6 + i] = f->element[i]->str;
    redisReply *r = evalv(1, queue_scripts[SCRIPT_REQUEUE], 2, argc, args);
    cr_assert(strstr(r->str, "over the limit"), "%s", r->str);
    cr_assert(is_pending("1-1"), "the entry stays pending");
    cr_assert_eq(count("XLEN", "s"), 1, "nothing added");
    cr_assert_eq(count("ZCARD", "z"), 0);
    free(args);
    freeReplyObject(orig);
    stop_redis();
}

Test(queue_scripts, an_entry_at_the_limit_is_retried_with_jobrt_fields)
{
    start_redis();
    add_entry_of("s", "1-1", "retry", ENVELOPE_MAX_FIELDS);
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    redisReply *orig = fetch("s", "1-1");
    const redisReply *f = fields(orig);
    /* the worker adds id, attempt and last_error */
    const char *head[] = {"s", "z", "g", "1-1", "60000", "0"};
    const char *tail[] = {"id", "a", "attempt", "2", "last_error", "boom"};
    int argc = 6 + (int)f->elements + 6;
    const char **args = malloc((size_t)argc * sizeof *args);
    cr_assert_not_null(args);
    memcpy(args, head, sizeof head);
    for (size_t i = 0; i < f->elements; i++)
        args[6 + i] = f->element[i]->str;
    memcpy(args + 6 + f->elements, tail, sizeof tail);
    cr_assert_eq(evalv(0, queue_scripts[SCRIPT_REQUEUE], 2, argc,
                       args)->integer, 1);
    /* due now: PROMOTE re-adds it as it is */
    redisReply *m = redisCommand(rc, "ZRANGE z 0 0");
    cr_assert(m && m->elements == 1);
    cmd("ZADD z XX 0 %b", m->element[0]->str, m->element[0]->len);
    freeReplyObject(m);
    redisReply *r = evalv(0, queue_scripts[SCRIPT_PROMOTE], 3, 6,
                          (const char *const[]){"s", "z", "d", "500", "w1",
                                                "1000"});
    cr_assert_eq(r->element[0]->integer, 1);
    cr_assert_eq(r->element[2]->integer, 0, "nothing dead-lettered");
    r = cmd("XRANGE s (1-1 +");
    cr_assert_eq(r->elements, 1);
    cr_assert_eq(r->element[0]->element[1]->elements,
                 (size_t)2 * (ENVELOPE_MAX_FIELDS + 3));
    cr_assert_eq(count("EXISTS", "d"), 0);
    free(args);
    freeReplyObject(orig);
    stop_redis();
}

Test(queue_scripts, requeue_that_fails_midway_keeps_the_entry_pending)
{
    start_redis();
    cmd("XADD s 1-1 job retry v 1 payload {} id a");
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    cmd("SET z not-a-sorted-set"); /* the ZADD fails: WRONGTYPE */
    const char *later[] = {"s", "z", "g", "1-1", "60000", "0", "job", "retry",
                           "v", "1", "payload", "{}", "id", "a"};
    char err[300];
    snprintf(err, sizeof err, "%s", evalv(1, queue_scripts[SCRIPT_REQUEUE],
                                          2, 14, later)->str);
    cr_assert(is_pending("1-1") && exists("1-1"), "acked before the ZADD");
    cr_assert(strstr(err, "WRONGTYPE"), "%s", err);
    stop_redis();
}

static const char *const dlq_args[] = {
    "s", "d", "rec", "g", "1-1", "too_many_fields", "stream entry has 5000 "
    "fields", "w1", "1700000000000", "1000", "{\"status\":\"dead\"}", "60"};

Test(queue_scripts, dead_letter_keeps_an_over_limit_entry_intact)
{
    start_redis();
    redisReply *orig = pending_big_entry("ok");
    cr_assert_eq(evalv(0, queue_scripts[SCRIPT_DLQ], 3, 12,
                       dlq_args)->integer, 1);
    redisReply *dead = newest_dead_letter();
    assert_encoded(dead, fields(orig));
    assert_field(dead, "dlq_reason", "too_many_fields");
    assert_field(dead, "dlq_source_id", "1-1");
    assert_field(dead, "dlq_worker", "w1");
    cr_assert(!is_pending("1-1") && !exists("1-1"), "acked and deleted");
    cr_assert_eq(count("EXISTS", "rec"), 1, "the record is written");
    /* a resend after a lost reply changes nothing */
    cr_assert_eq(evalv(0, queue_scripts[SCRIPT_DLQ], 3, 12,
                       dlq_args)->integer, 0);
    cr_assert_eq(count("XLEN", "d"), 1);
    freeReplyObject(dead);
    freeReplyObject(orig);
    stop_redis();
}

Test(queue_scripts, dead_letter_that_fails_midway_keeps_the_entry_pending)
{
    start_redis();
    redisReply *orig = pending_big_entry("no_such_job");
    freeReplyObject(orig);
    cmd("XADD s 2-1 job no_such_job v 1 payload {}");
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS s >");
    cmd("SET d not-a-stream"); /* the dead letter's XADD fails */
    const char *ids[] = {"1-1", "2-1"};
    for (int i = 0; i < 2; i++) {
        const char *args[12];
        memcpy(args, dlq_args, sizeof args);
        args[4] = ids[i];
        char err[300];
        snprintf(err, sizeof err, "%s",
                 evalv(1, queue_scripts[SCRIPT_DLQ], 3, 12, args)->str);
        cr_assert(is_pending(ids[i]) && exists(ids[i]),
                  "%s is not pending and in the stream any more", ids[i]);
        cr_assert(strstr(err, "WRONGTYPE"), "%s", err);
    }
    cr_assert_eq(count("EXISTS", "rec"), 0, "no record without a letter");
    stop_redis();
}

Test(queue_scripts, writes_denied_under_maxmemory_leave_entries_pending)
{
    start_redis();
    cmd("XADD s 1-1 job ok v 1 payload {} id a");
    cmd("XADD s 2-1 job ok v 1 payload {} id b");
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS s >");
    cmd("CONFIG SET maxmemory 1");
    /* COMPLETE: the record first, so a denied HSET acks nothing */
    const char *done[] = {"s", "b", "b:builds", "idx", "g", "2000000000",
                          "2000000060", "2000000120", "2000000000", "1",
                          "1-1", "1", "a", "[1]", "0"};
    redisReply *r = evalv(1, queue_scripts[SCRIPT_COMPLETE], 4, 15, done);
    cr_assert(strstr(r->str, "OOM"), "%s", r->str);
    cr_assert(is_pending("1-1"), "COMPLETE acked without its record");
    const char *args[12];
    memcpy(args, dlq_args, sizeof args);
    args[4] = "2-1";
    r = evalv(1, queue_scripts[SCRIPT_DLQ], 3, 12, args);
    cr_assert(strstr(r->str, "OOM"), "%s", r->str);
    cr_assert(is_pending("2-1") && exists("2-1"), "DLQ lost the entry");
    cmd("CONFIG SET maxmemory 0");
    cr_assert_eq(evalv(0, queue_scripts[SCRIPT_COMPLETE], 4, 15,
                       done)->integer, 1);
    cr_assert(!is_pending("1-1"));
    cr_assert_eq(count("HLEN", "b"), 1);
    stop_redis();
}

static const char *const release_args[] = {"s", "d", "g", "c",
                                           "1700000000000", "1000"};

Test(queue_scripts, release_hands_back_or_dead_letters_every_entry)
{
    start_redis();
    redisReply *orig = pending_big_entry("ok");
    cmd("XADD s 2-1 job ok v 1 payload {} id a attempt 2");
    cmd("XADD s 3-1 job ok v 1 payload {}");
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS s >");
    redisReply *r = evalv(0, queue_scripts[SCRIPT_RELEASE], 2, 6,
                          release_args);
    cr_assert_eq(r->elements, 2);
    cr_assert_eq(r->element[0]->integer, 2, "two went back");
    cr_assert_eq(r->element[1]->elements, 1);
    cr_assert_str_eq(r->element[1]->element[0]->str, "1-1");
    redisReply *dead = newest_dead_letter();
    assert_encoded(dead, fields(orig));
    assert_field(dead, "dlq_reason", "too_many_fields");
    cr_assert_eq(count("XLEN", "d"), 1);
    r = cmd("XRANGE s (3-1 +");
    cr_assert_eq(r->elements, 2, "two re-added at the tail");
    redisReply *a = r->element[0]->element[1], *b = r->element[1]->element[1];
    cr_assert_eq(a->elements, 10);
    cr_assert_str_eq(a->element[7]->str, "a", "id kept");
    cr_assert_str_eq(a->element[9]->str, "2", "attempt kept");
    cr_assert_eq(b->elements, 8);
    cr_assert_str_eq(b->element[6]->str, "id");
    cr_assert_str_eq(b->element[7]->str, "3-1", "id added");
    cr_assert_eq(count("XLEN", "s"), 2, "the originals are deleted");
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 0);
    /* a resend changes nothing */
    r = evalv(0, queue_scripts[SCRIPT_RELEASE], 2, 6, release_args);
    cr_assert_eq(r->element[0]->integer, 0);
    cr_assert_eq(count("XLEN", "s"), 2);
    cr_assert_eq(count("XLEN", "d"), 1);
    freeReplyObject(dead);
    freeReplyObject(orig);
    stop_redis();
}

Test(queue_scripts, release_that_fails_midway_keeps_the_entry_pending)
{
    start_redis();
    redisReply *orig = pending_big_entry("ok");
    freeReplyObject(orig);
    cmd("SET d not-a-stream");
    char err[300];
    snprintf(err, sizeof err, "%s", evalv(1, queue_scripts[SCRIPT_RELEASE],
                                          2, 6, release_args)->str);
    cr_assert(is_pending("1-1") && exists("1-1"), "lost at release");
    cr_assert(strstr(err, "WRONGTYPE"), "%s", err);
    stop_redis();
}

/* ZADD z 0 cmsgpack.pack({token, {job, ok, v, 1, payload, {}, ...}}) with
 * `pairs` pairs in all (3 or more). */
static void add_member(const char *token, int pairs)
{
    static const char add[] =
        "local f = {'job', 'ok', 'v', '1', 'payload', '{}'}\n"
        "for i = 4, tonumber(ARGV[2]) do\n"
        "  f[#f + 1] = 'f' .. i; f[#f + 1] = 'v' .. i end\n"
        "return redis.call('ZADD', KEYS[1], 0, "
        "cmsgpack.pack({ARGV[1], f}))\n";
    char n[16];
    snprintf(n, sizeof n, "%d", pairs);
    const char *args[] = {"z", token, n};
    cr_assert_eq(evalv(0, add, 1, 3, args)->integer, 1);
}

static const char *const promote_args[] = {"s", "z", "d", "500", "w1",
                                           "1000"};

/* The dead letter in d whose `name` is `value`, or NULL (caller frees). */
static redisReply *dead_letter_with(const char *name, const char *value)
{
    redisReply *r = redisCommand(rc, "XRANGE d - +");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++) {
        if (dlq_value_is(dlq_field(r->element[i], name), value)) {
            redisReply *one = redisCommand(rc, "XRANGE d %s %s",
                                           r->element[i]->element[0]->str,
                                           r->element[i]->element[0]->str);
            freeReplyObject(r);
            return one;
        }
    }
    freeReplyObject(r);
    return NULL;
}

Test(queue_scripts, promote_re_adds_or_dead_letters_every_due_member)
{
    start_redis();
    add_member("tok-small", 4);
    add_member("tok-big", BIG_PAIRS);
    cmd("ZADD z 0 hello"); /* not a cmsgpack pair */
    cmd("ZADD z 0 %b", "\x92\xa7tok-odd\x91\xa1x", (size_t)12);
    redisReply *r = evalv(0, queue_scripts[SCRIPT_PROMOTE], 3, 6,
                          promote_args);
    cr_assert_eq(r->element[0]->integer, 4, "four handled");
    cr_assert_eq(r->element[2]->integer, 3, "three dead-lettered");
    cr_assert_eq(count("ZCARD", "z"), 0);
    r = cmd("XRANGE s - +");
    cr_assert_eq(r->elements, 1, "the small one is in the stream");
    cr_assert_eq(r->element[0]->element[1]->elements, 8);
    cr_assert_eq(count("XLEN", "d"), 3);

    redisReply *big = dead_letter_with("dlq_source_id", "tok-big");
    cr_assert_not_null(big, "the big member is dead-lettered");
    assert_field(big, "dlq_reason", "too_many_fields");
    const redisReply *enc = dlq_field(big->element[0], DLQ_FIELD_ENCODED);
    cr_assert_not_null(enc);
    cr_assert_eq(dlq_count_netstrings(enc->str, enc->len), 2 * BIG_PAIRS);
    cr_assert_eq(strncmp(enc->str, "3:job,2:ok,1:v,1:1,", 19), 0);
    freeReplyObject(big);

    redisReply *bad = dead_letter_with(DLQ_FIELD_MEMBER, "hello");
    cr_assert_not_null(bad, "the unreadable member is kept as it was");
    assert_field(bad, "dlq_reason", "invalid_envelope");
    cr_assert_null(dlq_field(bad->element[0], "dlq_source_id"));
    freeReplyObject(bad);
    redisReply *odd = dead_letter_with("dlq_source_id", "tok-odd");
    cr_assert_not_null(odd, "a member with an odd field list");
    cr_assert_not_null(dlq_field(odd->element[0], DLQ_FIELD_MEMBER));
    freeReplyObject(odd);
    stop_redis();
}

Test(queue_scripts, promote_that_fails_midway_keeps_the_member)
{
    start_redis();
    add_member("tok-big", BIG_PAIRS);
    cmd("SET d not-a-stream");
    char err[300];
    snprintf(err, sizeof err, "%s", evalv(1, queue_scripts[SCRIPT_PROMOTE],
                                          3, 6, promote_args)->str);
    cr_assert_eq(count("ZCARD", "z"), 1, "the member is gone");
    cr_assert_eq(count("EXISTS", "s"), 0);
    cr_assert(strstr(err, "WRONGTYPE"), "%s", err);
    stop_redis();
}

static const char *const reclaim_args[] = {"s", "d", "g", "w2", "1000", "10",
                                           "5", "1700000000000", "1000",
                                           "4"};

/* Entry 1-1 (BIG_PAIRS pairs) held by a dead consumer, 5 deliveries. */
static redisReply *poison_big_entry(void)
{
    redisReply *orig = pending_big_entry("ok");
    cmd("XCLAIM s g dead 0 1-1 IDLE 100000 RETRYCOUNT 5 JUSTID");
    return orig;
}

Test(queue_scripts, reclaim_dead_letters_an_over_limit_poison_entry_intact)
{
    start_redis();
    redisReply *orig = poison_big_entry();
    redisReply *r = evalv(0, queue_scripts[SCRIPT_RECLAIM], 2, 10,
                          reclaim_args);
    cr_assert_eq(r->element[2]->elements, 1);
    cr_assert_str_eq(r->element[2]->element[0]->str, "1-1");
    redisReply *dead = newest_dead_letter();
    assert_encoded(dead, fields(orig));
    assert_field(dead, "dlq_reason", "poison");
    cr_assert(!is_pending("1-1") && !exists("1-1"));
    /* run again: nothing more */
    r = evalv(0, queue_scripts[SCRIPT_RECLAIM], 2, 10, reclaim_args);
    cr_assert_eq(r->element[2]->elements, 0);
    cr_assert_eq(count("XLEN", "d"), 1);
    freeReplyObject(dead);
    freeReplyObject(orig);
    stop_redis();
}

/* A worker never reclaims its own entries: one still running there past
 * its deadline (its lease no longer renewed) would gain a delivery each
 * round and end up dead-lettered as poison while it ran, and then also
 * recorded as succeeded. Another worker's expired entries are claimed. */
Test(queue_scripts, reclaim_never_claims_the_reclaimers_own_entries)
{
    start_redis();
    for (int i = 1; i <= 3; i++)
        cmd("XADD s %d-1 job ok v 1 payload {}", i);
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g w2 COUNT 2 STREAMS s >");   /* 1-1, 2-1: ours */
    cmd("XREADGROUP GROUP g other COUNT 1 STREAMS s >"); /* 3-1 */
    cmd("XCLAIM s g w2 0 1-1 2-1 IDLE 100000 RETRYCOUNT 4 JUSTID");
    cmd("XCLAIM s g other 0 3-1 IDLE 100000 JUSTID");
    for (int round = 0; round < 3; round++) {
        redisReply *r = evalv(0, queue_scripts[SCRIPT_RECLAIM], 2, 10,
                              reclaim_args);
        cr_assert_eq(r->element[2]->elements, 0, "nothing poisoned");
        size_t want = round == 0 ? 1 : 0; /* 3-1, once: then it is ours */
        cr_assert_eq(r->element[0]->elements, want, "round %d", round);
    }
    redisReply *p = cmd("XPENDING s g - + 10");
    cr_assert_eq(p->elements, 3);
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(p->element[i]->element[1]->str, "w2");
    cr_assert_eq(p->element[0]->element[3]->integer, 4,
                 "our own entry gained no delivery");
    cr_assert_eq(count("XLEN", "d"), 0);
    stop_redis();
}

Test(queue_scripts, reclaim_that_fails_midway_keeps_the_entry_pending)
{
    start_redis();
    freeReplyObject(poison_big_entry());
    cmd("SET d not-a-stream");
    char err[300];
    snprintf(err, sizeof err, "%s", evalv(1, queue_scripts[SCRIPT_RECLAIM],
                                          2, 10, reclaim_args)->str);
    cr_assert(is_pending("1-1") && exists("1-1"), "lost as poison");
    cr_assert(strstr(err, "WRONGTYPE"), "%s", err);
    stop_redis();
}

Test(queue_scripts, dlq_retry_keeps_what_it_cannot_re_add)
{
    start_redis();
    cmd("XADD d 1-1 job ok v 1 payload {} id a attempt 3 dlq_reason x");
    cmd("XADD d 2-1 dlq_fields 3:job,2:ok, dlq_reason too_many_fields");
    cmd("XADD d 3-1 dlq_reason poison dlq_source_id 9-9");
    cmd("XADD d 4-1 dlq_delayed_member hello dlq_reason invalid_envelope");
    const char *args[] = {"d", "s", "1-1", "2-1", "3-1", "4-1"};
    redisReply *r = evalv(0, queue_script_dlq_retry, 2, 6, args);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->element[0]->integer, 1, "one re-enqueued");
    cr_assert_eq(r->element[1]->elements, 3, "three kept");
    cr_assert_str_eq(r->element[1]->element[0]->str, "2-1");
    r = cmd("XRANGE s - +");
    cr_assert_eq(r->elements, 1);
    cr_assert_eq(r->element[0]->element[1]->elements, 8, "no attempt, dlq_*");
    r = cmd("XRANGE d - +");
    cr_assert_eq(r->elements, 3, "the kept ones stay in the DLQ");
    cr_assert_str_eq(r->element[0]->element[0]->str, "2-1");
    stop_redis();
}

/* ---- cancellations ------------------------------------------------------- */

static double score_of(const char *id)
{
    redisReply *r = cmd("ZSCORE x %s", id);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s has no score", id);
    return strtod(r->str, NULL);
}

Test(queue_scripts, cancel_gives_every_id_its_own_rising_score)
{
    enum { N = 1500 };
    start_redis();
    redisReply *t = cmd("TIME");
    long long now_ms = atoll(t->element[0]->str) * 1000 +
                       atoll(t->element[1]->str) / 1000;
    long long week = 604800000LL;
    /* what older versions wrote (score = ms), and one of ours, 8 days old */
    cmd("ZADD x %lld old-recent", now_ms - 60000);
    cmd("ZADD x %lld old-stale", now_ms - week - 86400000LL);
    cmd("ZADD x %lld000 new-stale", now_ms - week - 86400000LL);
    static char names[N][16];
    const char *args[N + 2] = {"x", "604800000"};
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        args[2 + i] = names[i];
    }
    evalv(0, queue_script_cancel, 1, N + 2, args);
    double prev = 0;
    for (int i = 0; i < N; i++) {
        double s = score_of(names[i]);
        cr_assert_gt(s, prev, "%s: %.0f is not above %.0f", names[i], s,
                     prev);
        prev = s;
    }
    cr_assert_geq(score_of("c0"), (double)now_ms * 1000);
    cr_assert_lt(score_of("c0"), (double)(now_ms + 60000) * 1000);
    const char *later[] = {"x", "604800000", "c-later"};
    evalv(0, queue_script_cancel, 1, 3, later);
    cr_assert_gt(score_of("c-later"), prev, "a later call scores higher");
    cr_assert_eq(cmd("ZSCORE x old-recent")->type, REDIS_REPLY_STRING,
                 "an old-format entry within 7 days stays");
    cr_assert_eq(cmd("ZSCORE x old-stale")->type, REDIS_REPLY_NIL);
    cr_assert_eq(cmd("ZSCORE x new-stale")->type, REDIS_REPLY_NIL);
    cr_assert_eq(count("ZCARD", "x"), N + 2);
    stop_redis();
}
