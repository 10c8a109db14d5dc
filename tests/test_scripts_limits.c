/*
 * test_scripts_limits.c - the limits' Lua scripts (queue/scripts_limits.h)
 * on a private redis-server, and limits_ctl over them: LIMIT_SET merges
 * fields, says whether it changed anything and clears; LIMIT_RESERVE
 * hands out consecutive slots across calls (one fleet, one clock) and
 * keeps its key only a while; LIMIT_ACQUIRE grants at most the limit,
 * again to a holder that asks twice, and again once a lease ran out;
 * LIMIT_RENEW moves expiries without putting back an expired member;
 * LIMIT_RELEASE frees a slot; limits_ctl_list reads rows and running
 * counts.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/keys.h"
#include "queue/limits_ctl.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

static test_redis_t srv;
static redisContext *rc;
static redisReply *last;
static queue_keys_t K;
static char rate_key[600], run_key[600];

static void setup(void)
{
    rc = test_redis_start(&srv, "scripts_limits");
    char err[256];
    cr_assert_eq(queue_keys_init(&K, "jobrt", "q", err, sizeof err), 0);
    snprintf(rate_key, sizeof rate_key, "%sjob", K.rate_prefix);
    snprintf(run_key, sizeof run_key, "%sjob", K.running_prefix);
}

static void teardown(void)
{
    freeReplyObject(last);
    last = NULL;
    redisFree(rc);
    test_redis_stop(&srv);
}

static redisReply *eval(int script, int nkeys, const char *const *args,
                        int n)
{
    const char *argv[32];
    char nk[8];
    snprintf(nk, sizeof nk, "%d", nkeys);
    int a = 0;
    argv[a++] = "EVAL";
    argv[a++] = queue_scripts[script];
    argv[a++] = nk;
    for (int i = 0; i < n; i++)
        argv[a++] = args[i];
    return test_redis_argv(rc, &last, a, argv);
}

Test(scripts_limits, set_merges_and_clears)
{
    setup();
    char old[600], now[600], err[600];
    const char *rate[] = {"rate_per_s", "100"};
    cr_assert_eq(limits_ctl_set(rc, &K, "job", rate, 1, old, sizeof old, now,
                                sizeof now, err, sizeof err), 1, "%s", err);
    cr_assert_str_eq(old, "");
    cr_assert_str_eq(now, "{\"rate_per_s\":100}");
    const char *conc[] = {"concurrency", "4"};
    cr_assert_eq(limits_ctl_set(rc, &K, "job", conc, 1, old, sizeof old, now,
                                sizeof now, err, sizeof err), 1);
    limit_t l;
    cr_assert_eq(limit_parse_json(now, strlen(now), &l, err, sizeof err), 0);
    cr_assert_float_eq(l.rate_per_s, 100, 1e-9); /* kept */
    cr_assert_eq(l.concurrency, 4);
    /* the same value again: unchanged, the stored JSON as it was */
    cr_assert_eq(limits_ctl_set(rc, &K, "job", conc, 1, old, sizeof old, now,
                                sizeof now, err, sizeof err), 0);
    cr_assert_str_eq(old, now);
    /* "" removes one field */
    const char *norate[] = {"rate_per_s", ""};
    cr_assert_eq(limits_ctl_set(rc, &K, "job", norate, 1, old, sizeof old,
                                now, sizeof now, err, sizeof err), 1);
    cr_assert_str_eq(now, "{\"concurrency\":4}");
    /* clear removes the field */
    cr_assert_eq(limits_ctl_set(rc, &K, "job", NULL, 0, old, sizeof old, now,
                                sizeof now, err, sizeof err), 1);
    cr_assert_str_eq(old, "{\"concurrency\":4}");
    cr_assert_str_eq(now, "");
    redisReply *r = test_redis_cmd(rc, &last, "HEXISTS %s job", K.limits);
    cr_assert_eq(r->integer, 0);
    cr_assert_eq(limits_ctl_set(rc, &K, "job", NULL, 0, old, sizeof old, now,
                                sizeof now, err, sizeof err), 0);
    teardown();
}

static long long reserve(const char *k, const char *rate, long long *slots)
{
    const char *a[] = {rate_key, k, rate};
    redisReply *r = eval(SCRIPT_LIMIT_RESERVE, 1, a, 3);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    for (size_t i = 1; i < r->elements; i++)
        slots[i - 1] = r->element[i]->integer;
    return r->element[0]->integer;
}

