/*
 * periodic.c - the queue's tick (every TICK_MS on the loop thread), for
 * work no single job triggers: moving due delayed jobs into the stream,
 * reclaiming the entries of workers that stopped renewing their leases
 * (and dead-lettering poison ones), renewing our own leases, polling
 * `jobrt cancel` requests, and trimming finished entries off the stream.
 * The fleet's periodic work (registry, parked jobs, dead consumers,
 * reload requests) is in fleet_tick.c. Each kind has at most one call in
 * flight.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define TICK_MS 50
#define PROMOTE_EVERY_MS 100
#define PROMOTE_BATCH 500
#define CANCEL_POLL_MS 500
#define CANCEL_PAGE 1000    /* new cancellations read per poll */
#define MAX_LEASE_IDS 4096
#define TRIM_EVERY_MS 100   /* after this worker acked something */
#define TRIM_IDLE_MS 1000   /* otherwise: what dead workers acked, poison */
#define STALE_ROUNDS 10 /* trims an acked id may wait before its own XDEL */
#define STALE_WIDTH 48  /* "<u64>-<u64>" and a NUL */

/* Whether a periodic call failed. NOSCRIPT means Redis lost our scripts
 * (restart, SCRIPT FLUSH): reconnect, which reloads them. Any other error
 * is logged when it first appears or changes, and once more when the call
 * works again: a failure that repeats on every tick is not a line a tick.
 * A lost reply (NULL) is the connection's to report. */
int periodic_failed(queue_redis_t *q, const redisReply *r, int kind,
                    const char *what)
{
    char *last = q->periodic_error[kind];
    if (r == NULL)
        return 1;
    if (r->type != REDIS_REPLY_ERROR) {
        int script = kind != PERIODIC_CANCELS && kind != PERIODIC_QUEUES &&
                     kind != PERIODIC_RELOAD && kind != PERIODIC_PAUSE &&
                     kind != PERIODIC_DISABLED &&
                     kind != PERIODIC_LIMITS;
        if (!q->write_ok && script) {
            q->write_ok = 1;
            queue_check_started(q);
        }
        if (last[0]) {
            LOGI("queue", "%s on %s works again", what, q->keys.stream);
            last[0] = '\0';
        }
        return 0;
    }
    if (q->fatal)
        return 1; /* the worker is told and stops; nothing more to say */
    if (redis_error_is_config(r->str)) {
        char line[1536];
        snprintf(line, sizeof line, "redis at %s: writer connection: %s "
                 "failed: %s", q->o.target->display, what, r->str);
        if (queue_fatal(q, line))
            return 1;
    }
    if (kind != PERIODIC_QUEUES &&
        redis_conn_route_error(&q->writer, r->str, r->len) !=
            REDIS_ROUTE_NONE) {
        /* MOVED, mid-migration or demoted: the next tick tries again
         * (on the reconnected writer) */
    } else if (strncmp(r->str, "NOSCRIPT", 8) == 0) {
        q->scripts_ready = 0;
        if (q->writer.ac)
            redisAsyncDisconnect(q->writer.ac);
    } else if (strncmp(last, r->str, sizeof q->periodic_error[0] - 1) != 0) {
        LOGW("queue", "%s on %s failed: %s; retrying on every tick, this is "
             "logged again when the error changes or it works", what,
             q->keys.stream, r->str);
        util_copy_str(last, sizeof q->periodic_error[0], r->str);
    }
    return 1;
}

static void promote(queue_redis_t *q);

static void on_promoted(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->promote_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_PROMOTE, "moving due delayed jobs"))
        return;
    /* {members handled, ms to the next due, how many dead-lettered} */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    if (r->element[2]->integer > 0)
        LOGW("queue", "%lld delayed job(s) of %s could not be re-added (too "
             "many fields, or not a valid delayed-set member): "
             "dead-lettered to %s", r->element[2]->integer, q->keys.delayed,
             q->keys.dlq);
    /* A full batch: more are due. Go again at once, so a backlog of due
     * jobs (a burst of retries) moves at Redis speed, not one batch per
     * tick. */
    if (r->element[0]->integer >= PROMOTE_BATCH && outbox_ready(q))
        promote(q);
}

static void promote(queue_redis_t *q)
{
    char batch[16];
    snprintf(batch, sizeof batch, "%d", PROMOTE_BATCH);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_PROMOTE], "3",
                          q->keys.stream, q->keys.delayed, q->keys.dlq,
                          batch, q->o.consumer, q->dlq_max_len};
    if (redisAsyncCommandArgv(q->writer.ac, on_promoted, q, 9, argv, NULL) ==
        REDIS_OK)
        q->promote_outstanding = 1;
}

