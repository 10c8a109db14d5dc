/*
 * test_queue_lost.c - settling the entries of a worker process that died
 * (WORKER_LOST, queue/lost.c) on a real redis-server (started per test on
 * a private unix socket), with entries pending to a "dead" consumer: the
 * innocent ones go back once, fields intact, not pending any more; a
 * charged job below --max-deliveries stays pending with its delivery
 * count and an idle time the next RECLAIM takes, at the limit it is a
 * poison dead letter with its error and record; a timed-out job goes to
 * the delayed set or the stream with attempt and last_error, or, out of
 * attempts, is a timeout dead letter; parked and other consumers'
 * entries are untouched, one already taken over is skipped; the registry
 * record goes only when its pid and host match; a second identical call
 * changes nothing; a write that fails midway leaves what it did not
 * settle pending, and the resend finishes it exactly once. Then the same through the C API, on a writer-only
 * queue whose writer connection is killed while the op is in flight.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "core/util.h"
#include "queue/queue_internal.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

#define QS "jobrt:{q}:stream"
#define QD "jobrt:{q}:dlq"
#define QW "jobrt:{q}:workers"
#define QR "jobrt:{q}:worker:dead"
#define QZ "jobrt:{q}:delayed"
#define QJ "jobrt:{q}:job:"
#define LEASE 30000
#define MAXD 3

static test_redis_t server;
static redisContext *rc;

static void start_redis(void) { rc = test_redis_start(&server, "lost"); }

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

typedef struct {
    const char *sid, *jid, *kind, *err, *rec;
    unsigned next, delay;
} job_t;

/* The WORKER_LOST call for consumer "dead" of group g, as lost.c builds
 * it (lease LEASE, max deliveries MAXD, failure ttl 600 s). */
static int lost_argv(const char **argv, char nums[][24], const char *pid,
                     const char *host, const job_t *jobs, int n)
{
    static char keys[64][128];
    int a = 0;
    cr_assert_lt(n, 32);
    argv[a++] = "EVAL";
    argv[a++] = queue_scripts[SCRIPT_WORKER_LOST];
    snprintf(nums[0], 24, "%d", 5 + n);
    argv[a++] = nums[0];
    const char *fixed[] = {QS, QD, QW, QR, QZ};
    for (int i = 0; i < 5; i++)
        argv[a++] = fixed[i];
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], QJ "%s", jobs[i].jid);
        argv[a++] = keys[i];
    }
    const char *args[] = {"g", "dead", pid, host, "1700000000000", "30000",
                          "3", "100", "600"};
    for (int i = 0; i < 9; i++)
        argv[a++] = args[i];
    snprintf(nums[1], 24, "%d", n);
    argv[a++] = nums[1];
    for (int i = 0; i < n; i++) {
        argv[a++] = jobs[i].sid;
        argv[a++] = jobs[i].jid;
        argv[a++] = jobs[i].kind;
        argv[a++] = jobs[i].err;
        argv[a++] = jobs[i].rec;
        snprintf(nums[2 + 2 * i], 24, "%u", jobs[i].next);
        snprintf(nums[3 + 2 * i], 24, "%u", jobs[i].delay);
        argv[a++] = nums[2 + 2 * i];
        argv[a++] = nums[3 + 2 * i];
    }
    return a;
}

static redisReply *lost_as(const char *pid, const char *host,
                           const job_t *jobs, int n)
{
    const char *argv[300];
    char nums[80][24];
    int argc = lost_argv(argv, nums, pid, host, jobs, n);
    redisReply *r = test_redis_argv(rc, &last, argc, argv);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 11);
    cr_assert_str_eq(r->element[0]->str, "dead");
    return r;
}

static redisReply *lost(const job_t *jobs, int n)
{
    return lost_as("123", "h1", jobs, n);
}

/* The value of field name in an entry's field list, or NULL. */
static const char *field(const redisReply *f, const char *name)
{
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (strcmp(f->element[i]->str, name) == 0)
            return f->element[i + 1]->str;
    return NULL;
}

/* The pending entry id: its consumer, idle ms and delivery count; 0 when
 * it is not pending. */
