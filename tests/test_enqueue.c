/*
 * test_enqueue.c - the sender of `jobrt enqueue` (queue/enqueue.c) on a
 * real redis-server started per test on a private unix socket: plain
 * XADDs and ENQUEUE-script jobs mixed in small batches come back in the
 * order they were added, with the right ids; a delayed job lands in the
 * delayed set; a key dedupes across batches; a script
 * flushed from Redis fails one job, with the reason, and is loaded again
 * for the next; a lost connection reports every unanswered job.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue/enqueue.h"
#include "support/test_redis.h"

static test_redis_t server;
static redisContext *rc;
static queue_keys_t keys;

static void start_redis(void)
{
    rc = test_redis_start(&server, "enqueue");
    char err[256];
    cr_assert_eq(queue_keys_init(&keys, "jobrt", "q", err, sizeof err), 0);
}

static void stop_redis(void)
{
    if (rc)
        redisFree(rc);
    rc = NULL;
    test_redis_stop(&server);
}

static long long integer(const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(rc, fmt, arg);
    cr_assert_not_null(r);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s", r->str ? r->str : "");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* What the sender reported, in order. */
#define MAX_RESULTS 64
static struct {
    unsigned long long tag;
    enqueue_status_t status;
    char id[160], key[160], error[600];
    long long replicas;
    int under_replicated;
} got[MAX_RESULTS];
static size_t n_got;

static void on_result(void *arg, const enqueue_result_t *r)
{
    (void)arg;
    cr_assert_lt(n_got, MAX_RESULTS);
    got[n_got].tag = r->tag;
    got[n_got].status = r->status;
    snprintf(got[n_got].id, sizeof got[0].id, "%s",
             r->job_id ? r->job_id : "");
    snprintf(got[n_got].key, sizeof got[0].key, "%s", r->key ? r->key : "");
    snprintf(got[n_got].error, sizeof got[0].error, "%s",
             r->error ? r->error : "");
    got[n_got].replicas = r->replicas;
    got[n_got].under_replicated = r->under_replicated;
    n_got++;
}

static enqueue_entry_t e;

/* Adds one NDJSON line's job with tag. */
static int add_line(enqueue_sender_t *s, const char *line,
                    unsigned long long tag)
{
    char why[512];
    cr_assert_eq(enqueue_parse_line(line, strlen(line), 1, &e, why,
                                    sizeof why), 0, "%s: %s", line, why);
    return enqueue_sender_add(s, &e, tag);
}

static enqueue_sender_t *setup(size_t batch)
{
    start_redis();
    memset(&e, 0, sizeof e);
    n_got = 0;
    enqueue_sender_t *s = enqueue_sender_create(rc, &keys, batch, on_result,
                                                NULL);
    cr_assert_not_null(s);
    return s;
}

static void teardown(enqueue_sender_t *s)
{
    enqueue_sender_destroy(s);
    enqueue_entry_free(&e);
    stop_redis();
}

static void expect(size_t i, unsigned long long tag, enqueue_status_t st,
                   const char *id)
{
    cr_assert_gt(n_got, i, "only %zu results", n_got);
    cr_assert_eq(got[i].tag, tag, "result %zu: tag %llu", i, got[i].tag);
    cr_assert_eq(got[i].status, st, "result %zu (tag %llu): status %d, %s",
                 i, tag, got[i].status, got[i].error);
    if (id)
        cr_assert_str_eq(got[i].id, id, "result %zu", i);
}

#define LINE(extra) "{\"job\":\"a\",\"v\":1,\"payload\":{}" extra "}"

Test(enqueue_sender, mixed_batches_keep_order_and_ids)
{
    enqueue_sender_t *s = setup(3);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"p-1\""), 1), 0);
    /* the first scripted job: what is pending goes first, then the
     * script is loaded */
    cr_assert_eq(add_line(s, LINE(",\"id\":\"d-2\",\"delay\":\"1h\""), 2), 0);
    cr_assert_eq(n_got, 1u, "sent before SCRIPT LOAD");
    cr_assert_eq(add_line(s, LINE(""), 3), 0);
    cr_assert_eq(add_line(s, LINE(",\"key\":\"k\""), 4), 0);
    cr_assert_eq(n_got, 4u, "a full batch is sent and reported");
    cr_assert_eq(add_line(s, LINE(",\"key\":\"k\",\"id\":\"dup\""), 5), 0);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"p-6\",\"at\":100000000000"), 6), 0);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"p-7\""), 7), 0);
    cr_assert_eq(n_got, 7u, "the next full batch");
    cr_assert_eq(add_line(s, LINE(",\"key\":\"k\""), 8), 0);
    cr_assert_eq(enqueue_sender_flush(s), 0);
    cr_assert_eq(n_got, 8u);
    expect(0, 1, ENQUEUE_ADDED, "p-1");
    expect(1, 2, ENQUEUE_ADDED, "d-2");
    expect(2, 3, ENQUEUE_ADDED, NULL);
    cr_assert(strchr(got[2].id, '-') != NULL, "a stream id: %s", got[2].id);
    expect(3, 4, ENQUEUE_ADDED, NULL);
    char first[160];
    snprintf(first, sizeof first, "%s", got[3].id);
    cr_assert_eq(strlen(first), 13 + 1 + 8, "generated id: %s", first);
    expect(4, 5, ENQUEUE_DUPLICATE, first);
    cr_assert_str_eq(got[4].key, "k");
    expect(5, 6, ENQUEUE_ADDED, "p-6");
    expect(6, 7, ENQUEUE_ADDED, "p-7");
    expect(7, 8, ENQUEUE_DUPLICATE, first);
    /* p-1, tag 3, the keyed job, p-6 and p-7 in the stream; d-2 delayed */
    cr_assert_eq(integer("XLEN %s", keys.stream), 5);
    cr_assert_eq(integer("ZCARD %s", keys.delayed), 1);
    teardown(s);
}