static void on_reclaimed(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->reclaim_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_RECLAIM,
                        "reclaiming expired leases"))
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const redisReply *got = r->element[0], *counts = r->element[1],
                     *poisoned = r->element[2];
    q->health.reclaimed += got->elements;
    q->health.poisoned += poisoned->elements;
    for (size_t i = 0; i < poisoned->elements; i++) {
        log_job_t lj = {.stream_id = poisoned->element[i]->str,
                        .queue = q->o.queue};
        LOGJW("queue", &lj, "entry %s dead-lettered as poison: delivered %ld "
              "times without finishing", poisoned->element[i]->str,
              q->o.max_deliveries);
    }
    for (size_t i = 0; i < got->elements; i++) {
        uint32_t n = i < counts->elements
                         ? (uint32_t)counts->element[i]->integer
                         : 2;
        const redisReply *e = got->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements > 0) {
            log_job_t lj = {.stream_id = e->element[0]->str,
                            .queue = q->o.queue};
            LOGJI("queue", &lj, "reclaimed entry %s (delivery %u): its "
                  "worker died or stopped renewing its lease",
                  e->element[0]->str, n);
        }
        reader_handle_entry(q, e, n < 2 ? 2 : n);
    }
    queue_redis_flush(q);
}

static void reclaim(queue_redis_t *q)
{
    size_t cap = q->cb.capacity(q->cb.arg);
    if (cap == 0)
        return;
    if (cap > 100)
        cap = 100;
    char lease[24], count[16], maxd[24], now[24];
    snprintf(lease, sizeof lease, "%lld", (long long)q->o.lease_ms);
    snprintf(count, sizeof count, "%zu", cap);
    snprintf(maxd, sizeof maxd, "%ld", q->o.max_deliveries);
    snprintf(now, sizeof now, "%lld", (long long)util_now_ms());
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_RECLAIM], "2",
                          q->keys.stream, q->keys.dlq, q->o.group,
                          q->o.consumer, lease, count, maxd, now,
                          q->dlq_max_len};
    if (redisAsyncCommandArgv(q->writer.ac, on_reclaimed, q, 12, argv,
                              NULL) == REDIS_OK)
        q->reclaim_outstanding = 1;
}

static void on_trimmed(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->trim_outstanding = 0;
    stream_id_t point = {0, 0};
    /* A failed trim still counts as a round, so ids cannot pile up here
     * when trims keep failing (they go, and later cuts remove them). */
    if (!periodic_failed(q, r, PERIODIC_TRIM,
                         "trimming finished entries") &&
        r->type == REDIS_REPLY_STRING)
        stream_id_parse(r->str, r->len, &point);
    stream_sweep_trimmed(&q->sweep, point);
}

/* Cuts the stream below the oldest unfinished entry (see sweep.h);
 * acked ids the cut has not reached for STALE_ROUNDS trims are deleted
 * one by one. If the reply is lost, later cuts still remove them. */
static void trim(queue_redis_t *q)
{
    /* room for every id that could be stale; grows only */
    size_t cap = stream_sweep_count(&q->sweep);
    if (cap > q->stale_cap) {
        char *b = realloc(q->stale_buf, cap * STALE_WIDTH);
        if (b)
            q->stale_buf = b;
        const char **a = realloc(q->trim_argv, (cap + 5) * sizeof *a);
        if (a)
            q->trim_argv = a;
        if (b && a)
            q->stale_cap = cap;
    }
    if (q->trim_argv == NULL &&
        (q->trim_argv = malloc(5 * sizeof *q->trim_argv)) == NULL)
        return;
    const char **argv = q->trim_argv;
    size_t n = stream_sweep_take_stale(&q->sweep, STALE_ROUNDS, q->stale_buf,
                                       STALE_WIDTH, q->stale_cap);
    argv[0] = "EVALSHA";
    argv[1] = q->sha[SCRIPT_TRIM];
    argv[2] = "1";
    argv[3] = q->keys.stream;
    argv[4] = q->o.group;
    for (size_t i = 0; i < n; i++)
        argv[5 + i] = q->stale_buf + i * STALE_WIDTH;
    if (redisAsyncCommandArgv(q->writer.ac, on_trimmed, q, (int)(n + 5), argv,
                              NULL) == REDIS_OK)
        q->trim_outstanding = 1;
}

/* Renews the leases of the entries this worker is running: XCLAIM to
 * ourselves with JUSTID resets their idle time without counting a
 * delivery. */
static void on_leases_renewed(redisAsyncContext *ac, void *reply,
                              void *priv)
{
    queue_redis_t *q = priv;
    const redisReply *r = reply;
    (void)ac;
    if (r && r->type != REDIS_REPLY_ERROR)
        q->health.lease_ms = util_mono_ms();
}

