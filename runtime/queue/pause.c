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
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <string.h>

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

static void on_pause_polled(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->pause_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_PAUSE, "reading the paused flag")) {
        /* The state stays as it was last read. A flag that cannot be
         * read at all (an error reply: the key of another type, an ACL
         * that denies GET) must not stall a worker that never read it:
         * the error is logged, and it fetches. */
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
    const char *argv[] = {"GET", q->keys.paused};
    if (redisAsyncCommandArgv(q->writer.ac, on_pause_polled, q, 2, argv,
                              NULL) == REDIS_OK)
        q->pause_outstanding = 1;
}