static int pending(const char *id, char *owner, long long *idle,
                   long long *count)
{
    redisReply *p = cmd("XPENDING " QS " g %s %s 1", id, id);
    if (p->elements == 0)
        return 0;
    const redisReply *e = p->element[0];
    if (owner)
        snprintf(owner, 64, "%s", e->element[1]->str);
    if (idle)
        *idle = e->element[2]->integer;
    if (count)
        *count = e->element[3]->integer;
    return 1;
}

static int in_stream(const char *id)
{
    return cmd("XRANGE " QS " %s %s", id, id)->elements == 1;
}

/* Entries 1-1 .. n-1 read by "dead" (job noop, payload {}, an `id` but
 * for 2-1). */
static void setup(int n)
{
    cmd("XGROUP CREATE " QS " g 0 MKSTREAM");
    for (int i = 1; i <= n; i++) {
        if (i == 2)
            cmd("XADD " QS " 2-1 job noop v 1 payload {\"n\":2} extra x");
        else
            cmd("XADD " QS " %d-1 job noop v 1 payload {} id j%d", i, i);
    }
    cmd("XREADGROUP GROUP g dead COUNT %d STREAMS " QS " >", n);
}

/* An innocent that was delivered before (a crasher reclaimed by this
 * worker, then caught in another job's crash) keeps what it earned: it
 * stays pending, reclaimable now, its count lowered by the one RECLAIM
 * adds back. A new entry would start again at 0 deliveries. */
Test(queue_lost, an_innocent_delivered_before_keeps_its_deliveries)
{
    start_redis();
    setup(2);
    cmd("XCLAIM " QS " g dead 0 1-1"); /* delivery 2 of 1-1 */
    cmd("XCLAIM " QS " g dead 0 1-1"); /* delivery 3 */
    job_t crash = {"2-1", "", "charge", "handler crashed", "", 0, 0};
    redisReply *r = lost(&crash, 1);
    cr_assert_eq(r->element[1]->integer, 0, "nothing handed back");
    cr_assert_eq(r->element[10]->integer, 1, "one kept pending");
    char owner[64];
    long long idle, count;
    cr_assert(pending("1-1", owner, &idle, &count));
    cr_assert_eq(count, 2, "three deliveries, less the one RECLAIM adds");
    cr_assert_str_eq(owner, "lost:dead");
    cr_assert_geq(idle, LEASE);
    cr_assert(in_stream("1-1"), "the same entry, not a copy");
    cr_assert_eq(cmd("XLEN " QS)->integer, 2);
    /* a resend (the reply was lost) lowers nothing again */
    r = lost(&crash, 1);
    cr_assert_eq(r->element[10]->integer, 0, "nothing kept the second time");
    cr_assert(pending("1-1", owner, NULL, &count));
    cr_assert_eq(count, 2, "a resend forgives no delivery");
    const char *rec[] = {"EVAL", queue_scripts[SCRIPT_RECLAIM], "2", QS, QD,
                         "g", "alive", "30000", "10", "5", "1", "100"};
    r = test_redis_argv(rc, &last, 12, rec);
    cr_assert_eq(r->element[0]->elements, 2, "both reclaimable at once");
    stop_redis();
}