static void heartbeat(queue_redis_t *q)
{
    if (q->lease_buf == NULL) {
        q->lease_buf = malloc((MAX_LEASE_IDS + 5) * sizeof *q->lease_buf);
        if (q->lease_buf == NULL)
            return;
    }
    const char **argv = q->lease_buf;
    size_t n = q->cb.lease_ids(q->cb.arg, argv + 5, MAX_LEASE_IDS);
    if (n == 0) {
        q->health.lease_ms = util_mono_ms(); /* nothing to renew: on time */
        queue_limits_renew(q);
        return;
    }
    argv[0] = "XCLAIM";
    argv[1] = q->keys.stream;
    argv[2] = q->o.group;
    argv[3] = q->o.consumer;
    argv[4] = "0";
    argv[5 + n] = "JUSTID";
    redisAsyncCommandArgv(q->writer.ac, on_leases_renewed, q, (int)(n + 6),
                          argv, NULL);
    queue_limits_renew(q);
}

static void poll_cancels(queue_redis_t *q);

/* Cancellations are read in score order, from the newest score seen,
 * inclusive, CANCEL_PAGE more than the ids already seen with that score:
 * those come again (on_cancelled is idempotent), so a page always gets
 * past them, even the ids an older version gave one score per `jobrt
 * cancel` call. This version gives each id its own score, so that is one
 * id read again per poll. */
static void on_cancels(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->cancel_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_CANCELS,
                        "polling cancellations") ||
        r->type != REDIS_REPLY_ARRAY)
        return;
    /* The page is in score order: the cursor moves to its last score and
     * how many ids of the page have it. */
    size_t asked = q->cancel_seen_n + CANCEL_PAGE, n_top = 0;
    double top = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *id = r->element[i], *score = r->element[i + 1];
        if (id->type != REDIS_REPLY_STRING ||
            score->type != REDIS_REPLY_STRING)
            continue;
        double s = strtod(score->str, NULL);
        if (n_top == 0 || s > top) {
            top = s;
            n_top = 1;
        } else if (s == top) {
            n_top++;
        }
        q->cb.on_cancelled(q->cb.arg, id->str);
    }
    if (n_top > 0) {
        q->cancel_seen = top;
        q->cancel_seen_n = n_top;
    }
    /* A full page: there may be more. Go again at once. */
    if (r->elements / 2 >= asked && outbox_ready(q))
        poll_cancels(q);
}

static void poll_cancels(queue_redis_t *q)
{
    char from[40], count[24];
    if (q->cancel_seen_n == 0)
        snprintf(from, sizeof from, "-inf");
    else
        snprintf(from, sizeof from, "%.17g", q->cancel_seen);
    snprintf(count, sizeof count, "%zu", q->cancel_seen_n + CANCEL_PAGE);
    const char *argv[] = {"ZRANGEBYSCORE", q->keys.cancelled, from, "+inf",
                          "WITHSCORES", "LIMIT", "0", count};
    if (redisAsyncCommandArgv(q->writer.ac, on_cancels, q, 8, argv, NULL) ==
        REDIS_OK)
        q->cancel_outstanding = 1;
}

static void on_tick(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    int64_t now = util_mono_ms();
    /* --sentinel: is the primary still where both connections are? */
    redis_conn_sentinel_check(&q->reader, now);
    redis_conn_sentinel_check(&q->writer, now);
    redis_conn_sentinel_check(&q->index, now); /* --cluster; else not up */
    if (!outbox_ready(q))
        return;
    if (now >= q->next_promote && !q->promote_outstanding) {
        q->next_promote = now + PROMOTE_EVERY_MS;
        promote(q);
    }
    if (now >= q->next_cancel_poll && !q->cancel_outstanding) {
        q->next_cancel_poll = now + CANCEL_POLL_MS;
        poll_cancels(q);
    }
    if (!q->trim_outstanding &&
        (now >= q->next_trim + TRIM_IDLE_MS - TRIM_EVERY_MS ||
         (now >= q->next_trim && stream_sweep_count(&q->sweep) > 0))) {
        q->next_trim = now + TRIM_EVERY_MS;
        trim(q);
    }
    if (now >= q->next_heartbeat) {
        q->next_heartbeat = now + q->o.lease_ms / 3;
        heartbeat(q);
    }
    queue_events_tick(q, now); /* before the pause poll: known first */
    queue_pause_tick(q, now);
    queue_limits_tick(q, now);
    if (now >= q->next_reclaim && !q->reclaim_outstanding && q->fetching &&
        !queue_pause_holds(q)) {
        int64_t every = q->o.lease_ms / 4;
        q->next_reclaim = now + (every < 250 ? 250 : every > 5000 ? 5000
                                                                  : every);
        reclaim(q);
    }
    queue_fleet_tick(q, now);
    queue_schedule_tick(q, now);
}

void periodic_start(queue_redis_t *q)
{
    uv_timer_start(&q->tick_timer, on_tick, TICK_MS, TICK_MS);
}

void periodic_free(queue_redis_t *q)
{
    free(q->lease_buf);
    free(q->stale_buf);
    free(q->trim_argv);
    stream_sweep_free(&q->sweep);
    queue_fleet_free(q);
    queue_pause_free(q);
    queue_events_free(q);
    queue_limits_free(q);
    queue_schedule_free(q);
}
