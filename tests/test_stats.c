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

TestSuite(stats, .init = setup, .fini = teardown);

Test(stats, a_queue_never_used_reads_as_zeros)
{
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
}

Test(stats, entries_before_any_group_all_wait)
{
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
}

Test(stats, every_number_of_a_busy_queue)
{
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
}

Test(stats, a_deleted_entry_does_not_hide_the_oldest_waiting)
{
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
}

Test(stats, a_key_of_the_wrong_type_names_the_stream)
{
    test_redis_cmd(c, &last, "SET " QS " x");
    queue_keys_t k = keys();
    queue_stats_t s;
    char err[256];
    cr_assert_eq(queue_stats_read(c, &k, "jobrt", &s, err, sizeof err), -1);
    cr_assert(strstr(err, QS) != NULL, "%s", err);
}