Test(queue_lost, innocents_go_back_and_a_charged_job_is_reclaimable)
{
    start_redis();
    setup(3);
    /* beside them: a parked entry and a live worker's */
    cmd("XADD " QS " 4-1 job other v 1 payload {} id j4");
    cmd("XADD " QS " 5-1 job noop v 1 payload {} id j5");
    cmd("XREADGROUP GROUP g alive COUNT 2 STREAMS " QS " >");
    cmd("XCLAIM " QS " g parked:other:v1 0 4-1 JUSTID");
    job_t crash = {"3-1", "j3", "charge", "handler crashed with SIGSEGV", "",
                   0, 0};
    redisReply *r = lost(&crash, 1);
    cr_assert_eq(r->element[1]->integer, 2, "two handed back");
    cr_assert_eq(r->element[2]->elements, 1, "one charged");
    cr_assert_str_eq(r->element[2]->element[0]->element[1]->str, "j3");
    cr_assert_eq(r->element[2]->element[0]->element[2]->integer, 1);
    for (int i = 3; i <= 7; i++)
        cr_assert_eq(r->element[i]->elements, 0);

    /* the innocents: at the tail, once, fields intact, id added */
    r = cmd("XRANGE " QS " (5-1 +");
    cr_assert_eq(r->elements, 2);
    const redisReply *a = r->element[0]->element[1],
                     *b = r->element[1]->element[1];
    cr_assert_eq(a->elements, 8);
    cr_assert_str_eq(field(a, "id"), "j1");
    cr_assert_str_eq(field(a, "job"), "noop");
    cr_assert_eq(b->elements, 10, "its 4 pairs and the id");
    cr_assert_str_eq(field(b, "payload"), "{\"n\":2}");
    cr_assert_str_eq(field(b, "extra"), "x");
    cr_assert_str_eq(field(b, "id"), "2-1", "the id added");
    cr_assert_null(field(b, "attempt"), "not charged an attempt");
    cr_assert(!pending("1-1", NULL, NULL, NULL) &&
              !pending("2-1", NULL, NULL, NULL));
    cr_assert(!in_stream("1-1") && !in_stream("2-1"));

    /* the charged one: still pending to the dead consumer, same count,
     * idle at least the lease */
    char owner[64];
    long long idle, count;
    cr_assert(pending("3-1", owner, &idle, &count));
    cr_assert_str_eq(owner, "dead");
    cr_assert_eq(count, 1);
    cr_assert_geq(idle, LEASE);
    /* untouched: the parked entry and the live worker's */
    cr_assert(pending("4-1", owner, NULL, &count));
    cr_assert_str_eq(owner, "parked:other:v1");
    cr_assert(pending("5-1", owner, NULL, &count));
    cr_assert_str_eq(owner, "alive");
    cr_assert_eq(cmd("XLEN " QD)->integer, 0);

    /* the same call again changes nothing */
    r = lost(&crash, 1);
    cr_assert_eq(r->element[1]->integer, 0);
    cr_assert_eq(r->element[2]->elements, 1, "still charged");
    cr_assert_eq(cmd("XLEN " QS)->integer, 5);
    cr_assert_eq(cmd("XPENDING " QS " g")->element[0]->integer, 3);
    cr_assert(pending("3-1", owner, &idle, &count));
    cr_assert_eq(count, 1, "a resend counts no delivery");
    cr_assert_geq(idle, LEASE);

    /* a live worker's RECLAIM takes it at once, counting a delivery */
    const char *rec[] = {"EVAL", queue_scripts[SCRIPT_RECLAIM], "2", QS, QD,
                         "g", "alive", "30000", "10", "3", "1", "100"};
    r = test_redis_argv(rc, &last, 12, rec);
    cr_assert_eq(r->element[0]->elements, 1);
    cr_assert_str_eq(r->element[0]->element[0]->element[0]->str, "3-1");
    cr_assert_eq(r->element[1]->element[0]->integer, 2);
    cr_assert(pending("3-1", owner, NULL, &count));
    cr_assert_str_eq(owner, "alive");
    stop_redis();
}

Test(queue_lost, a_charged_job_at_the_limit_is_poison)
{
    start_redis();
    setup(2);
    cmd("XCLAIM " QS " g dead 0 1-1 RETRYCOUNT 3 JUSTID");
    job_t crash = {"1-1", "j1", "charge", "handler crashed with SIGSEGV",
                   "{\"status\":\"dead\"}", 0, 0};
    redisReply *r = lost(&crash, 1);
    cr_assert_eq(r->element[3]->elements, 1, "poisoned");
    const redisReply *t = r->element[3]->element[0];
    cr_assert_str_eq(t->element[0]->str, "1-1");
    cr_assert_eq(t->element[2]->integer, 3);
    cr_assert_str_eq(t->element[3]->str, "handler crashed with SIGSEGV");
    cr_assert_eq(r->element[1]->integer, 1, "2-1 went back");

    r = cmd("XRANGE " QD " - +");
    cr_assert_eq(r->elements, 1);
    const redisReply *f = r->element[0]->element[1];
    cr_assert_str_eq(field(f, "dlq_reason"), "poison");
    cr_assert_str_eq(field(f, "dlq_error"), "handler crashed with SIGSEGV");
    cr_assert_str_eq(field(f, "dlq_source_id"), "1-1");
    cr_assert_str_eq(field(f, "dlq_worker"), "dead");
    cr_assert_str_eq(field(f, "id"), "j1", "original fields kept");
    cr_assert_str_eq(cmd("GET " QJ "j1")->str, "{\"status\":\"dead\"}");
    long long ttl = cmd("TTL " QJ "j1")->integer;
    cr_assert(ttl > 0 && ttl <= 600, "ttl %lld", ttl);
    cr_assert(!pending("1-1", NULL, NULL, NULL) && !in_stream("1-1"));
    /* nothing pending: the consumer is gone */
    r = cmd("XINFO CONSUMERS " QS " g");
    cr_assert_eq(r->elements, 0);

    r = lost(&crash, 1);
    cr_assert_eq(r->element[3]->elements, 0);
    cr_assert_eq(r->element[6]->elements, 1, "skipped: not pending");
    cr_assert_eq(cmd("XLEN " QD)->integer, 1, "one dead letter");
    cr_assert_eq(cmd("XLEN " QS)->integer, 1);
    stop_redis();
}

