/*
 * reader.c - the reader side of the queue: one connection that blocks in
 * XREADGROUP for at most as many entries as the worker has free slots
 * (backpressure), so acks never wait behind a blocked read, and only
 * while the writer is ready. After a (re)connect it first re-reads the
 * entries already delivered to this consumer, then reads new ones. A read
 * that fails is retried on its own timer, every FETCH_RETRY_MS. A read
 * waits while parked jobs are being taken for the same free slots.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define FETCH_RETRY_MS 1000 /* after an error reply to XREADGROUP */

static void on_read(redisAsyncContext *ac, void *reply, void *priv);

/* Tells the worker's fetch plan how a read it granted went. */
static void read_done(queue_redis_t *q, size_t asked, size_t got, int sent)
{
    if (q->cb.read_done)
        q->cb.read_done(q->cb.arg, asked, got, sent);
}

static void on_fetch_retry(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    q->read_outstanding = 0;
    reader_fetch(q);
}

static void on_group_created(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (r == NULL)
        return;
    if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0) {
        q->group_checked = 1;
        queue_check_started(q);
        return;
    }
    /* --cluster: a MOVED moves the reader, which creates it there */
    if (redis_conn_route_error(&q->reader, r->str, r->len) ==
        REDIS_ROUTE_RECONNECT)
        return;
    if (redis_error_is_config(r->str)) {
        char line[1536];
        snprintf(line, sizeof line, "redis at %s: reader connection: XGROUP "
                 "CREATE %s %s failed: %s", q->o.target->display,
                 q->keys.stream, q->o.group, r->str);
        if (queue_fatal(q, line))
            return;
    }
    LOGE("queue", "cannot create consumer group %s on %s: %s", q->o.group,
         q->keys.stream, r->str);
}

static void create_group(queue_redis_t *q)
{
    redisAsyncCommand(q->reader.ac, on_group_created, q,
                      "XGROUP CREATE %s %s 0 MKSTREAM", q->keys.stream,
                      q->o.group);
}

static void on_client_id(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (r && r->type == REDIS_REPLY_INTEGER)
        q->reader_id = r->integer;
}

void reader_up(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    redisAsyncCommand(c->ac, on_client_id, q, "CLIENT ID");
    create_group(q);
    /* Re-read what was delivered to us before a disconnect first. */
    q->history = 1;
    snprintf(q->history_cursor, sizeof q->history_cursor, "0");
    uv_timer_stop(&q->fetch_retry_timer); /* a retry of the old connection */
    q->read_outstanding = 0;
    reader_fetch(q);
}

void reader_down(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    (void)c;
    q->read_outstanding = 0;
    redis_conn_recheck(&q->writer); /* --cluster: has the slot moved? */
    queue_progress(q);
}

