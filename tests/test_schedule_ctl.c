/*
 * test_schedule_ctl.c - the recurring jobs' Redis side on a private
 * redis-server: schedule_ctl's put (compare-and-set, keep/none due
 * times, the per-queue limit), get, list and remove, and the workers'
 * SCHEDULE_DUE and SCHEDULE_FIRE scripts: a fire enqueues each tick's job
 * with its deterministic id before moving the due time, and a second
 * fire for the same due time, or one planned with an older definition,
 * writes nothing.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "queue/keys.h"
#include "queue/schedule_ctl.h"
#include "queue/scripts.h"
#include "support/test_redis.h"

static test_redis_t srv;
static redisContext *rc;
static redisReply *last;
static queue_keys_t K;

static void setup(void)
{
    rc = test_redis_start(&srv, "schedule_ctl");
    char err[256];
    cr_assert_eq(queue_keys_init(&K, "jobrt", "q", err, sizeof err), 0);
}

static void teardown(void)
{
    freeReplyObject(last);
    last = NULL;
    redisFree(rc);
    test_redis_stop(&srv);
}

#define DEF1 "{\"name\":\"t\",\"queue\":\"q\",\"cron\":\"* * * * * *\"," \
             "\"job\":\"ok\",\"v\":1,\"payload\":\"{}\"}"
#define DEF2 "{\"name\":\"t\",\"queue\":\"q\",\"cron\":\"*/2 * * * * *\"," \
             "\"job\":\"ok\",\"v\":1,\"payload\":\"{}\"}"

static redisReply *fire(const char *due, const char *def, const char *next,
                        int n, const char *const *ticks)
{
    const char *argv[32];
    int a = 0;
    argv[a++] = "EVAL";
    argv[a++] = queue_scripts[SCRIPT_SCHEDULE_FIRE];
    argv[a++] = "4";
    argv[a++] = K.schedules;
    argv[a++] = K.schedule_due;
    argv[a++] = K.stream;
    argv[a++] = K.schedule_fired;
    argv[a++] = "t";
    argv[a++] = due;
    argv[a++] = def;
    argv[a++] = next;
    char ns[8];
    snprintf(ns, sizeof ns, "%d", n);
    argv[a++] = ns;
    for (int i = 0; i < n; i++)
        argv[a++] = ticks[i];
    const char *fields[] = {"job", "ok", "v", "1", "payload", "{}"};
    for (int i = 0; i < 6; i++)
        argv[a++] = fields[i];
    return test_redis_argv(rc, &last, a, argv);
}

Test(schedule_ctl, put_get_list_remove)
{
    setup();
    char err[512];
    cr_assert_eq(schedule_ctl_put(rc, &K, "t", NULL, DEF1, 5000, err,
                                  sizeof err), 1, "%s", err);
    /* a writer that read nothing loses against the one that wrote */
    cr_assert_eq(schedule_ctl_put(rc, &K, "t", NULL, DEF2, 7000, err,
                                  sizeof err), 0);
    cr_assert_eq(schedule_ctl_put(rc, &K, "t", DEF1, DEF2,
                                  SCHEDULE_DUE_KEEP, err, sizeof err), 1);
    schedule_row_t r;
    cr_assert_eq(schedule_ctl_get(rc, &K, "t", &r, err, sizeof err), 1);
    cr_assert_str_eq(r.def, DEF2);
    cr_assert_eq(r.due, 5000); /* kept */
    cr_assert_eq(r.fired, 0);
    cr_assert_eq(r.last_tick, -1);
    schedule_row_free(&r);
    cr_assert_eq(schedule_ctl_put(rc, &K, "t", DEF2, DEF2, SCHEDULE_DUE_NONE,
                                  err, sizeof err), 1);
    cr_assert_eq(schedule_ctl_get(rc, &K, "t", &r, err, sizeof err), 1);
    cr_assert_eq(r.due, -1);
    schedule_row_free(&r);
    cr_assert_eq(schedule_ctl_put(rc, &K, "a", NULL, DEF1, 9000, err,
                                  sizeof err), 1);
    schedule_row_t *rows;
    long n = schedule_ctl_list(rc, &K, &rows, err, sizeof err);
    cr_assert_eq(n, 2, "%s", err);
    cr_assert_str_eq(rows[0].name, "a");
    cr_assert_eq(rows[0].due, 9000);
    cr_assert_str_eq(rows[1].name, "t");
    schedule_rows_free(rows, n);
    cr_assert_eq(schedule_ctl_remove(rc, &K, "t", err, sizeof err), 1);
    cr_assert_eq(schedule_ctl_remove(rc, &K, "t", err, sizeof err), 0);
    cr_assert_eq(schedule_ctl_get(rc, &K, "t", &r, err, sizeof err), 0);
    cr_assert_eq(test_redis_cmd(rc, &last, "ZCARD %s", K.schedule_due)
                     ->integer, 1);
    teardown();
}