Test(queue_lost, a_timed_out_job_is_retried_delayed_or_at_once)
{
    start_redis();
    setup(2);
    cmd("XADD " QS " 3-1 job noop v 1 payload {} id j3 attempt 1 "
        "last_error old");
    cmd("XREADGROUP GROUP g dead COUNT 1 STREAMS " QS " >");
    job_t t[] = {{"1-1", "j1", "timeout", "ran past its deadline", "", 2,
                  60000},
                 {"3-1", "j3", "timeout", "ran past its deadline", "", 2, 0},
                 {"2-1", "j2", "timeout", "ran past its deadline", "", 4,
                  0}};
    redisReply *time = cmd("TIME");
    long long now = atoll(time->element[0]->str) * 1000 +
                    atoll(time->element[1]->str) / 1000;
    redisReply *r = lost(t, 3);
    cr_assert_eq(r->element[4]->elements, 3, "three retried");
    cr_assert_eq(r->element[1]->integer, 0);

    /* delayed: the member as REQUEUE writes it, due in about 60 s */
    r = cmd("ZRANGE " QZ " 0 -1 WITHSCORES");
    cr_assert_eq(r->elements, 2);
    long long due = atoll(r->element[1]->str);
    cr_assert(due >= now + 60000 && due < now + 65000, "due %lld, now %lld",
              due, now);
    const char *unpack[] = {"EVAL", "local m = redis.call('ZRANGE', "
                            "KEYS[1], 0, 0)[1]\nlocal t = cmsgpack.unpack(m)"
                            "\nreturn {t[1], t[2]}", "1", QZ};
    r = test_redis_argv(rc, &last, 4, unpack);
    cr_assert_str_eq(r->element[0]->str, "1-1", "the token is the entry");
    const redisReply *f = r->element[1];
    cr_assert_str_eq(field(f, "attempt"), "2");
    cr_assert_str_eq(field(f, "last_error"), "ran past its deadline");
    cr_assert_str_eq(field(f, "id"), "j1");

    /* at once: at the tail, old attempt and last_error replaced */
    r = cmd("XRANGE " QS " (3-1 +");
    cr_assert_eq(r->elements, 2);
    f = r->element[0]->element[1];
    cr_assert_str_eq(field(f, "id"), "j3");
    cr_assert_str_eq(field(f, "attempt"), "2");
    cr_assert_str_eq(field(f, "last_error"), "ran past its deadline");
    cr_assert_eq(f->elements, 12, "one attempt, one last_error");
    f = r->element[1]->element[1];
    cr_assert_str_eq(field(f, "id"), "j2", "the job id added");
    cr_assert_str_eq(field(f, "extra"), "x");
    cr_assert_str_eq(field(f, "attempt"), "4");
    cr_assert_eq(cmd("XPENDING " QS " g")->element[0]->integer, 0);

    r = lost(t, 3);
    cr_assert_eq(r->element[4]->elements, 0);
    cr_assert_eq(r->element[6]->elements, 3);
    cr_assert_eq(cmd("ZCARD " QZ)->integer, 1);
    cr_assert_eq(cmd("XLEN " QS)->integer, 2);
    stop_redis();
}

