/*
 * test_queue_fleet.c - the queue's fleet side (queue/fleet_tick.c and its
 * scripts) on a real redis-server (started per test on a private unix
 * socket): PARK hands an entry to its pseudo-consumer with one delivery
 * less and keeps it in the stream; UNPARK takes only the pairs served, at
 * most its room, and drops an entry deleted meanwhile; RECLAIM never
 * claims parked entries and finds an expired lease behind thousands of
 * them; TRIM never deletes a parked entry; PARK_EXPIRE dead-letters only
 * entries parked longer than the ttl, with the reason the registry
 * implies; CLEANUP removes only dead consumers with nothing pending;
 * HEARTBEAT and RELEASE keep the registry. Then the whole path through a
 * running queue: parked jobs reach on_entry soon after set_served, even
 * while a read blocks; a park, the registry record and reload requests.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/util.h"
#include "queue/dlq.h"
#include "queue/queue_internal.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

static test_redis_t server;
static redisContext *rc;

static void start_redis(void) { rc = test_redis_start(&server, "fleet"); }

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

/* EVAL script with nkeys keys among args (NULL-terminated); the reply is
 * freed by the next call. */
static redisReply *eval(int script, int nkeys, ...)
{
    const char *argv[64] = {"EVAL", queue_scripts[script], NULL};
    char n[8];
    snprintf(n, sizeof n, "%d", nkeys);
    argv[2] = n;
    int argc = 3;
    va_list ap;
    va_start(ap, nkeys);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        cr_assert_lt(argc, 64);
        argv[argc++] = a;
    }
    va_end(ap);
    return test_redis_argv(rc, &last, argc, argv);
}

/* The owner and delivery count of pending entry id of s/g; 0 if it is
 * not pending. */
static int pending_of(const char *id, char *owner, size_t len,
                      long long *count)
{
    redisReply *r = cmd("XPENDING s g %s %s 1", id, id);
    if (r->elements == 0)
        return 0;
    snprintf(owner, len, "%s", r->element[0]->element[1]->str);
    *count = r->element[0]->element[3]->integer;
    return 1;
}

static void assert_owner(const char *id, const char *want, long long count)
{
    char owner[128];
    long long n;
    cr_assert(pending_of(id, owner, sizeof owner, &n), "%s not pending", id);
    cr_assert_str_eq(owner, want, "%s is pending to %s", id, owner);
    if (count >= 0)
        cr_assert_eq(n, count, "%s delivered %lld times, not %lld", id, n,
                     count);
}

static int exists(const char *id)
{
    return cmd("XRANGE s %s %s", id, id)->elements == 1;
}

/* Entry id (job, v) in s, delivered to consumer `to`, then handed with
 * XCLAIM to `owner` (idle ms, delivery count). Group g is created once. */
static void add_pending(const char *id, const char *job, const char *v,
                        const char *owner, long long idle, int count)
{
    cmd("XADD s %s job %s v %s payload {}", id, job, v);
    redisReply *g = redisCommand(rc, "XGROUP CREATE s g 0");
    freeReplyObject(g);
    cmd("XCLAIM s g %s 0 %s IDLE %lld RETRYCOUNT %d FORCE JUSTID", owner, id,
        idle, count);
}

/* ---- PARK ---------------------------------------------------------------- */

Test(queue_fleet, park_keeps_the_entry_pending_to_its_pseudo_consumer)
{
    start_redis();
    add_pending("1-1", "invoice_email", "2", "c", 0, 3);
    const char *pseudo = QUEUE_PARKED_PREFIX "invoice_email:v2";
    cr_assert_eq(eval(SCRIPT_PARK, 1, "s", "g", "c", "1-1", pseudo,
                      (char *)NULL)->integer, 1);
    assert_owner("1-1", pseudo, 2); /* the park did not count */
    cr_assert(exists("1-1"), "the entry stays in the stream");
    cr_assert_eq(cmd("XLEN s")->integer, 1);
    /* a resend after a lost reply: not ours any more, nothing changes */
    cr_assert_eq(eval(SCRIPT_PARK, 1, "s", "g", "c", "1-1", pseudo,
                      (char *)NULL)->integer, 0);
    assert_owner("1-1", pseudo, 2);
    /* pending to another consumer, or not pending: a no-op */
    add_pending("2-1", "invoice_email", "2", "other", 0, 1);
    cr_assert_eq(eval(SCRIPT_PARK, 1, "s", "g", "c", "2-1", pseudo,
                      (char *)NULL)->integer, 0);
    assert_owner("2-1", "other", 1);
    cmd("XADD s 3-1 job invoice_email v 2 payload {}");
    cr_assert_eq(eval(SCRIPT_PARK, 1, "s", "g", "c", "3-1", pseudo,
                      (char *)NULL)->integer, 0);
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 2);
    /* a first delivery parks with count 0, and RELEASE leaves it alone */
    add_pending("4-1", "invoice_email", "2", "c", 0, 1);
    eval(SCRIPT_PARK, 1, "s", "g", "c", "4-1", pseudo, (char *)NULL);
    assert_owner("4-1", pseudo, 0);
    eval(SCRIPT_RELEASE, 2, "s", "d", "g", "c", "1700000000000", "1000",
         (char *)NULL);
    assert_owner("4-1", pseudo, 0);
    assert_owner("1-1", pseudo, 2);
    stop_redis();
}