Test(schedule_ctl, fire_is_a_compare_and_set)
{
    setup();
    char err[512];
    cr_assert_eq(schedule_ctl_put(rc, &K, "t", NULL, DEF1, 1000, err,
                                  sizeof err), 1);
    /* due now on the server clock */
    redisReply *d = test_redis_argv(
        rc, &last, 7,
        (const char *[]){"EVAL", queue_scripts[SCRIPT_SCHEDULE_DUE], "2",
                         K.schedule_due, K.schedules, "0", "10"});
    cr_assert_eq(d->elements, 4);
    cr_assert_str_eq(d->element[1]->str, "t");
    cr_assert_str_eq(d->element[2]->str, "1000");
    cr_assert_str_eq(d->element[3]->str, DEF1);

    const char *ticks[] = {"1000", "2000", "3000"};
    redisReply *r = fire("1000", DEF1, "4000", 3, ticks);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->element[0]->integer, 1);
    cr_assert_eq(r->element[1]->integer, 3);
    /* another worker that saw the same due time: nothing */
    r = fire("1000", DEF1, "4000", 3, ticks);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    cr_assert_eq(r->integer, 0);
    cr_assert_eq(test_redis_cmd(rc, &last, "XLEN %s", K.stream)->integer, 3);
    r = test_redis_cmd(rc, &last, "XRANGE %s - +", K.stream);
    for (int i = 0; i < 3; i++) {
        const redisReply *f = r->element[i]->element[1];
        cr_assert_str_eq(f->element[0]->str, "id");
        char want[32];
        snprintf(want, sizeof want, "sched-t-%s", ticks[i]);
        cr_assert_str_eq(f->element[1]->str, want);
        cr_assert_str_eq(f->element[2]->str, "enqueued_at");
        cr_assert_str_eq(f->element[4]->str, "job");
    }
    cr_assert_str_eq(test_redis_cmd(rc, &last, "ZSCORE %s t",
                                    K.schedule_due)->str, "4000");
    schedule_row_t row;
    cr_assert_eq(schedule_ctl_get(rc, &K, "t", &row, err, sizeof err), 1);
    cr_assert_eq(row.fired, 3);
    cr_assert_eq(row.last_tick, 3000);
    schedule_row_free(&row);

    /* planned with a definition the operator has since replaced */
    cr_assert_eq(schedule_ctl_put(rc, &K, "t", DEF1, DEF2,
                                  SCHEDULE_DUE_KEEP, err, sizeof err), 1);
    r = fire("4000", DEF1, "5000", 1, (const char *[]){"4000"});
    cr_assert_eq(r->integer, 0);
    /* a skip (no ticks) moves the due time only; -1 removes it */
    r = fire("4000", DEF2, "90000", 0, NULL);
    cr_assert_eq(r->element[1]->integer, 0);
    cr_assert_str_eq(test_redis_cmd(rc, &last, "ZSCORE %s t",
                                    K.schedule_due)->str, "90000");
    r = fire("90000", DEF2, "-1", 1, (const char *[]){"90000"});
    cr_assert_eq(r->element[0]->integer, 1);
    cr_assert_eq(test_redis_cmd(rc, &last, "ZCARD %s", K.schedule_due)
                     ->integer, 0);
    cr_assert_eq(test_redis_cmd(rc, &last, "XLEN %s", K.stream)->integer, 4);
    cr_assert_str_eq(test_redis_cmd(rc, &last, "HGET %s t",
                                    K.schedule_fired)->str, "4 90000");
    teardown();
}
