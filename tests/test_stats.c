/*
 * test_stats.c - one queue's numbers (queue/stats.c) read from a real
 * redis-server: a queue never used reads as zeros; entries added before
 * any group all wait; with a group, waiting, running (a worker's and a
 * lost: holder's), parked per pair, delayed, DLQ, live workers and the
 * oldest waiting entry's age come out exactly; a key of the wrong type is
 * an error naming the stream.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "queue/stats.h"
#include "support/test_redis.h"

#define QS "jobrt:{q}:stream"

static test_redis_t server;
static redisContext *c;
static redisReply *last;

static void setup(void)
{
    c = test_redis_start(&server, "stats");
}

static void teardown(void)
{
    if (last)
        freeReplyObject(last);
    last = NULL;
    redisFree(c);
    test_redis_stop(&server);
}

static queue_keys_t keys(void)
{
    queue_keys_t k;
    char err[128];
    cr_assert_eq(queue_keys_init(&k, "jobrt", "q", err, sizeof err), 0);
    return k;
}

static long long server_now(void)
{
    redisReply *t = test_redis_cmd(c, &last, "TIME");
    return atoll(t->element[0]->str) * 1000 +
           atoll(t->element[1]->str) / 1000;
}

/* Each test calls setup() and teardown() itself: cppcheck cannot parse a
 * TestSuite with .init/.fini. The server dies with the test process if an
 * assertion ends it first. */

Test(stats, a_queue_never_used_reads_as_zeros)
{
    setup();
    queue_keys_t k = keys();
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), 0,
                 "%s", err);
    cr_assert(s.server_ms > 0);
    cr_assert_eq(s.length, 0);
    cr_assert_eq(s.waiting, 0);
    cr_assert_eq(s.pending + s.running + s.parked + s.delayed + s.dlq, 0);
    cr_assert_eq(s.live_workers, 0);
    cr_assert_eq(s.oldest_waiting_ms, -1);
    cr_assert_eq(s.n_parked_pairs, 0);
    teardown();
}

Test(stats, entries_before_any_group_all_wait)
{
    setup();
    test_redis_cmd(c, &last, "XADD " QS " 1000-0 job a v 1 payload 1");
    test_redis_cmd(c, &last, "XADD " QS " 2000-0 job a v 1 payload 1");
    queue_keys_t k = keys();
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(s.length, 2);
    cr_assert_eq(s.waiting, 2);
    cr_assert_eq(s.pending, 0);
    cr_assert_eq(s.oldest_waiting_ms, s.server_ms - 1000);
    teardown();
}

Test(stats, every_number_of_a_busy_queue)
{
    setup();
    for (int i = 1; i <= 6; i++)
        test_redis_cmd(c, &last, "XADD " QS " %d-0 job a v 1 payload 1", i);
    test_redis_cmd(c, &last, "XGROUP CREATE " QS " jobrt 0");
    const char *takers[] = {"parked:email:v2", "parked:a:vb:v7",
                            "parked:a:vb:v7", "lost:w9", "w1"};
    for (size_t i = 0; i < 5; i++)
        test_redis_cmd(c, &last, "XREADGROUP GROUP jobrt %s COUNT 1 "
                       "STREAMS " QS " >", takers[i]);
    test_redis_cmd(c, &last, "ZADD jobrt:{q}:delayed 1 m1 2 m2 3 m3");
    test_redis_cmd(c, &last, "XADD jobrt:{q}:dlq * job a");
    test_redis_cmd(c, &last, "XADD jobrt:{q}:dlq * job b");
    long long now = server_now();
    test_redis_cmd(c, &last, "ZADD jobrt:{q}:workers %lld w1 %lld old", now,
                   now - 10000);

    queue_keys_t k = keys();
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(s.length, 6);
    cr_assert_eq(s.waiting, 1);
    cr_assert_eq(s.pending, 5);
    cr_assert_eq(s.parked, 3);
    cr_assert_eq(s.running, 2, "a worker's and a lost: holder's");
    cr_assert_eq(s.delayed, 3);
    cr_assert_eq(s.dlq, 2);
    cr_assert_eq(s.live_workers, 1);
    cr_assert_eq(s.oldest_waiting_ms, s.server_ms - 6);
    cr_assert_eq(s.n_parked_pairs, 2);
    /* XPENDING lists consumers by name */
    cr_assert_str_eq(s.parked_pairs[0].job, "a:vb");
    cr_assert_eq(s.parked_pairs[0].version, 7);
    cr_assert_eq(s.parked_pairs[0].count, 2);
    cr_assert_str_eq(s.parked_pairs[1].job, "email");
    cr_assert_eq(s.parked_pairs[1].version, 2);
    cr_assert_eq(s.parked_pairs[1].count, 1);

    /* all delivered: nothing waits */
    test_redis_cmd(c, &last, "XREADGROUP GROUP jobrt w1 COUNT 1 STREAMS "
                   QS " >");
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), 0);
    cr_assert_eq(s.waiting, 0);
    cr_assert_eq(s.running, 3);
    cr_assert_eq(s.oldest_waiting_ms, -1);
    teardown();
}