Test(queue_lost, a_timed_out_job_without_attempts_left_is_dead)
{
    start_redis();
    setup(1);
    job_t t = {"1-1", "j1", "timeout", "ran past its deadline of 5 s",
               "{\"status\":\"dead\"}", 0, 0};
    redisReply *r = lost(&t, 1);
    cr_assert_eq(r->element[5]->elements, 1);
    cr_assert_str_eq(r->element[5]->element[0]->element[1]->str, "j1");
    r = cmd("XRANGE " QD " - +");
    cr_assert_eq(r->elements, 1);
    const redisReply *f = r->element[0]->element[1];
    cr_assert_str_eq(field(f, "dlq_reason"), "timeout");
    cr_assert_str_eq(field(f, "dlq_error"), "ran past its deadline of 5 s");
    cr_assert_str_eq(cmd("GET " QJ "j1")->str, "{\"status\":\"dead\"}");
    cr_assert_gt(cmd("TTL " QJ "j1")->integer, 0);
    cr_assert(!pending("1-1", NULL, NULL, NULL) && !in_stream("1-1"));
    cr_assert_eq(cmd("ZCARD " QZ)->integer, 0);
    lost(&t, 1);
    cr_assert_eq(cmd("XLEN " QD)->integer, 1);
    stop_redis();
}

Test(queue_lost, an_entry_taken_over_already_is_skipped)
{
    start_redis();
    setup(3);
    cmd("XCLAIM " QS " g alive 0 1-1"); /* reclaimed: delivery 2 */
    cmd("XACK " QS " g 2-1");           /* finished, ack out in time */
    job_t t[] = {{"1-1", "j1", "charge", "crashed", "", 0, 0},
                 {"2-1", "j2", "timeout", "late", "", 0, 0}};
    redisReply *r = lost(t, 2);
    const redisReply *s = r->element[6];
    cr_assert_eq(s->elements, 2);
    cr_assert_str_eq(s->element[0]->element[2]->str, "alive");
    cr_assert_str_eq(s->element[1]->element[2]->str, "");
    cr_assert_eq(r->element[1]->integer, 1, "3-1 went back");
    char owner[64];
    long long count;
    cr_assert(pending("1-1", owner, NULL, &count));
    cr_assert_str_eq(owner, "alive");
    cr_assert_eq(count, 2);
    cr_assert_eq(cmd("XLEN " QD)->integer, 0);
    cr_assert(in_stream("1-1") && in_stream("2-1"));
    stop_redis();
}

Test(queue_lost, a_write_that_fails_midway_leaves_the_rest_pending)
{
    start_redis();
    setup(3);
    cmd("XCLAIM " QS " g dead 0 2-1 RETRYCOUNT 3 JUSTID");
    cmd("SET " QD " not-a-stream"); /* the poison dead letter fails */
    job_t t[] = {{"1-1", "j1", "timeout", "late", "", 2, 0},
                 {"2-1", "j2", "charge", "crashed", "{}", 0, 0}};
    const char *argv[300];
    char nums[80][24];
    int argc = lost_argv(argv, nums, "123", "h1", t, 2);
    redisReply *r = redisCommandArgv(rc, argc, argv, NULL);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "WRONGTYPE"), "%s", r->str);
    freeReplyObject(r);
    /* 1-1 was settled whole before; 2-1 and the innocent 3-1 stay */
    cr_assert(!pending("1-1", NULL, NULL, NULL) && !in_stream("1-1"));
    cr_assert(pending("2-1", NULL, NULL, NULL) && in_stream("2-1"));
    cr_assert(pending("3-1", NULL, NULL, NULL) && in_stream("3-1"));
    cr_assert_eq(cmd("EXISTS " QJ "j2")->integer, 0, "no record before");
    cr_assert_eq(cmd("XLEN " QS)->integer, 3, "2-1, 3-1 and 1-1's retry");
    /* the resend, once the write works, finishes it exactly once */
    cmd("DEL " QD);
    r = lost(t, 2);
    cr_assert_eq(r->element[3]->elements, 1, "2-1 poisoned");
    cr_assert_eq(r->element[1]->integer, 1, "3-1 went back");
    cr_assert_eq(r->element[6]->elements, 1, "1-1 skipped");
    cr_assert_eq(cmd("XLEN " QD)->integer, 1);
    cr_assert_eq(cmd("XLEN " QS)->integer, 2, "1-1's retry and 3-1's");
    cr_assert_eq(cmd("XPENDING " QS " g")->element[0]->integer, 0);
    stop_redis();
}