void reader_fetch(queue_redis_t *q)
{
    if (q->read_outstanding)
        return;
    /* A worker that cannot write (writer down, or its scripts not loaded)
     * must not take jobs it could not ack, renew or release. */
    /* A queue that cannot read holds no other queue of the worker back
     * (-1); one still starting (0) is not known yet, and under
     * --strict-priority the queues below it wait for its first read. */
    if (!q->fetching || !redis_conn_up(&q->reader) || !outbox_ready(q)) {
        read_done(q, 0, 0, q->started || !q->fetching ? -1 : 0);
        return;
    }
    /* Re-reading our own pending entries after a reconnect must wait until
     * the acks queued meanwhile are confirmed: otherwise jobs that finished
     * during the outage would look unfinished and run again. */
    if (q->history && (!outbox_empty(q) || q->b_ids.n))
        return;
    /* Until the disabled jobs were read once, nothing: not even our own
     * pending entries may run before we know which are disabled. A paused
     * queue (or one not yet known not to be) gives nothing new; our own
     * pending entries are still re-read. */
    if (!q->disabled_known || !q->limits_known)
        return;
    if (!q->history && queue_pause_holds(q)) {
        read_done(q, 0, 0, q->pause_state == PAUSE_PAUSED ? -1 : 0);
        return;
    }
    /* Parked jobs to take go first: a read now would count on the same
     * free slots (fleet_tick.c). */
    if (!q->history && queue_fleet_unpark_first(q))
        return;
    int block = 1;
    size_t cap = q->cb.read_grant ? q->cb.read_grant(q->cb.arg, &block)
                                  : q->cb.capacity(q->cb.arg);
    if (cap == 0)
        return;
    if (cap > MAX_FETCH)
        cap = MAX_FETCH;
    int rc;
    if (q->history || !block)
        /* our own pending entries, or a busy queue of several: a read
         * that does not wait */
        rc = redisAsyncCommand(q->reader.ac, on_read, q,
                               "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s",
                               q->o.group, q->o.consumer, (int)cap,
                               q->keys.stream,
                               q->history ? q->history_cursor : ">");
    else
        rc = redisAsyncCommand(q->reader.ac, on_read, q,
                               "XREADGROUP GROUP %s %s COUNT %d BLOCK %d "
                               "STREAMS %s >",
                               q->o.group, q->o.consumer, (int)cap,
                               q->o.block_ms,
                               q->keys.stream);
    if (rc == REDIS_OK) {
        q->read_outstanding = 1;
        q->health.fetch_ms = util_mono_ms(); /* a read went out */
        q->read_count = cap;
    } else {
        LOGE("queue", "cannot send XREADGROUP on %s", q->keys.stream);
        read_done(q, cap, 0, 0);
    }
}

static const char *reply_str(const redisReply *r, size_t *len)
{
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
        *len = r->len;
        return r->str;
    }
    *len = 0;
    return "";
}

