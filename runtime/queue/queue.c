/*
 * queue.c - creating, starting and destroying the Redis Streams backend;
 * see queue.h for the design and queue_internal.h for how the files of
 * this folder share its state.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "queue/cluster.h"

#include "core/log.h"

void queue_progress(queue_redis_t *q)
{
    if (q->cb.on_progress)
        q->cb.on_progress(q->cb.arg);
}

void queue_check_started(queue_redis_t *q)
{
    if (q->started || q->fatal || !outbox_ready(q) || !q->write_ok)
        return;
    if (!q->writer_only && (!redis_conn_up(&q->reader) ||
                            !q->group_checked || !q->read_ok))
        return;
    q->started = 1;
    /* From now on a configuration error is a state, not the end. */
    q->reader.config_fatal = 0;
    q->writer.config_fatal = 0;
    if (q->writer_only)
        LOGI("queue", "connected to %s: writing to queue %s (writer only, "
             "takes no jobs)", q->o.target->display, q->o.queue);
    else
        LOGI("queue", "connected to %s: taking jobs from queue %s",
             q->o.target->display, q->o.queue);
}

static void on_fatal_timer(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    if (!q->closing)
        q->cb.on_fatal(q->cb.arg, q->fatal_line);
}

int queue_fatal(queue_redis_t *q, const char *line)
{
    if (q->closing)
        return 1;
    if (q->started || q->cb.on_fatal == NULL)
        return 0;
    if (q->fatal)
        return 1;
    q->fatal = 1;
    q->fetching = 0;
    /* Told from a timer, not from inside the hiredis callback that found
     * it: the worker then tears the queue and its connections down. */
    util_copy_str(q->fatal_line, sizeof q->fatal_line, line);
    uv_timer_start(&q->fatal_timer, on_fatal_timer, 0, 0);
    return 1;
}

static void on_conn_fatal(redis_conn_t *c, void *arg, const char *line)
{
    (void)c;
    queue_fatal(arg, line);
}

static void init_timer(queue_redis_t *q, uv_timer_t *t)
{
    uv_timer_init(q->loop, t);
    t->data = q;
}