Test(queue_lost, the_registry_record_goes_only_for_its_writer)
{
    start_redis();
    setup(1);
    cmd("SET " QR " {\"pid\":123,\"host\":\"h1\",\"consumer\":\"dead\"}");
    cmd("ZADD " QW " 1 dead");
    redisReply *r = lost_as("999", "h1", NULL, 0);
    cr_assert_str_eq(r->element[9]->str, "host h1 pid 123");
    cr_assert_eq(cmd("EXISTS " QR)->integer, 1, "another process wrote it");
    r = lost_as("", "", NULL, 0);
    cr_assert_str_eq(r->element[9]->str, "host h1 pid 123", "unknown pid");
    cr_assert_eq(cmd("ZSCORE " QW " dead")->type, REDIS_REPLY_STRING);
    r = lost_as("123", "h2", NULL, 0);
    cr_assert_eq(cmd("EXISTS " QR)->integer, 1, "another host");
    r = lost_as("123", "h1", NULL, 0);
    cr_assert_str_eq(r->element[9]->str, "");
    cr_assert_eq(cmd("EXISTS " QR)->integer, 0);
    cr_assert_eq(cmd("ZSCORE " QW " dead")->type, REDIS_REPLY_NIL);
    stop_redis();
}

Test(queue_lost, an_innocent_over_the_field_limit_is_dead_lettered)
{
    start_redis();
    cmd("XGROUP CREATE " QS " g 0 MKSTREAM");
    const char *argv[2 * 300 + 3] = {"XADD", QS, "1-1"};
    static char names[300][16];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        argv[3 + 2 * i] = names[i];
        argv[4 + 2 * i] = "v";
    }
    test_redis_argv(rc, &last, 603, argv);
    cmd("XREADGROUP GROUP g dead COUNT 1 STREAMS " QS " >");
    redisReply *r = lost(NULL, 0);
    cr_assert_eq(r->element[7]->elements, 1);
    r = cmd("XRANGE " QD " - +");
    cr_assert_eq(r->elements, 1);
    cr_assert_str_eq(field(r->element[0]->element[1], "dlq_reason"),
                     "too_many_fields");
    cr_assert_eq(cmd("XLEN " QS)->integer, 0);
    stop_redis();
}

Test(queue_lost, a_malformed_call_changes_nothing)
{
    start_redis();
    setup(2);
    job_t bad[] = {{"1-1", "j1", "charge", "", "", 0, 0},
                   {"not-an-id", "j2", "charge", "", "", 0, 0}};
    const char *argv[300];
    char nums[80][24];
    int argc = lost_argv(argv, nums, "123", "h1", bad, 2);
    redisReply *r = redisCommandArgv(rc, argc, argv, NULL);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "nothing changed"), "%s", r->str);
    freeReplyObject(r);
    bad[1].sid = "2-1";
    argc = lost_argv(argv, nums, "123", "h1", bad, 2);
    cr_assert_str_eq(argv[8 + 2 + 1], "dead");
    argv[8 + 2 + 1] = "parked:x:v1"; /* the consumer: never a parked one */
    r = redisCommandArgv(rc, argc, argv, NULL);
    cr_assert_eq(r->type, REDIS_REPLY_ERROR, "parked consumer refused");
    freeReplyObject(r);
    cr_assert_eq(cmd("XPENDING " QS " g")->element[0]->integer, 2);
    cr_assert_eq(cmd("XLEN " QS)->integer, 2);
    stop_redis();
}

Test(queue_lost, a_missing_stream_still_clears_the_registry)
{
    start_redis();
    cmd("SET " QR " {\"pid\":123,\"host\":\"h1\"}");
    job_t t = {"1-1", "j1", "charge", "", "", 0, 0};
    redisReply *r = lost(&t, 1);
    cr_assert_eq(r->element[6]->elements, 1, "skipped");
    cr_assert_eq(cmd("EXISTS " QR)->integer, 0);
    cr_assert_eq(cmd("EXISTS " QS)->integer, 0, "nothing created");
    stop_redis();
}