Test(scripts_limits, reserve_hands_out_consecutive_slots)
{
    setup();
    long long s[8], t[8];
    long long now = reserve("5", "100", s);
    cr_assert(s[0] >= now && s[0] <= now + 1, "first slot %lld, now %lld",
              s[0], now);
    for (int i = 1; i < 5; i++)
        cr_assert_eq(s[i] - s[i - 1], 10, "slot %d", i);
    /* another worker's call continues after the last slot */
    reserve("3", "100", t);
    cr_assert_eq(t[0], s[4] + 10);
    cr_assert_eq(t[2], s[4] + 30);
    redisReply *r = test_redis_cmd(rc, &last, "PTTL %s", rate_key);
    cr_assert(r->integer > 60000 && r->integer <= 61000, "pttl %lld",
              r->integer);
    const char *bad[] = {rate_key, "2", "0"};
    const char *argv[] = {"EVAL", queue_scripts[SCRIPT_LIMIT_RESERVE], "1",
                          bad[0], bad[1], bad[2]};
    redisReply *e = redisCommandArgv(rc, 6, argv, NULL);
    cr_assert_eq(e->type, REDIS_REPLY_ERROR);
    freeReplyObject(e);
    teardown();
}

static void acquire(const char *limit, const char *lease, const char *ids,
                    const char *want)
{
    const char *a[12] = {run_key, limit, lease};
    int n = 3;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ids);
    for (char *p = strtok(buf, " "); p; p = strtok(NULL, " "))
        a[n++] = p;
    redisReply *r = eval(SCRIPT_LIMIT_ACQUIRE, 1, a, n);
    char got[32] = "";
    for (size_t i = 0; i < r->elements; i++)
        got[i] = r->element[i]->integer ? '1' : '0';
    cr_assert_str_eq(got, want, "acquire %s", ids);
}

Test(scripts_limits, acquire_renew_release)
{
    setup();
    acquire("2", "60000", "1-1 1-2 1-3", "110");
    acquire("2", "60000", "1-2", "1"); /* a holder asking again */
    acquire("2", "60000", "1-4", "0");
    const char *rel[] = {run_key, "1-1"};
    eval(SCRIPT_LIMIT_RELEASE, 1, rel, 2);
    acquire("2", "60000", "1-4 1-5", "10");
    /* a lease that runs out frees the slot */
    test_redis_cmd(rc, &last, "DEL %s", run_key);
    acquire("1", "150", "2-1", "1");
    acquire("1", "150", "2-2", "0");
    usleep(250 * 1000);
    acquire("1", "150", "2-2", "1");
    /* renew moves the expiry; an expired member is not put back */
    const char *renew[] = {run_key, run_key, "100000", "2-2", "2-1"};
    eval(SCRIPT_LIMIT_RENEW, 2, renew, 5);
    redisReply *r = test_redis_cmd(rc, &last, "ZSCORE %s 2-1", run_key);
    cr_assert_eq(r->type, REDIS_REPLY_NIL);
    r = test_redis_cmd(rc, &last, "ZCARD %s", run_key);
    cr_assert_eq(r->integer, 1);
    usleep(250 * 1000); /* past the old 150 ms lease: still held */
    acquire("1", "150", "2-3", "0");
    teardown();
}

Test(scripts_limits, list)
{
    setup();
    test_redis_cmd(rc, &last, "HSET %s job {\"concurrency\":2} "
                   "a_rate {\"rate_per_s\":0.5} bad {\"concurrency\":0}",
                   K.limits);
    acquire("2", "60000", "9-1", "1");
    limit_row_t *rows;
    char err[600];
    long n = limits_ctl_list(rc, &K, &rows, err, sizeof err);
    cr_assert_eq(n, 3, "%s", err);
    cr_assert_str_eq(rows[0].job, "a_rate");
    cr_assert(rows[0].valid);
    cr_assert_float_eq(rows[0].l.rate_per_s, 0.5, 1e-9);
    cr_assert_str_eq(rows[1].job, "bad");
    cr_assert(!rows[1].valid);
    cr_assert_str_eq(rows[2].job, "job");
    cr_assert_eq(rows[2].l.concurrency, 2);
    cr_assert_eq(rows[2].running, 1);
    free(rows);
    teardown();
}
