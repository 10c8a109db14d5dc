/*
 * test_records.c - succeeded records in the queue's record buckets
 * (queue/records.h) against a private redis-server: what the COMPLETE
 * script writes (records, build table, index, expiry only ever later,
 * old buckets freed when a new one opens) and what records_get finds
 * (a record key of its own first, then the newest bucket).
 */
#include <criterion/criterion.h>

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/keys.h"
#include "queue/records.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

static test_redis_t server;
static redisContext *rc;
static redisReply *last;
static queue_keys_t keys;

static redisReply *cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (last)
        freeReplyObject(last);
    last = redisvCommand(rc, fmt, ap);
    va_end(ap);
    cr_assert_not_null(last, "lost the connection: %s", rc->errstr);
    cr_assert_neq(last->type, REDIS_REPLY_ERROR, "%s", last->str);
    return last;
}

/* Called by each test (explicitly: cppcheck cannot parse a TestSuite
 * with .init/.fini). */
static void setup(void)
{
    rc = test_redis_start(&server, "records");
    char err[256];
    cr_assert_eq(queue_keys_init(&keys, "jobrt", "q", err, sizeof err), 0,
                 "%s", err);
    cmd("XADD %s 1-1 job ok v 1 payload {}", keys.stream);
    cmd("XADD %s 2-1 job ok v 1 payload {}", keys.stream);
    cmd("XADD %s 3-1 job ok v 1 payload {}", keys.stream);
    cmd("XGROUP CREATE %s g 0", keys.stream);
    cmd("XREADGROUP GROUP g c COUNT 10 STREAMS %s >", keys.stream);
}

static void teardown(void)
{
    if (last)
        freeReplyObject(last);
    last = NULL;
    redisFree(rc);
    test_redis_stop(&server);
}

/* COMPLETE of entry sid with the record of job id in the bucket of start
 * (gone, and the keys' expiry in seconds from now, as the worker computes
 * them; now is the worker's clock, which the script does not use), build
 * key bk. */
static void complete(const char *sid, const char *id, const char *record,
                     long long start, long long gone, long long expire_in,
                     long long now, const char *bk, const char *build)
{
    char bucket[600], builds[620], s[24], g[24], e[24], n[24];
    snprintf(bucket, sizeof bucket, "%s:%lld", keys.done, start);
    snprintf(builds, sizeof builds, "%s:builds", bucket);
    snprintf(s, sizeof s, "%lld", start);
    snprintf(g, sizeof g, "%lld", gone);
    snprintf(e, sizeof e, "%lld", expire_in);
    snprintf(n, sizeof n, "%lld", now);
    const char *argv[] = {"EVAL",    queue_scripts[SCRIPT_COMPLETE],
                          "4",       keys.stream,
                          bucket,    builds,
                          keys.done, "g",
                          s,         g,
                          e,         n,
                          "1",       sid,
                          "1",       id,
                          record,    build ? "1" : "0",
                          bk,        build};
    if (last)
        freeReplyObject(last);
    last = redisCommandArgv(rc, build ? 20 : 18, argv, NULL);
    cr_assert_not_null(last);
    cr_assert_eq(last->type, REDIS_REPLY_INTEGER, "%s",
                 last->type == REDIS_REPLY_ERROR ? last->str : "?");
    cr_assert_eq(last->integer, 1);
}

#define BUILD                                                                 \
    "{\"plugin\":\"p\",\"plugin_version\":\"1.0\",\"build_id\":"              \
    "\"b-1\",\"sha256\":\"abc\",\"generation\":2,\"worker\":\"w-1\"}"

/* The server's clock, in seconds. */
static long long server_now(void)
{
    return strtoll(cmd("TIME")->element[0]->str, NULL, 10);
}