/* --wait-replicas: without it no WAIT is asked (replicas -1); with 1, a
 * WAIT follows each batch, and as this server has no replica it falls
 * short after its timeout, which every added job of the batch carries. */
Test(enqueue_sender, wait_replicas_reports_the_replicas_each_batch_reached)
{
    enqueue_sender_t *s = setup(2);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"w-1\""), 1), 0);
    cr_assert_eq(enqueue_sender_flush(s), 0);
    cr_assert_eq(got[0].replicas, -1, "no WAIT asked");
    cr_assert_eq(got[0].under_replicated, 0);
    enqueue_sender_set_wait(s, 1, 50);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"w-2\""), 2), 0);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"w-3\""), 3), 0);
    cr_assert_eq(n_got, 3u, "the full batch is reported after its WAIT");
    for (size_t i = 1; i < 3; i++) {
        expect(i, i + 1, ENQUEUE_ADDED, NULL);
        cr_assert_eq(got[i].replicas, 0, "result %zu", i);
        cr_assert_eq(got[i].under_replicated, 1, "result %zu", i);
    }
    cr_assert_eq(integer("XLEN %s", keys.stream), 3, "queued all the same");
    teardown(s);
}

Test(enqueue_sender, generated_ids_differ)
{
    enqueue_sender_t *s = setup(10);
    for (unsigned long long i = 1; i <= 5; i++)
        cr_assert_eq(add_line(s, LINE(",\"delay\":\"1h\""), i), 0);
    cr_assert_eq(enqueue_sender_flush(s), 0);
    cr_assert_eq(n_got, 5u);
    for (size_t i = 0; i < 5; i++)
        for (size_t k = 0; k < i; k++)
            cr_assert_str_neq(got[i].id, got[k].id);
    cr_assert_eq(integer("ZCARD %s", keys.delayed), 5);
    teardown(s);
}

/* The script vanishes from Redis (SCRIPT FLUSH, a restart): the job sent
 * with EVALSHA fails, saying so, and the next one loads it again. */
Test(enqueue_sender, flushed_script_fails_one_job_then_reloads)
{
    enqueue_sender_t *s = setup(10);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"a-1\",\"key\":\"k1\""), 1), 0);
    cr_assert_eq(enqueue_sender_flush(s), 0);
    redisReply *r = redisCommand(rc, "SCRIPT FLUSH");
    cr_assert_not_null(r);
    freeReplyObject(r);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"a-2\",\"key\":\"k2\""), 2), 0);
    cr_assert_eq(enqueue_sender_flush(s), 0);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"a-3\",\"key\":\"k3\""), 3), 0);
    cr_assert_eq(enqueue_sender_flush(s), 0);
    cr_assert_eq(n_got, 3u);
    expect(0, 1, ENQUEUE_ADDED, "a-1");
    expect(1, 2, ENQUEUE_FAILED, NULL);
    cr_assert(strstr(got[1].error, "NOSCRIPT") != NULL, "%s", got[1].error);
    expect(2, 3, ENQUEUE_ADDED, "a-3");
    cr_assert_eq(integer("XLEN %s", keys.stream), 2);
    teardown(s);
}

/* Redis goes away with jobs in flight: each one is reported unknown (it
 * may or may not be in), and nothing more is sent. */
Test(enqueue_sender, lost_connection_reports_every_pending_job)
{
    enqueue_sender_t *s = setup(10);
    /* main.c ignores SIGPIPE: a write to the dead socket is an error */
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"x-1\""), 1), 0);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"x-2\""), 2), 0);
    kill(server.pid, SIGKILL);
    waitpid(server.pid, NULL, 0);
    server.pid = 0;
    cr_assert_eq(enqueue_sender_flush(s), -1);
    cr_assert_eq(n_got, 2u);
    expect(0, 1, ENQUEUE_UNKNOWN, NULL);
    expect(1, 2, ENQUEUE_UNKNOWN, NULL);
    cr_assert(strstr(got[0].error, "lost the connection") != NULL, "%s",
              got[0].error);
    cr_assert_eq(add_line(s, LINE(",\"id\":\"x-3\""), 3), -1);
    cr_assert_eq(n_got, 2u, "nothing reported for what is not sent");
    enqueue_sender_destroy(s);
    enqueue_entry_free(&e);
    redisFree(rc);
    rc = NULL;
    test_redis_stop(&server); /* removes its directory */
}