/* More (job, version) pairs than the limit: a job that would open a new
 * one is dead-lettered (written before its ack and delete); a job of a
 * pair already parked still parks. */
Test(queue_fleet, park_caps_the_pairs_parked_at_once)
{
    start_redis();
    add_pending("1-1", "a", "1", "c", 0, 1);
    add_pending("2-1", "b", "1", "c", 0, 1);
    add_pending("3-1", "a", "1", "c", 0, 1);
    add_pending("4-1", "c", "1", "c", 0, 1);
#define PARK2(id, pair)                                                     \
    eval(SCRIPT_PARK, 2, "s", "d", "g", "c", id, QUEUE_PARKED_PREFIX pair,  \
         "2", "no_handler", "no loaded plugin handles it",                  \
         "1700000000000", "1000", (char *)NULL)->integer
    cr_assert_eq(PARK2("1-1", "a:v1"), 1);
    cr_assert_eq(PARK2("2-1", "b:v1"), 1);
    cr_assert_eq(PARK2("3-1", "a:v1"), 1, "a pair already parked");
    cr_assert_eq(PARK2("4-1", "c:v1"), 2, "a third pair is over the limit");
#undef PARK2
    cr_assert_not(exists("4-1"), "the over-limit entry left the stream");
    redisReply *d = cmd("XRANGE d - +");
    cr_assert_eq(d->elements, 1, "one dead letter");
    const redisReply *f = d->element[0]->element[1];
    int reason = 0, said = 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (strcmp(f->element[i]->str, "dlq_reason") == 0)
            reason = strcmp(f->element[i + 1]->str, "no_handler") == 0;
        if (strcmp(f->element[i]->str, "dlq_error") == 0)
            said = strstr(f->element[i + 1]->str, "the limit") != NULL;
    }
    cr_assert(reason && said, "reason no_handler, error names the limit");
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 3);
    stop_redis();
}

/* ---- UNPARK -------------------------------------------------------------- */

#define PK QUEUE_PARKED_PREFIX