Test(records, complete_writes_the_bucket_its_builds_and_the_index)
{
    setup();
    long long t = 2000000000; /* bucket start and times: any */
    complete("1-1", "job-a", "[1,\"k1\",\"ok\",1,1,1,1000,3,2,1]{\"r\":1}", t,
             t + 120, 180, t - 5, "k1", BUILD);
    char bucket[600];
    snprintf(bucket, sizeof bucket, "%s:%lld", keys.done, t);
    cr_assert_str_eq(cmd("HGET %s job-a", bucket)->str,
                     "[1,\"k1\",\"ok\",1,1,1,1000,3,2,1]{\"r\":1}");
    cr_assert_str_eq(cmd("HGET %s:builds k1", bucket)->str, BUILD);
    /* the expiry is relative to when the call ran: a late one goes later */
    long long ttl = cmd("TTL %s", bucket)->integer;
    cr_assert(ttl > 170 && ttl <= 180, "TTL %lld", ttl);
    ttl = cmd("TTL %s:builds", bucket)->integer;
    cr_assert(ttl > 170 && ttl <= 180, "TTL %lld", ttl);
    cr_assert_eq(cmd("TTL %s", keys.done)->integer, -1, "the index has none");
    cr_assert_str_eq(cmd("ZSCORE %s %lld", keys.done, t)->str, "2000000120");
    cr_assert_eq(cmd("XPENDING %s g", keys.stream)->element[0]->integer, 2,
                 "acked after writing");
    /* a worker with a shorter TTL: the bucket keeps the later expiry */
    complete("2-1", "job-b", "[1,\"k1\",\"ok\",1,1,1,1000,3,2,1]", t, t + 60,
             90, t - 5, "k1", NULL);
    ttl = cmd("TTL %s", bucket)->integer;
    cr_assert(ttl > 170, "TTL %lld: shortened", ttl);
    cr_assert_str_eq(cmd("ZSCORE %s %lld", keys.done, t)->str, "2000000120");
    cr_assert_eq(cmd("HLEN %s", bucket)->integer, 2);
    teardown();
}

Test(records, a_new_bucket_frees_those_whose_time_has_come)
{
    setup();
    long long now = server_now();
    /* two buckets an earlier writer left: one whose time (by the server's
     * clock) has come, one whose time has not */
    cmd("HSET %s:%lld old [1]", keys.done, now - 100);
    cmd("HSET %s:%lld:builds k {}", keys.done, now - 100);
    cmd("ZADD %s %lld %lld", keys.done, now - 10, now - 100);
    cmd("HSET %s:%lld mid [1]", keys.done, now - 50);
    cmd("ZADD %s %lld %lld", keys.done, now + 3600, now - 50);
    /* a worker whose clock is far behind: the server's clock decides */
    complete("3-1", "new", "[1,\"\",\"ok\",1,1,1,1,null,null,null]", now,
             now + 3600, 3700, 0, "", NULL);
    cr_assert_eq(cmd("EXISTS %s:%lld", keys.done, now - 100)->integer, 0,
                 "the old bucket was unlinked");
    cr_assert_eq(cmd("EXISTS %s:%lld:builds", keys.done, now - 100)->integer,
                 0, "with its build table");
    cr_assert_eq(cmd("ZCARD %s", keys.done)->integer, 2);
    cr_assert_eq(cmd("EXISTS %s:%lld", keys.done, now - 50)->integer, 1,
                 "a bucket whose time has not come stays");
    /* RECORDS_PRUNE, what a worker sends without events, does the same */
    cmd("ZADD %s %lld %lld", keys.done, now - 1, now - 50);
    cr_assert_eq(cmd("EVAL %s 1 %s", queue_scripts[SCRIPT_RECORDS_PRUNE],
                     keys.done)->integer,
                 1);
    cr_assert_eq(cmd("EXISTS %s:%lld", keys.done, now - 50)->integer, 0);
    cr_assert_eq(cmd("ZCARD %s", keys.done)->integer, 1);
    teardown();
}