/* ---- through the C API, writer only ------------------------------------- */

typedef struct {
    queue_redis_t *q;
    int step;
    int saw_resend;
    int64_t deadline;
} fixture_t;

/* Every 5 ms: once the writer is ready, pause Redis's writes and submit
 * the op (it goes out at once and waits in Redis); once it is in flight,
 * kill the connection and unpause; the op must come back for a resend and
 * be confirmed after the reconnect. */
static void on_step(uv_timer_t *t)
{
    fixture_t *f = t->data;
    queue_redis_t *q = f->q;
    cr_assert_lt(util_mono_ms(), f->deadline, "stuck at step %d", f->step);
    if (f->step == 0 && queue_redis_writer_up(q)) {
        cr_assert(!redis_conn_up(&q->reader) && q->reader.ac == NULL,
                  "no reader");
        cmd("CLIENT PAUSE 20000 WRITE");
        queue_lost_job_t jobs[] = {
            {.stream_id = "3-1", .job_id = "j3", .kind = LOST_CHARGE,
             .error = "handler crashed with SIGSEGV (address 0x0) in plugin "
                      "zoo build src-1"},
            {.stream_id = "1-1", .job_id = "j1", .kind = LOST_CHARGE,
             .error = "handler crashed with SIGSEGV", .record = "{\"s\":1}",
             .record_len = 7},
            {.stream_id = "bogus", .job_id = "jx", .kind = LOST_CHARGE}};
        queue_redis_worker_lost(q, "dead", 123, "h1", jobs, 3);
        cr_assert(!queue_redis_idle(q));
        f->step = 1;
    } else if (f->step == 1 && q->ops_inflight == 1) {
        cmd("CLIENT KILL TYPE normal SKIPME yes");
        cmd("CLIENT UNPAUSE");
        f->step = 2;
    } else if (f->step == 2) {
        if (q->returned.head != NULL)
            f->saw_resend = 1;
        if (f->saw_resend && queue_redis_idle(q)) {
            uv_timer_stop(t);
            uv_close((uv_handle_t *)t, NULL);
            queue_redis_destroy(q);
            f->step = 3;
        }
    }
}

/* Runs fn(arg) with stderr sent to a file; returns what was written. */
static char *capture(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/jobrt-test-lost-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    static char out[16384];
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    cr_assert_geq(n, 0);
    out[n] = '\0';
    close(fd);
    unlink(path);
    return out;
}

static void run_loop(void *arg) { uv_run(arg, UV_RUN_DEFAULT); }

