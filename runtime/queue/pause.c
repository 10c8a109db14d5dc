/*
 * pause.c - `jobrt pause`: while the queue's :paused key is set, this
 * worker takes no new entry from the queue. Every PAUSE_POLL_MS the tick
 * reads the key; a worker that just started does not read new entries
 * before the first answer, so a paused queue stays paused across worker
 * restarts. While paused: the reader does not read (a blocked read is
 * ended), parked jobs are not taken and expired leases are not reclaimed;
 * what runs finishes and is acked, delayed jobs still come due into the
 * stream, and producers still enqueue. The key is the operator's: no
 * worker ever writes it.
 *
 * The same poll reads the queue's :disabled hash (`jobrt disable JOB`);
 * nothing, not even our own pending entries, is read before its first
 * answer, so a job disabled long ago is never run by a worker just started.
 * the worker parks entries of a disabled job instead of running them
 * (exec/worker_admit.c), unparking skips their pairs, and park expiry
 * leaves them be; after `jobrt enable` the next unpark takes them.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/envelope.h"
#include "core/log.h"
#include "core/util.h"

#define PAUSE_POLL_MS 250

int queue_pause_holds(const queue_redis_t *q)
{
    return q->pause_state != PAUSE_RUNNING;
}

int queue_redis_paused(const queue_redis_t *q)
{
    return q->pause_state == PAUSE_PAUSED;
}

int queue_job_disabled(const queue_redis_t *q, const char *name, size_t len)
{
    for (size_t i = 0; i < q->disabled.n; i++) {
        size_t n;
        const char *d = strlist_get(&q->disabled, i, &n);
        if (n == len && memcmp(d, name, len) == 0)
            return 1;
    }
    return 0;
}

int queue_redis_job_disabled(const queue_redis_t *q, const char *name,
                             size_t len)
{
    return queue_job_disabled(q, name, len);
}

void queue_pause_free(queue_redis_t *q)
{
    strlist_free(&q->disabled);
}

/* Whether name is among the first n of list. */
static int listed(const strlist_t *l, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n && i < l->n; i++) {
        size_t m;
        const char *s = strlist_get(l, i, &m);
        if (m == len && memcmp(s, name, len) == 0)
            return 1;
    }
    return 0;
}

/* HKEYS of keys.disabled: the job names. */
static void on_disabled_polled(redisAsyncContext *ac, void *reply,
                               void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (q->pause_outstanding > 0)
        q->pause_outstanding--;
    if (periodic_failed(q, r, PERIODIC_DISABLED,
                        "reading the disabled jobs") ||
        r->type != REDIS_REPLY_ARRAY) {
        /* The list stays as it was last read. One that cannot be read at
         * all (the key of another type) must not stall a worker that never
         * read it: the error is logged and it runs every job. */
        if (r != NULL && !q->disabled_known) {
            q->disabled_known = 1;
            reader_fetch(q);
        }
        return;
    }
    strlist_t now = {0};
    size_t skipped = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *k = r->element[i];
        if (k->type != REDIS_REPLY_STRING ||
            !envelope_valid_name(k->str, k->len))
            continue;
        if (now.n >= QUEUE_DISABLED_MAX) {
            skipped++;
            continue;
        }
        strlist_add(&now, k->str, k->len);
    }
    if (strlist_failed(&now)) {
        strlist_free(&now);
        return; /* out of memory: keep the old list, read it again */
    }
    int enabled = 0;
    for (size_t i = 0; i < now.n; i++) {
        size_t n;
        const char *s = strlist_get(&now, i, &n);
        if (!listed(&q->disabled, q->disabled.n, s, n))
            LOGI("queue", "job %.*s is disabled on queue %s (%s): its jobs "
                 "are parked, not run, until `jobrt enable`", (int)n, s,
                 q->o.queue, q->keys.disabled);
    }
    for (size_t i = 0; i < q->disabled.n; i++) {
        size_t n;
        const char *s = strlist_get(&q->disabled, i, &n);
        if (!listed(&now, now.n, s, n)) {
            LOGI("queue", "job %.*s is enabled again on queue %s: its "
                 "parked jobs are taken", (int)n, s, q->o.queue);
            enabled = 1;
        }
    }
    if (skipped && (!q->disabled_known || q->disabled.n != now.n))
        LOGW("queue", "%s holds more than %d jobs: %zu of them are not "
             "honoured", q->keys.disabled, QUEUE_DISABLED_MAX, skipped);
    int first = !q->disabled_known;
    strlist_free(&q->disabled);
    q->disabled = now;
    q->disabled_known = 1;
    if (first)
        reader_fetch(q); /* our own pending entries may be read now */
    if (enabled)
        q->next_unpark = 0; /* take what was parked for them soon */
}

static void on_pause_polled(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (q->pause_outstanding > 0)
        q->pause_outstanding--;
    if (periodic_failed(q, r, PERIODIC_PAUSE, "reading the paused flag")) {
        /* The state stays as it was last read. A flag that cannot be
         * read at all (an error reply: the key of another type) must not
         * stall a worker that never read it: the error is logged, and it
         * fetches. (A missing ACL permission is fatal before the queue
         * has started, as for every command a worker needs:
         * periodic_failed.) */
        if (r != NULL && q->pause_state == PAUSE_UNKNOWN) {
            q->pause_state = PAUSE_RUNNING;
            reader_fetch(q);
        }
        return;
    }
    int was = q->pause_state;
    int paused = r->type == REDIS_REPLY_STRING;
    q->pause_state = paused ? PAUSE_PAUSED : PAUSE_RUNNING;
    if (paused) {
        /* Not fetching is this worker's healthy state now: readiness
         * must not read it as a stalled fetch loop. */
        q->health.fetch_ms = util_mono_ms();
        if (was != PAUSE_PAUSED) {
            size_t n = r->len < 200 ? r->len : 200;
            LOGI("queue", "queue %s is paused (%s holds %.*s): taking no "
                 "new jobs from it; running jobs finish", q->o.queue,
                 q->keys.paused, (int)n, r->str);
            reader_unblock(q);
        }
        return;
    }
    if (was == PAUSE_PAUSED)
        LOGI("queue", "queue %s is resumed: taking jobs again", q->o.queue);
    if (was != PAUSE_RUNNING)
        reader_fetch(q);
}

void queue_pause_tick(queue_redis_t *q, int64_t now)
{
    if (q->pause_outstanding || now < q->next_pause_poll)
        return;
    q->next_pause_poll = now + PAUSE_POLL_MS;
    /* The disabled jobs first: when the pause reply lets the reader
     * fetch, the list it checks entries against is already read. */
    const char *dv[] = {"HKEYS", q->keys.disabled};
    if (redisAsyncCommandArgv(q->writer.ac, on_disabled_polled, q, 2, dv,
                              NULL) == REDIS_OK)
        q->pause_outstanding++;
    const char *argv[] = {"GET", q->keys.paused};
    if (redisAsyncCommandArgv(q->writer.ac, on_pause_polled, q, 2, argv,
                              NULL) == REDIS_OK)
        q->pause_outstanding++;
}