Test(records, get_finds_the_own_key_first_then_the_newest_bucket)
{
    setup();
    long long t = 2000000000;
    char *out = NULL, err[256] = "";
    size_t len = 0;
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-a", &out, &len, err, sizeof err), 0,
        "no record yet: %s", err);
    complete("1-1", "job-a", "[1,\"k1\",\"ok\",1,1,1,1000,3,2,1]", t, t + 60,
             90, t - 5, "k1", BUILD);
    /* a later run of the same id (a re-enqueue after the first finished) */
    complete("2-1", "job-a", "[1,\"k1\",\"ok\",1,2,1,2000,3,2,1]\"second\"",
             t + 30, t + 90, 120, t - 5, "k1", BUILD);
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-a", &out, &len, err, sizeof err), 1,
        "%s", err);
    cr_assert_str_eq(
        out,
        "{\"id\":\"job-a\",\"queue\":\"q\",\"job\":\"ok\",\"v\":1,"
        "\"status\":\"succeeded\",\"attempts\":2,\"deliveries\":1,"
        "\"reason\":null,\"result\":\"second\",\"error\":null,"
        "\"plugin\":\"p\",\"plugin_version\":\"1.0\",\"build_id\":\"b-1\","
        "\"sha256\":\"abc\",\"generation\":2,\"enqueued_at\":1997,"
        "\"dispatched_at\":1998,\"started_at\":1999,\"finished_at\":2000,"
        "\"worker\":\"w-1\"}");
    cr_assert_eq(len, strlen(out));
    free(out);
    /* a record key of its own (a dead letter's) that finished later wins */
    cmd("SET %sjob-a {\"status\":\"dead\",\"finished_at\":3000}",
        keys.job_prefix);
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-a", &out, &len, err, sizeof err), 1,
        "%s", err);
    cr_assert_str_eq(out, "{\"status\":\"dead\",\"finished_at\":3000}");
    free(out);
    /* one that finished earlier (the job was retried and succeeded) not */
    cmd("SET %sjob-a {\"status\":\"dead\",\"finished_at\":1500}",
        keys.job_prefix);
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-a", &out, &len, err, sizeof err), 1,
        "%s", err);
    cr_assert(strstr(out, "\"status\":\"succeeded\"") != NULL, "%s", out);
    free(out);
    /* only its own key: that one */
    cmd("SET %sjob-z {\"status\":\"cancelled\"}", keys.job_prefix);
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-z", &out, &len, err, sizeof err), 1,
        "%s", err);
    cr_assert_str_eq(out, "{\"status\":\"cancelled\"}");
    free(out);
    /* a build table without the entry: the record still reads, worker null */
    complete("3-1", "job-c", "[1,\"k9\",\"ok\",1,1,1,5,null,null,null]", t,
             t + 60, 90, t - 5, "k1", NULL);
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-c", &out, &len, err, sizeof err), 1,
        "%s", err);
    cr_assert(strstr(out, "\"result\":null,\"error\":null,\"enqueued_at\":null"
                          ",\"dispatched_at\":null,\"started_at\":null,"
                          "\"finished_at\":5,\"worker\":null}") != NULL,
              "%s", out);
    free(out);
    teardown();
}

Test(records, get_names_the_job_of_a_record_it_cannot_read)
{
    setup();
    long long t = 2000000000;
    complete("1-1", "job-x", "garbage", t, t + 60, 90, t - 5, "k1", NULL);
    char *out = NULL, err[256] = "";
    size_t len = 0;
    cr_assert_eq(
        records_get(rc, &keys, "q", "job-x", &out, &len, err, sizeof err), -1);
    cr_assert(strstr(err, "job job-x") != NULL, "%s", err);
    teardown();
}

Test(records, bucket_width_is_a_64th_of_the_ttl_at_least_a_second)
{
    cr_assert_eq(records_bucket_width_s(0), 1);
    cr_assert_eq(records_bucket_width_s(10), 1);
    cr_assert_eq(records_bucket_width_s(3600), 56);
    cr_assert_eq(records_bucket_width_s(7 * 86400), 9450);
}