Test(stats, a_deleted_entry_does_not_hide_the_oldest_waiting)
{
    setup();
    for (int i = 1; i <= 3; i++)
        test_redis_cmd(c, &last, "XADD " QS " %d-0 job a v 1 payload 1", i);
    test_redis_cmd(c, &last, "XGROUP CREATE " QS " jobrt 0");
    test_redis_cmd(c, &last, "XDEL " QS " 3-0"); /* lag may turn nil */
    queue_keys_t k = keys();
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), 0);
    cr_assert(s.waiting == -1 || s.waiting == 2, "%lld", s.waiting);
    cr_assert_eq(s.oldest_waiting_ms, s.server_ms - 1);
    teardown();
}

Test(stats, a_key_of_the_wrong_type_names_the_stream)
{
    setup();
    test_redis_cmd(c, &last, "SET " QS " x");
    queue_keys_t k = keys();
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), -1);
    cr_assert(strstr(err, QS) != NULL, "%s", err);
    teardown();
}

/* "parked:JOB:vN" split once for stats and rollout: the last ":v" splits,
 * a job name envelope_valid_name refuses (a consumer named by anyone who
 * can write the group) is not a pair, nor a version out of range. */
Test(stats, parked_pair_names_are_validated)
{
    queue_parked_pair_t p;
    cr_assert_eq(queue_parse_parked_pair("parked:a:b:v12", 14, &p), 1);
    cr_assert_str_eq(p.job, "a:b");
    cr_assert_eq(p.version, 12);
    const char *bad[] = {"parked:a b:v1", "parked:a\nx:v1", "parked:a\"x:v1",
                         "parked::v1", "parked:a:v", "parked:a:vx",
                         "parked:a:v99999999999", "lost:a:v1", "parked:a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(queue_parse_parked_pair(bad[i], strlen(bad[i]), &p), 0,
                     "%s", bad[i]);
}

/* More parked pairs than listed: the largest ones are, largest first;
 * `parked` still counts them all; a pair with a bad job name counts in
 * `parked` but is not listed. */
Test(stats, the_largest_parked_pairs_are_listed)
{
    setup();
    queue_keys_t k = keys();
    const int n = QUEUE_STATS_PARKED_PAIRS + 6;
    long long total = 0;
    test_redis_cmd(c, &last, "XGROUP CREATE " QS " jobrt $ MKSTREAM");
    for (int i = 0; i < n; i++) {
        /* pair i gets (i % 7) + 1 entries; the first pairs in XPENDING's
         * order (by name) are the small ones */
        int count = i < 6 ? 1 : (i % 7) + 2;
        for (int e = 0; e < count; e++)
            test_redis_cmd(c, &last, "XADD " QS " * job j v 1");
        test_redis_cmd(c, &last, "XREADGROUP GROUP jobrt parked:j%03d:v1 "
                       "COUNT %d STREAMS " QS " >", i, count);
        total += count;
    }
    for (int e = 0; e < 20; e++)
        test_redis_cmd(c, &last, "XADD " QS " * job j v 1");
    test_redis_cmd(c, &last, "XREADGROUP GROUP jobrt parked:b\"d:v1 COUNT 20"
                   " STREAMS " QS " >");
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(s.parked, total + 20);
    cr_assert_eq(s.n_parked_pairs, QUEUE_STATS_PARKED_PAIRS - 1,
                 "the bad name takes a place but is not listed");
    for (size_t i = 0; i < s.n_parked_pairs; i++) {
        cr_assert_geq(s.parked_pairs[i].count, 2, "pair %zu (%s) is small",
                      i, s.parked_pairs[i].job);
        if (i)
            cr_assert_geq(s.parked_pairs[i - 1].count,
                          s.parked_pairs[i].count, "largest first");
    }
    teardown();
}