Test(queue_lost, a_writer_only_queue_settles_a_dead_worker)
{
    start_redis();
    setup(3);
    cmd("XCLAIM " QS " g dead 0 1-1 RETRYCOUNT 3 JUSTID");
    cmd("SET " QR " {\"pid\":123,\"host\":\"h1\"}");
    cmd("ZADD " QW " 1 dead");
    cmd("ZADD " QZ " 1 due-member"); /* a worker's tick would promote it */

    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    redis_target_t target;
    memset(&target, 0, sizeof target);
    target.path = server.sock;
    snprintf(target.display, sizeof target.display, "%s", server.sock);
    queue_redis_opts_t o = {.target = &target, .ns = "jobrt", .queue = "q",
                            .group = "g", .consumer = "sup", .block_ms = 1000,
                            .lease_ms = LEASE, .max_deliveries = MAXD,
                            .failure_ttl_s = 600, .dlq_max_len = 100};
    char err[256];
    fixture_t f = {.q = queue_redis_create(&loop, &o, NULL, err, sizeof err)};
    cr_assert_not_null(f.q, "%s", err);
    queue_redis_start_writer_only(f.q);
    uv_timer_t step;
    uv_timer_init(&loop, &step);
    step.data = &f;
    f.deadline = util_mono_ms() + 10000;
    uv_timer_start(&step, on_step, 5, 5);
    log_set_level(JOBRT_LOG_INFO);
    const char *log = capture(run_loop, &loop);
    cr_assert_eq(uv_loop_close(&loop), 0);
    cr_assert_eq(f.step, 3);

    /* 2-1 went back once; 3-1 charged, reclaimable; 1-1 poison */
    redisReply *r = cmd("XRANGE " QS " (3-1 +");
    cr_assert_eq(r->elements, 1);
    cr_assert_str_eq(field(r->element[0]->element[1], "id"), "2-1");
    char owner[64];
    long long idle, count;
    cr_assert(pending("3-1", owner, &idle, &count));
    cr_assert_str_eq(owner, "dead");
    cr_assert_eq(count, 1);
    cr_assert_geq(idle, LEASE);
    r = cmd("XRANGE " QD " - +");
    cr_assert_eq(r->elements, 1);
    cr_assert_str_eq(field(r->element[0]->element[1], "dlq_reason"),
                     "poison");
    cr_assert_str_eq(cmd("GET " QJ "j1")->str, "{\"s\":1}");
    cr_assert_eq(cmd("EXISTS " QR)->integer, 0);
    cr_assert_eq(cmd("ZSCORE " QW " dead")->type, REDIS_REPLY_NIL);
    /* writer only: no read, no tick */
    r = cmd("XINFO CONSUMERS " QS " g");
    for (size_t i = 0; i < r->elements; i++)
        cr_assert_str_neq(r->element[i]->element[1]->str, "sup");
    cr_assert_eq(cmd("ZCARD " QZ)->integer, 1, "nothing promoted");
    cr_assert_eq(cmd("EXISTS jobrt:{q}:worker:sup")->integer, 0);

    cr_assert(strstr(log, "worker dead lost: 1 job(s) released for "
                          "redelivery; 1 charged a delivery, reclaimable "
                          "now (job j3, delivered 1 time(s)); 1 "
                          "dead-lettered as poison (job j1 after 3 "
                          "deliveries)"),
              "%s", log);
    cr_assert(strstr(log, "job j1 (entry 1-1) of queue q dead-lettered as "
                          "poison: delivered 3 times"),
              "%s", log);
    cr_assert(strstr(log, "no valid stream id ('bogus')"), "%s", log);
    stop_redis();
}

/* GIVE_BACK: an entry delivered more than once that a worker cannot take
 * goes back with the deliveries it earned, reclaimable at once; a resend
 * changes nothing; another's entry is left alone. */
Test(queue_lost, give_back_keeps_earned_deliveries)
{
    start_redis();
    setup(2);
    cmd("XCLAIM " QS " g dead 0 1-1"); /* delivery 2 */
    const char *gb[] = {"EVAL", queue_scripts[SCRIPT_GIVE_BACK], "1", QS,
                        "g", "dead", "1-1", "30000"};
    redisReply *r = test_redis_argv(rc, &last, 8, gb);
    cr_assert_eq(r->integer, 1);
    char owner[64];
    long long idle, count;
    cr_assert(pending("1-1", owner, &idle, &count));
    cr_assert_str_eq(owner, "lost:dead");
    cr_assert_eq(count, 1, "two deliveries, less the one RECLAIM adds");
    cr_assert_geq(idle, 30000);
    r = test_redis_argv(rc, &last, 8, gb);
    cr_assert_eq(r->integer, 0, "a resend: no longer dead's");
    cr_assert(pending("1-1", owner, NULL, &count));
    cr_assert_eq(count, 1, "a resend lowers nothing");
    const char *rec[] = {"EVAL", queue_scripts[SCRIPT_RECLAIM], "2", QS, QD,
                         "g", "alive", "30000", "10", "3", "1", "100"};
    r = test_redis_argv(rc, &last, 12, rec);
    cr_assert_eq(r->element[0]->elements, 1, "reclaimable at once");
    cr_assert_eq(r->element[1]->element[0]->integer, 2,
                 "its delivery count back where it was, plus this one");
    const char *other[] = {"EVAL", queue_scripts[SCRIPT_GIVE_BACK], "1", QS,
                           "g", "dead", "2-1", "30000"};
    cmd("XCLAIM " QS " g alive 0 2-1 JUSTID");
    r = test_redis_argv(rc, &last, 8, other);
    cr_assert_eq(r->integer, 0, "another worker's entry stays its own");
    stop_redis();
}