Test(queue_fleet, unpark_takes_only_served_pairs_within_its_room)
{
    start_redis();
    char id[16];
    for (int i = 1; i <= 5; i++) { /* 1-1 .. 5-1: invoice_email v2 */
        snprintf(id, sizeof id, "%d-1", i);
        add_pending(id, "invoice_email", "2", PK "invoice_email:v2", 5000,
                    i == 1 ? 4 : 0);
    }
    add_pending("6-1", "invoice_email", "1", PK "invoice_email:v1", 5000, 0);
    add_pending("7-1", "report", "1", PK "report:v1", 5000, 0);
    add_pending("8-1", "a:v3", "2", PK "a:v3:v2", 5000, 0); /* ":v" inside */
    add_pending("9-1", "x", "1", "busy", 5000, 1); /* a worker's own */
    /* room 4: from the served pairs only (v2-3 of invoice_email, and
     * a:v3 v2), the oldest first */
    redisReply *r = eval(SCRIPT_UNPARK, 1, "s", "g", "w", "4", "0",
                         "invoice_email", "2", "3", "a:v3", "2", "2",
                         "other", "1", "9", (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 4, "took %zu",
                 r->element[0]->elements);
    cr_assert_eq(r->element[1]->elements, 4);
    cr_assert_eq(r->element[3]->integer, 2, "two served ones left parked");
    for (size_t i = 0; i < 4; i++) {
        const redisReply *e = r->element[0]->element[i];
        cr_assert_eq(e->element[1]->type, REDIS_REPLY_ARRAY, "with fields");
    }
    /* start 0: the first served pseudo-consumer in name order */
    cr_assert_str_eq(r->element[0]->element[0]->element[0]->str, "8-1");
    cr_assert_eq(r->element[1]->element[0]->integer, 1);
    cr_assert_str_eq(r->element[2]->element[0]->element[0]->str, "a:v3");
    cr_assert_eq(r->element[2]->element[0]->element[1]->integer, 2);
    cr_assert_str_eq(r->element[0]->element[1]->element[0]->str, "1-1");
    cr_assert_eq(r->element[1]->element[1]->integer, 5, "4 + 1 delivery");
    assert_owner("8-1", "w", 1);
    assert_owner("1-1", "w", 5);
    assert_owner("3-1", "w", 1);
    assert_owner("4-1", PK "invoice_email:v2", 0);
    /* unserved ones are not touched: owner, count and idle time */
    assert_owner("6-1", PK "invoice_email:v1", 0);
    assert_owner("7-1", PK "report:v1", 0);
    assert_owner("9-1", "busy", 1);
    cr_assert_eq(cmd("XPENDING s g IDLE 5000 - + 10")->elements, 5,
                 "only the five not taken are still idle");

    /* a parked entry deleted from the stream is dropped, without error */
    cmd("XDEL s 4-1");
    r = eval(SCRIPT_UNPARK, 1, "s", "g", "w", "10", "0", "invoice_email",
             "2", "2", (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 1);
    cr_assert_str_eq(r->element[0]->element[0]->element[0]->str, "5-1");
    cr_assert_eq(r->element[3]->integer, 0);
    cr_assert_eq(cmd("XPENDING s g 4-1 4-1 1")->elements, 0, "4-1 dropped");
    /* nothing served is parked any more; other pairs stay */
    r = eval(SCRIPT_UNPARK, 1, "s", "g", "w", "10", "0", "invoice_email",
             "2", "2", "report", "2", "5", (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 0);
    assert_owner("7-1", PK "report:v1", 0);
    assert_owner("6-1", PK "invoice_email:v1", 0);
    /* room 0 only counts */
    r = eval(SCRIPT_UNPARK, 1, "s", "g", "w", "0", "0", "report", "1", "1",
             (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 0);
    cr_assert_eq(r->element[3]->integer, 1);
    assert_owner("7-1", PK "report:v1", 0);
    stop_redis();
}

/* ---- RECLAIM and TRIM ---------------------------------------------------- */

/* n entries of job `job` v1, parked, idle for a day, delivered `count`
 * times, ids 1-1 .. n-1. */
static void park_many(int n, const char *job, int count)
{
    static const char add[] =
        "redis.pcall('XGROUP', 'CREATE', KEYS[1], 'g', '0', 'MKSTREAM')\n"
        "for i = 1, tonumber(ARGV[1]) do\n"
        "  local id = i .. '-1'\n"
        "  redis.call('XADD', KEYS[1], id, 'job', ARGV[2], 'v', '1', "
        "'payload', '{}')\n"
        "  redis.call('XCLAIM', KEYS[1], 'g', ARGV[3], 0, id, 'IDLE', "
        "86400000, 'RETRYCOUNT', ARGV[4], 'FORCE', 'JUSTID')\n"
        "end\n"
        "return 1\n";
    char num[16], cnt[16], pseudo[128];
    snprintf(num, sizeof num, "%d", n);
    snprintf(cnt, sizeof cnt, "%d", count);
    snprintf(pseudo, sizeof pseudo, PK "%s:v1", job);
    const char *argv[] = {"EVAL", add, "1", "s", num, job, pseudo, cnt};
    cr_assert_eq(test_redis_argv(rc, &last, 8, argv)->type,
                 REDIS_REPLY_INTEGER, "park_many");
}

Test(queue_fleet, reclaim_skips_parked_entries_however_many)
{
    enum { N = 1500 };
    start_redis();
    /* delivered 9 times: poison, were they eligible at all */
    park_many(N, "old_job", 9);
    /* an expired lease beyond them, of a consumer named after them */
    add_pending("999999-1", "ok", "1", "zz-dead", 100000, 2);
    /* ours, expired: never claimed by ourselves */
    add_pending("1000000-1", "ok", "1", "w2", 100000, 1);
    redisReply *r = eval(SCRIPT_RECLAIM, 2, "s", "d", "g", "w2", "1000",
                         "10", "5", "1700000000000", "1000", (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 1, "claimed %zu",
                 r->element[0]->elements);
    cr_assert_str_eq(r->element[0]->element[0]->element[0]->str,
                     "999999-1");
    cr_assert_eq(r->element[1]->element[0]->integer, 3);
    cr_assert_eq(r->element[2]->elements, 0, "nothing poisoned");
    cr_assert_eq(cmd("EXISTS d")->integer, 0);
    r = cmd("XPENDING s g");
    cr_assert_eq(r->element[0]->integer, N + 2);
    cr_assert_eq(r->element[3]->elements, 2, "w2 and the parked one only");
    cr_assert_str_eq(r->element[3]->element[0]->element[0]->str,
                     PK "old_job:v1");
    cr_assert_str_eq(r->element[3]->element[0]->element[1]->str, "1500");
    assert_owner("1-1", PK "old_job:v1", 9);
    /* poison among real consumers is still buried first, counted */
    add_pending("1000001-1", "ok", "1", "gone", 100000, 5);
    r = eval(SCRIPT_RECLAIM, 2, "s", "d", "g", "w2", "1000", "10", "5",
             "1700000000000", "1000", (char *)NULL);
    cr_assert_eq(r->element[2]->elements, 1);
    cr_assert_str_eq(r->element[2]->element[0]->str, "1000001-1");
    cr_assert_eq(cmd("XLEN d")->integer, 1);
    cr_assert(!exists("1000001-1"));
    stop_redis();
}

Test(queue_fleet, trim_never_deletes_parked_entries)
{
    start_redis();
    for (int i = 1; i <= 6; i++)
        cmd("XADD s %d-1 job j v 1 payload {}", i);
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS s >");
    eval(SCRIPT_PARK, 1, "s", "g", "c", "2-1", PK "j:v1", (char *)NULL);
    eval(SCRIPT_PARK, 1, "s", "g", "c", "5-1", PK "j:v1", (char *)NULL);
    cmd("XACK s g 1-1 3-1 4-1 6-1");
    /* the acked ones are passed as stale, and so (wrongly) are the
     * parked ones: those must stay */
    redisReply *r = eval(SCRIPT_TRIM, 1, "s", "g", "1-1", "2-1", "3-1",
                         "4-1", "5-1", "6-1", (char *)NULL);
    cr_assert_str_eq(r->str, "2-1");
    cr_assert(exists("2-1") && exists("5-1"), "a parked entry was deleted");
    cr_assert(!exists("1-1") && !exists("3-1") && !exists("4-1") &&
              !exists("6-1"));
    cr_assert_eq(cmd("XLEN s")->integer, 2);
    /* again, with nothing left but them */
    eval(SCRIPT_TRIM, 1, "s", "g", "2-1", "5-1", (char *)NULL);
    cr_assert_eq(cmd("XLEN s")->integer, 2);
    assert_owner("2-1", PK "j:v1", 0);
    stop_redis();
}

/* ---- PARK_EXPIRE --------------------------------------------------------- */

static long long server_ms(void)
{
    redisReply *t = cmd("TIME");
    return atoll(t->element[0]->str) * 1000 + atoll(t->element[1]->str) / 1000;
}

/* The dead letter in d whose dlq_source_id is id (caller frees), or NULL. */
static redisReply *letter_of(const char *id)
{
    redisReply *r = redisCommand(rc, "XRANGE d - +");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++) {
        if (dlq_value_is(dlq_field(r->element[i], "dlq_source_id"), id)) {
            const char *eid = r->element[i]->element[0]->str;
            redisReply *one = redisCommand(rc, "XRANGE d %s %s", eid, eid);
            freeReplyObject(r);
            return one;
        }
    }
    freeReplyObject(r);
    return NULL;
}

static void assert_letter(const char *id, const char *reason,
                          const char *error)
{
    redisReply *l = letter_of(id);
    cr_assert_not_null(l, "no dead letter for %s", id);
    const redisReply *e = l->element[0];
    cr_assert(dlq_value_is(dlq_field(e, "dlq_reason"), reason),
              "%s: reason %s", id, dlq_field(e, "dlq_reason")->str);
    cr_assert_str_eq(dlq_field(e, "dlq_error")->str, error);
    cr_assert(dlq_value_is(dlq_field(e, "payload"), "{}"), "kept intact");
    cr_assert(dlq_value_is(dlq_field(e, "dlq_worker"), "w"));
    freeReplyObject(l);
    cr_assert(!exists(id), "%s still in the stream", id);
    cr_assert_eq(cmd("XPENDING s g %s %s 1", id, id)->elements, 0);
}

#define DAY 86400000LL

Test(queue_fleet, park_expire_dead_letters_only_entries_parked_too_long)
{
    start_redis();
    long long now = server_ms();
    /* live w1 serves invoice_email v1; w9 served "gone_job" but is dead */
    cmd("SET rec:w1 {\"v\":1,\"plugins\":[{\"name\":\"p\",\"serves\":"
        "[{\"job\":\"invoice_email\",\"min\":1,\"max\":1}]}]}");
    cmd("SET rec:w9 {\"v\":1,\"plugins\":[{\"serves\":"
        "[{\"job\":\"gone_job\",\"min\":1,\"max\":1}]}]}");
    cmd("SET rec:w8 not-json");
    cmd("ZADD w %lld w1 %lld w9 %lld w8", now, now - 60000, now);
    add_pending("1-1", "invoice_email", "2", PK "invoice_email:v2",
                8 * DAY, 0);
    add_pending("2-1", "invoice_email", "2", PK "invoice_email:v2", 1000, 0);
    add_pending("3-1", "gone_job", "1", PK "gone_job:v1", 7 * DAY + 3600000,
                0);
    add_pending("4-1", "gone_job", "1", PK "gone_job:v1", 9 * DAY, 0);
    cmd("XDEL s 4-1");
    add_pending("5-1", "ok", "1", "c", 30 * DAY, 1); /* a stuck real one */
    /* a disabled job's entries stay parked however long */
    add_pending("5-2", "held_job", "1", PK "held_job:v1", 30 * DAY, 0);
    cmd("HSET dis held_job {}");
    redisReply *r = eval(SCRIPT_PARK_EXPIRE, 5, "s", "d", "w", "rec:", "dis",
                         "g",
                         "w", "604800000", "100", "5000", "1000", (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 2, "dead-lettered %zu",
                 r->element[0]->elements);
    cr_assert_eq(r->element[1]->elements, 1);
    cr_assert_str_eq(r->element[1]->element[0]->str, "4-1");
    assert_letter("1-1", "schema_unsupported",
                  "parked 8d 0h: no live worker serves invoice_email v2");
    assert_letter("3-1", "no_handler",
                  "parked 7d 1h: no live worker serves gone_job v1");
    cr_assert_eq(cmd("XLEN d")->integer, 2, "none for the deleted entry");
    cr_assert_eq(cmd("XPENDING s g 4-1 4-1 1")->elements, 0);
    assert_owner("2-1", PK "invoice_email:v2", 0);
    assert_owner("5-1", "c", 1);
    assert_owner("5-2", PK "held_job:v1", 0);
    /* the batch limit, and a live worker that serves the very pair */
    cmd("SET rec:w1 {\"plugins\":[{\"serves\":"
        "[{\"job\":\"invoice_email\",\"min\":1,\"max\":3}]}]}");
    cmd("XCLAIM s g %s 0 2-1 IDLE %lld JUSTID", PK "invoice_email:v2",
        8 * DAY);
    add_pending("6-1", "invoice_email", "2", PK "invoice_email:v2", 8 * DAY,
                0);
    r = eval(SCRIPT_PARK_EXPIRE, 5, "s", "d", "w", "rec:", "dis", "g", "w",
             "604800000", "1", "5000", "1000", (char *)NULL);
    cr_assert_eq(r->element[0]->elements, 1);
    assert_letter("2-1", "schema_unsupported",
                  "parked 8d 0h: no live worker took invoice_email v2");
    assert_owner("6-1", PK "invoice_email:v2", 0);
    stop_redis();
}

/* ---- CLEANUP, HEARTBEAT, RELEASE ---------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int has_consumer(const char *name)
{
    redisReply *r = cmd("XINFO CONSUMERS s g");
    for (size_t i = 0; i < r->elements; i++)
        if (strcmp(r->element[i]->element[1]->str, name) == 0)
            return 1;
    return 0;
}

Test(queue_fleet, cleanup_removes_only_dead_consumers_with_nothing_pending)
{
    start_redis();
    cmd("XADD s 1-1 job j v 1 payload {}");
    cmd("XADD s 2-1 job j v 1 payload {}");
    cmd("XGROUP CREATE s g 0");
    const char *empty[] = {"dead", "live", "stale", "me", "fresh",
                           PK "j:v1"};
    for (size_t i = 0; i < 6; i++)
        cmd("XGROUP CREATECONSUMER s g %s", empty[i]);
    cmd("XREADGROUP GROUP g busy COUNT 1 STREAMS s >");   /* 1-1 */
    cmd("XCLAIM s g %s 0 2-1 FORCE JUSTID", PK "k:v1"); /* parked */
    sleep_ms(300);
    cmd("XREADGROUP GROUP g fresh COUNT 1 STREAMS s 0"); /* seen now */
    long long now = server_ms();
    cmd("ZADD w %lld live %lld stale", now, now - 60000);
    /* min idle 200 ms for the test (the worker passes 30 s) */
    redisReply *r = eval(SCRIPT_CLEANUP, 2, "s", "w", "g", "me", "5000",
                         "200", "100", (char *)NULL);
    cr_assert_eq(r->elements, 3, "removed %zu", r->elements);
    cr_assert(!has_consumer("dead") && !has_consumer("stale") &&
              !has_consumer(PK "j:v1"));
    cr_assert(has_consumer("busy"), "a consumer with pending entries");
    cr_assert(has_consumer(PK "k:v1"), "a pseudo-consumer with one parked");
    cr_assert(has_consumer("live") && has_consumer("me") &&
              has_consumer("fresh"));
    assert_owner("1-1", "busy", 1);
    assert_owner("2-1", PK "k:v1", -1);
    /* the batch limit; and a missing stream or group is no error */
    sleep_ms(300);
    r = eval(SCRIPT_CLEANUP, 2, "s", "w", "g", "me", "5000", "200", "1",
             (char *)NULL);
    cr_assert_eq(r->elements, 1);
    cr_assert_eq(eval(SCRIPT_CLEANUP, 2, "s", "w", "nogroup", "me", "5000",
                      "200", "1", (char *)NULL)->elements, 0);
    cr_assert_eq(eval(SCRIPT_CLEANUP, 2, "nostream", "w", "g", "me", "5000",
                      "200", "1", (char *)NULL)->elements, 0);
    stop_redis();
}

Test(queue_fleet, heartbeat_and_release_keep_the_registry)
{
    start_redis();
    long long before = server_ms();
    cmd("ZADD w %lld old %lld recent", before - 6000, before - 4000);
    redisReply *r = eval(SCRIPT_HEARTBEAT, 2, "w", "rec:me", "me",
                         "{\"v\":1,\"host\":\"h\",\"pid\":7}", "5000", "7",
                         "h", (char *)NULL);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    long long at = r->element[0]->integer;
    cr_assert(at >= before && at < before + 1000, "server clock");
    cr_assert_str_eq(r->element[1]->str, "", "the first record is ours");
    cr_assert_str_eq(cmd("GET rec:me")->str,
                     "{\"v\":1,\"host\":\"h\",\"pid\":7}");
    /* another process under the same name: reported, both ways */
    r = eval(SCRIPT_HEARTBEAT, 2, "w", "rec:me", "me",
             "{\"v\":1,\"host\":\"h\",\"pid\":8}", "5000", "8", "h", (char *)NULL);
    cr_assert_str_eq(r->element[1]->str, "host h pid 7");
    r = eval(SCRIPT_HEARTBEAT, 2, "w", "rec:me", "me",
             "{\"v\":1,\"host\":\"h\",\"pid\":7}", "5000", "7", "h", (char *)NULL);
    cr_assert_str_eq(r->element[1]->str, "host h pid 8");
    r = eval(SCRIPT_HEARTBEAT, 2, "w", "rec:me", "me",
             "{\"v\":1,\"host\":\"h\",\"pid\":7}", "5000", "7", "h", (char *)NULL);
    cr_assert_str_eq(r->element[1]->str, "", "ours again");
    /* the duplicate (pid 8) stops: it must not take our record with it */
    cmd("XGROUP CREATE s g 0 MKSTREAM");
    eval(SCRIPT_RELEASE, 4, "s", "d", "w", "rec:me", "g", "me",
         "1700000000000", "1000", "8", "h", (char *)NULL);
    cr_assert_eq(cmd("EXISTS rec:me")->integer, 1, "another's release");
    long long pttl = cmd("PTTL rec:me")->integer;
    cr_assert(pttl > 4000 && pttl <= 5000, "ttl %lld", pttl);
    cr_assert_geq(atoll(cmd("ZSCORE w me")->str), at);
    cr_assert_eq(cmd("ZSCORE w old")->type, REDIS_REPLY_NIL, "expired");
    cr_assert_eq(cmd("ZSCORE w recent")->type, REDIS_REPLY_STRING);
    /* RELEASE at shutdown takes the worker out at once */
    eval(SCRIPT_RELEASE, 4, "s", "d", "w", "rec:me", "g", "me",
         "1700000000000", "1000", "7", "h", (char *)NULL);
    cr_assert_eq(cmd("EXISTS rec:me")->integer, 0);
    cr_assert_eq(cmd("ZSCORE w me")->type, REDIS_REPLY_NIL);
    cr_assert_eq(cmd("ZSCORE w recent")->type, REDIS_REPLY_STRING);
    /* a reload reply */
    eval(SCRIPT_RELOAD_REPLY, 1, "rr", "me", "{\"status\":\"ok\"}", "600",
         (char *)NULL);
    cr_assert_str_eq(cmd("HGET rr me")->str, "{\"status\":\"ok\"}");
    cr_assert_gt(cmd("TTL rr")->integer, 590);
    stop_redis();
}

/* ---- through a running queue --------------------------------------------- */

#define QS "jobrt:{q}:stream"

typedef struct {
    queue_redis_t *q;
    int free_slots;
    char got[16][48];
    uint32_t deliveries[16];
    int n_got;
    char reload[64];
    int n_reload;
    int step;
    int64_t deadline, served_at, took_ms;
} fixture_t;

static void on_entry(void *arg, const char *id, const strview_t *fv,
                     size_t n, uint32_t deliveries)
{
    fixture_t *f = arg;
    (void)fv;
    (void)n;
    cr_assert_lt(f->n_got, 16);
    cr_assert_gt(f->free_slots, 0, "entry %s arrived with no slot", id);
    f->free_slots--;
    f->deliveries[f->n_got] = deliveries;
    snprintf(f->got[f->n_got++], sizeof f->got[0], "%s", id);
}

static size_t capacity(void *arg)
{
    return (size_t)((fixture_t *)arg)->free_slots;
}

static int is_inflight(void *arg, const char *id)
{
    (void)arg;
    (void)id;
    return 0;
}
static void on_progress(void *arg) { (void)arg; }
static void on_cancelled(void *arg, const char *id)
{
    (void)arg;
    (void)id;
}
static size_t lease_ids(void *arg, const char **ids, size_t max)
{
    (void)arg;
    (void)ids;
    (void)max;
    return 0;
}
static const char *record(void *arg, size_t *len)
{
    static const char rec[] = "{\"v\":1,\"consumer\":\"w\"}";
    (void)arg;
    *len = sizeof rec - 1;
    return rec;
}
static void on_reload(void *arg, const char *id)
{
    fixture_t *f = arg;
    f->n_reload++;
    snprintf(f->reload, sizeof f->reload, "%s", id);
}

static int got_id(const fixture_t *f, const char *id)
{
    for (int i = 0; i < f->n_got; i++)
        if (strcmp(f->got[i], id) == 0)
            return 1;
    return 0;
}

/* Steps, every 20 ms: once started (a read blocks with all 3 slots),
 * serve invoice_email v2 and see both parked jobs arrive well before the
 * read's 3 s block would end; then park the new job, check the registry,
 * ask for a reload; then release. */
static void on_step(uv_timer_t *t)
{
    fixture_t *f = t->data;
    queue_redis_t *q = f->q;
    int64_t now = util_mono_ms();
    cr_assert_lt(now, f->deadline, "stuck at step %d (got %d)", f->step,
                 f->n_got);
    if (f->step == 0 && q->started && q->read_outstanding && !q->history &&
        q->reload_polled) {
        queue_served_t s[] = {{"invoice_email", 2, 2}, {"noop", 1, 1}};
        cr_assert_eq(queue_redis_set_served(q, s, 2), 0);
        f->served_at = now;
        f->step = 1;
    } else if (f->step == 1 && f->n_got == 2) {
        f->took_ms = now - f->served_at;
        cmd("XADD " QS " 9-1 job other v 1 payload {}");
        f->step = 2;
    } else if (f->step == 2 && got_id(f, "9-1")) {
        queue_redis_park(q, "9-1", "job-9", "other", 1, "no_handler",
                         "no loaded plugin handles job 'other'");
        f->free_slots++;
        cmd("SET jobrt:{q}:reload r2");
        f->step = 3;
    } else if (f->step == 3 && f->n_reload == 1 &&
               cmd("XPENDING " QS " g 9-1 9-1 1")->elements == 1 &&
               strcmp(last->element[0]->element[1]->str,
                      PK "other:v1") == 0) {
        cr_assert_eq(last->element[0]->element[3]->integer, 0);
        cr_assert_str_eq(f->reload, "r2");
        cr_assert_str_eq(cmd("GET jobrt:{q}:worker:w")->str,
                         "{\"v\":1,\"consumer\":\"w\"}");
        cr_assert_eq(cmd("ZSCORE jobrt:{q}:workers w")->type,
                     REDIS_REPLY_STRING);
        cr_assert_eq(cmd("ZSCORE jobrt:queues q")->type, REDIS_REPLY_STRING);
        queue_redis_reload_reply(q, "r2", "{\"status\":\"unchanged\"}", 23);
        queue_redis_stop_fetching(q);
        queue_redis_release_pending(q);
        f->step = 4;
    } else if (f->step == 4 && queue_redis_idle(q)) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        queue_redis_destroy(q);
    }
}

Test(queue_fleet, parked_jobs_reach_a_worker_that_serves_them)
{
    start_redis();
    cmd("XGROUP CREATE " QS " g 0 MKSTREAM");
    cmd("XADD " QS " 1-1 job invoice_email v 2 payload {}");
    cmd("XADD " QS " 2-1 job invoice_email v 2 payload {}");
    cmd("XADD " QS " 3-1 job invoice_email v 1 payload {}");
    cmd("XREADGROUP GROUP g gone COUNT 10 STREAMS " QS " >");
    cmd("XCLAIM " QS " g %s 0 1-1 2-1 RETRYCOUNT 2 JUSTID",
        PK "invoice_email:v2");
    cmd("XCLAIM " QS " g %s 0 3-1 JUSTID", PK "invoice_email:v1");
    cmd("SET jobrt:{q}:reload r1"); /* before the worker: not for it */

    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    redis_target_t target;
    memset(&target, 0, sizeof target);
    target.path = server.sock;
    snprintf(target.display, sizeof target.display, "%s", server.sock);
    queue_redis_opts_t o = {.target = &target, .ns = "jobrt", .queue = "q",
                            .group = "g", .consumer = "w", .block_ms = 3000,
                            .lease_ms = 30000, .max_deliveries = 5,
                            .dlq_max_len = 10, .slots = 3};
    fixture_t f = {.free_slots = 3};
    queue_callbacks_t cb = {on_entry,     capacity,  is_inflight, on_progress,
                            on_cancelled, lease_ids, NULL,        &f,
                            record,       on_reload,   NULL,        NULL,
                            NULL};
    char err[256];
    f.q = queue_redis_create(&loop, &o, &cb, err, sizeof err);
    cr_assert_not_null(f.q, "%s", err);
    queue_redis_start(f.q);
    uv_timer_t step;
    uv_timer_init(&loop, &step);
    step.data = &f;
    f.deadline = util_mono_ms() + 8000;
    uv_timer_start(&step, on_step, 20, 20);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);

    cr_assert_eq(f.step, 4);
    cr_assert(got_id(&f, "1-1") && got_id(&f, "2-1"));
    cr_assert(!got_id(&f, "3-1"), "v1 is not served here");
    cr_assert_eq(f.deliveries[0], 3, "2 + 1 delivery");
    cr_assert_lt(f.took_ms, 1500, "took %lld ms: the blocked read held "
                 "the slots", (long long)f.took_ms);
    cr_assert_eq(f.n_reload, 1, "r1 was there before the worker");
    /* RELEASE handed back what was ours and left the registry */
    cr_assert_eq(cmd("EXISTS jobrt:{q}:worker:w")->integer, 0);
    cr_assert_eq(cmd("ZSCORE jobrt:{q}:workers w")->type, REDIS_REPLY_NIL);
    cr_assert_str_eq(cmd("HGET jobrt:{q}:reload:r2 w")->str,
                     "{\"status\":\"unchanged\"}");
    redisReply *p = cmd("XPENDING " QS " g");
    cr_assert_eq(p->element[0]->integer, 2, "the two parked ones stay");
    stop_redis();
}