queue_redis_t *queue_redis_create(uv_loop_t *loop,
                                  const queue_redis_opts_t *opts,
                                  const queue_callbacks_t *cb, char *err,
                                  size_t err_len)
{
    queue_redis_t *q = calloc(1, sizeof *q);
    if (q == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (queue_keys_init(&q->keys, opts->ns, opts->queue, err, err_len) != 0) {
        free(q);
        return NULL;
    }
    q->loop = loop;
    q->o = *opts;
    if (cb)
        q->cb = *cb; /* else none: a writer-only queue needs none */
    /* who writes our registry record: the same host and pid the worker's
     * record gives, to tell another process under our name from us */
    snprintf(q->self_pid, sizeof q->self_pid, "%d", (int)getpid());
    snprintf(q->self_host, sizeof q->self_host, "host");
    gethostname(q->self_host, sizeof q->self_host - 1);
    snprintf(q->failure_ttl, sizeof q->failure_ttl, "%lld",
             (long long)opts->failure_ttl_s);
    snprintf(q->dlq_max_len, sizeof q->dlq_max_len, "%ld", opts->dlq_max_len);
    init_timer(q, &q->op_retry_timer);
    init_timer(q, &q->fetch_retry_timer);
    init_timer(q, &q->script_retry_timer);
    init_timer(q, &q->tick_timer);
    init_timer(q, &q->fatal_timer);
    redis_conn_init(&q->reader, loop, opts->target, "reader", reader_up,
                    reader_down, on_conn_fatal, q);
    redis_conn_init(&q->writer, loop, opts->target, "writer",
                    outbox_writer_up, outbox_writer_down, on_conn_fatal, q);
    redis_conn_init(&q->index, loop, opts->target, "queue index", NULL,
                    NULL, NULL, q);
    if (opts->target->cluster) {
        unsigned slot = cluster_key_slot(q->keys.stream,
                                         strlen(q->keys.stream));
        redis_conn_set_slot(&q->reader, slot);
        redis_conn_set_slot(&q->writer, slot);
        redis_conn_set_slot(&q->index, cluster_key_slot(
                                           q->keys.queues,
                                           strlen(q->keys.queues)));
        /* a reply awaited longer than its command may block is stuck */
        q->reader.stuck_after_ms += opts->block_ms;
        if (opts->wait_replicas > 0)
            q->writer.stuck_after_ms += opts->wait_timeout_ms;
    }
    /* Until fully up, an error retrying cannot fix ends the worker. */
    q->reader.config_fatal = q->writer.config_fatal =
        q->cb.on_fatal != NULL;
    q->fetching = 1;
    return q;
}

void queue_redis_start(queue_redis_t *q)
{
    redis_conn_start(&q->writer);
    redis_conn_start(&q->reader);
    if (q->o.target->cluster && q->o.index_of == NULL)
        redis_conn_start(&q->index);
    periodic_start(q);
}

void queue_redis_start_writer_only(queue_redis_t *q)
{
    q->writer_only = 1;
    q->fetching = 0; /* nothing reads, unparks or reclaims */
    redis_conn_start(&q->writer);
}

void queue_redis_poke(queue_redis_t *q) { reader_fetch(q); }

int queue_redis_idle(const queue_redis_t *q)
{
    return outbox_empty(q) && q->b_ids.n == 0 && !q->read_outstanding;
}

int queue_redis_writer_up(const queue_redis_t *q) { return outbox_ready(q); }

int queue_redis_reader_up(const queue_redis_t *q)
{
    return redis_conn_up(&q->reader);
}

/* Writes are confirmed about every second (the registry heartbeat): a
 * longer gap means Redis was not answering. */
#define WRITE_GAP_MS 2000

void queue_write_confirmed(queue_redis_t *q)
{
    int64_t now = util_mono_ms();
    if (q->read_outstanding && q->health.write_ms &&
        now - q->health.write_ms > WRITE_GAP_MS)
        q->health.fetch_ms = now;
    q->health.write_ms = now;
}

const queue_health_t *queue_redis_health(const queue_redis_t *q)
{
    return &q->health;
}

unsigned long long queue_redis_reconnects(const queue_redis_t *q)
{
    return q->reader.reconnects + q->writer.reconnects;
}

int64_t queue_redis_fetch_every_ms(const queue_redis_t *q)
{
    return q->o.block_ms;
}

int64_t queue_redis_lease_every_ms(const queue_redis_t *q)
{
    return q->o.lease_ms / 3;
}

static void free_queue(queue_redis_t *q)
{
    outbox_free(q);
    periodic_free(q);
    strlist_free(&q->b_ids);
    strlist_free(&q->b_recs);
    strlist_free(&q->b_builds);
    free(q->fv);
    free(q);
}

/* The timers' data is q; the connections' is their redis_conn_t. */
static void on_conn_closed(uv_handle_t *h)
{
    queue_redis_t *q = ((redis_conn_t *)h->data)->arg;
    if (--q->handles_open == 0)
        free_queue(q);
}

static void on_timer_closed(uv_handle_t *h)
{
    queue_redis_t *q = h->data;
    if (--q->handles_open == 0)
        free_queue(q);
}

static void close_timer(uv_timer_t *t)
{
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, on_timer_closed);
}

void queue_redis_destroy(queue_redis_t *q)
{
    if (q == NULL)
        return;
    q->closing = 1;
    q->fetching = 0;
    q->handles_open = 8;
    close_timer(&q->op_retry_timer);
    close_timer(&q->fetch_retry_timer);
    close_timer(&q->script_retry_timer);
    close_timer(&q->tick_timer);
    close_timer(&q->fatal_timer);
    redis_conn_close(&q->reader, on_conn_closed);
    redis_conn_close(&q->writer, on_conn_closed);
    redis_conn_close(&q->index, on_conn_closed);
}