void reader_handle_entry(queue_redis_t *q, const redisReply *e,
                         uint32_t deliveries)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *id = e->element[0]->str;
    const redisReply *f = e->element[1];
    if ((q->history || deliveries > 1) && q->cb.is_inflight(q->cb.arg, id))
        return; /* already running here (our own lease was reclaimed) */
    if (f->type != REDIS_REPLY_ARRAY) {
        /* Pending but deleted from the stream: nothing left to run. */
        queue_redis_complete(q, id, id, NULL, 0, NULL);
        return;
    }
    if (f->elements > q->fv_cap) {
        strview_t *v = realloc(q->fv, f->elements * sizeof *v);
        if (v == NULL) {
            log_job_t lj = {.stream_id = id, .queue = q->o.queue};
            LOGJE("queue", &lj, "out of memory reading entry %s; it stays "
                  "pending", id);
            return;
        }
        q->fv = v;
        q->fv_cap = f->elements;
    }
    for (size_t i = 0; i < f->elements; i++)
        q->fv[i].ptr = reply_str(f->element[i], &q->fv[i].len);
    q->cb.on_entry(q->cb.arg, id, q->fv, f->elements, deliveries);
}

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    /* re-reading our own entries says nothing of the queue's backlog */
    int state_read = !q->history;
    q->read_outstanding = 0;
    if (q->release_deferred) { /* the stop's release waited for this read */
        q->release_deferred = 0;
        queue_release_now(q);
    }
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        read_done(q, q->read_count, 0, -1); /* down, or its reads fail */
    if (r == NULL)
        return; /* disconnected; reader_up starts over */
    if (r->type == REDIS_REPLY_ERROR) {
        if (redis_error_is_config(r->str)) {
            char line[1536];
            snprintf(line, sizeof line, "redis at %s: reader connection: "
                     "XREADGROUP on %s failed: %s", q->o.target->display,
                     q->keys.stream, r->str);
            if (queue_fatal(q, line))
                return;
        }
        redis_route_t route =
            redis_conn_route_error(&q->reader, r->str, r->len);
        if (route == REDIS_ROUTE_RECONNECT)
            return; /* MOVED or demoted: reader_up reads there */
        if (route == REDIS_ROUTE_RETRY) {
            /* TRYAGAIN, CLUSTERDOWN, mid-migration, a replica: quietly */
            LOGD("queue", "XREADGROUP on %s: %s; again in %d ms",
                 q->keys.stream, r->str, REDIS_ROUTE_RETRY_MS);
            q->read_outstanding = 1; /* until the timer fires */
            uv_timer_start(&q->fetch_retry_timer, on_fetch_retry,
                           strncmp(r->str, "READONLY", 8) == 0
                               ? REDIS_ROUTE_READONLY_RETRY_MS
                               : REDIS_ROUTE_RETRY_MS,
                           0);
            return;
        }
        if (strncmp(r->str, "NOGROUP", 7) == 0) {
            LOGW("queue", "consumer group %s on %s is gone (stream deleted?); "
                 "recreating it", q->o.group, q->keys.stream);
            create_group(q);
        } else if (strncmp(q->read_error, r->str, sizeof q->read_error - 1)) {
            /* one line per new error, not one per retry */
            if (q->read_error[0] == '\0')
                q->read_failing_since = util_mono_ms();
            snprintf(q->read_error, sizeof q->read_error, "%s", r->str);
            LOGE("queue", "XREADGROUP on %s failed: %s; retrying every %d ms",
                 q->keys.stream, r->str, FETCH_RETRY_MS);
        } else {
            LOGD("queue", "XREADGROUP on %s failed again: %s", q->keys.stream,
                 r->str);
        }
        q->read_outstanding = 1; /* until the timer fires */
        uv_timer_start(&q->fetch_retry_timer, on_fetch_retry, FETCH_RETRY_MS,
                       0);
        return;
    }
    q->read_ok = 1;
    q->health.fetch_ms = util_mono_ms();
    queue_check_started(q);
    if (!outbox_ready(q) && !q->closing) {
        /* The writer went down while this read was blocked: what it
         * delivered could not be acked, renewed or released. It stays
         * pending for this consumer and is re-read first when the writer
         * is back (reader_fetch waits for it). */
        q->history = 1;
        snprintf(q->history_cursor, sizeof q->history_cursor, "0");
        read_done(q, q->read_count, 0, 0);
        return;
    }
    if (q->read_error[0]) {
        char took[32];
        redis_format_duration(util_mono_ms() - q->read_failing_since, took,
                              sizeof took);
        LOGI("queue", "XREADGROUP on %s works again after %s",
             q->keys.stream, took);
        q->read_error[0] = '\0';
    }
    size_t got = 0;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t s = 0; s < r->elements; s++) {
            const redisReply *sr = r->element[s];
            if (sr->type != REDIS_REPLY_ARRAY || sr->elements < 2 ||
                sr->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            const redisReply *entries = sr->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                const redisReply *e = entries->element[i];
                reader_handle_entry(q, e, 1);
                got++;
                if (q->history && e->type == REDIS_REPLY_ARRAY &&
                    e->elements > 0 &&
                    e->element[0]->type == REDIS_REPLY_STRING)
                    snprintf(q->history_cursor, sizeof q->history_cursor,
                             "%s", e->element[0]->str);
            }
        }
    }
    if (q->history && got == 0)
        q->history = 0;
    read_done(q, q->read_count, got, state_read);
    queue_redis_flush(q);
    reader_fetch(q);
}

void reader_unblock(queue_redis_t *q)
{
    if (q->read_outstanding && !q->history && q->reader_id &&
        !uv_is_active((uv_handle_t *)&q->fetch_retry_timer) &&
        redis_conn_up(&q->writer))
        redisAsyncCommand(q->writer.ac, NULL, NULL, "CLIENT UNBLOCK %lld",
                          q->reader_id);
}

void queue_redis_resume_fetching(queue_redis_t *q)
{
    if (q->closing || q->fatal || q->writer_only || q->fetching)
        return;
    q->fetching = 1;
    reader_fetch(q);
}

void queue_redis_stop_fetching(queue_redis_t *q)
{
    q->fetching = 0;
    if (uv_is_active((uv_handle_t *)&q->fetch_retry_timer)) {
        /* a read that failed was waiting to be retried: there is none */
        uv_timer_stop(&q->fetch_retry_timer);
        q->read_outstanding = 0;
    }
    reader_unblock(q);
}
