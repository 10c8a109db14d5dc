/*
 * queue_redis.c - the Redis Streams backend; see queue_redis.h for the
 * design. Keys: queue_keys.h. Scripts: queue_scripts.c.
 */
#include "queue_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue_scripts.h"
#include "stream_sweep.h"
#include "util.h"

#define MAX_FETCH 1000
#define MAX_BATCH 256
#define OP_MAX_TRIES 20
#define OP_XACK (-1) /* an op that is a plain XACK, not a script */

/* A list of byte strings in one reusable buffer. */
typedef struct {
    buf_t data;
    size_t *off; /* n + 1 offsets */
    size_t n, cap;
} strlist_t;

static int strlist_add(strlist_t *l, const void *p, size_t len)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        size_t *o = realloc(l->off, cap * sizeof *o);
        if (o == NULL)
            return -1;
        l->off = o;
        l->cap = cap;
    }
    if (l->n == 0)
        l->off[0] = 0;
    if (buf_append(&l->data, p, len) != 0)
        return -1;
    l->off[++l->n] = l->data.len;
    return 0;
}

static const char *strlist_get(const strlist_t *l, size_t i, size_t *len)
{
    *len = l->off[i + 1] - l->off[i];
    return l->data.data + l->off[i];
}

static void strlist_reset(strlist_t *l)
{
    l->n = 0;
    buf_reset(&l->data);
}

static void strlist_free(strlist_t *l)
{
    buf_free(&l->data);
    free(l->off);
}

/* One write to Redis: EVALSHA <script> followed by args, or XACK <args>. */
typedef struct op {
    struct op *next;
    struct queue_redis *q;
    int script;
    int tries;
    int argc;
    const char **argv;
    size_t *lens;
    char job_id[ENVELOPE_MAX_ID + 1]; /* for log lines */
} op_t;

struct queue_redis {
    uv_loop_t *loop;
    queue_redis_opts_t o;
    queue_callbacks_t cb;
    queue_keys_t keys;
    char result_ttl[24], failure_ttl[24], dlq_max_len[24];
    redis_conn_t reader, writer;

    char sha[SCRIPT_COUNT][48];
    int scripts_loaded;   /* how many SCRIPT LOAD replies arrived */
    int scripts_ready;

    int fetching;         /* enabled */
    int read_outstanding;
    int history;          /* re-reading our own pending entries */
    char history_cursor[48];
    long long reader_id;  /* CLIENT ID of the reader, for CLIENT UNBLOCK */
    strview_t *fv;        /* reusable field views */
    size_t fv_cap;

    op_t *out_head, *out_tail; /* not yet sent */
    size_t ops_inflight;       /* sent, reply not yet seen */
    uv_timer_t retry_timer;
    const char **send_argv;    /* scratch for EVALSHA argv */
    size_t *send_lens;
    size_t send_cap;

    /* the completion batch being built */
    strlist_t b_ids, b_keys, b_recs;
    strlist_t args; /* scratch for building ops */

    uv_timer_t tick_timer;     /* promote, reclaim, heartbeat, cancels */
    int64_t next_promote, next_reclaim, next_heartbeat, next_cancel_poll;
    int promote_outstanding, reclaim_outstanding, cancel_outstanding;
    int64_t cancel_seen_ms;    /* score of the newest cancellation seen */
    const char **lease_buf;

    stream_sweep_t sweep;      /* acked ids no trim has passed yet */
    int64_t next_trim;
    int trim_outstanding;
    char *stale_buf;           /* ids handed to TRIM for deletion */
    const char **trim_argv;
    size_t stale_cap;          /* ids both of them have room for */

    int closing;
    int handles_open;
};

static void pump(queue_redis_t *q);
static void fetch(queue_redis_t *q);

static void progress(queue_redis_t *q)
{
    if (q->cb.on_progress)
        q->cb.on_progress(q->cb.arg);
}

/* ---- ops ---------------------------------------------------------------- */

static op_t *op_from_args(queue_redis_t *q, int script, const char *job_id)
{
    const strlist_t *a = &q->args;
    size_t argc = a->n;
    size_t size = sizeof(op_t) + argc * (sizeof(char *) + sizeof(size_t)) +
                  a->data.len + 1;
    op_t *op = malloc(size);
    if (op == NULL)
        return NULL;
    memset(op, 0, sizeof *op);
    op->q = q;
    op->script = script;
    op->argc = (int)argc;
    op->argv = (const char **)(op + 1);
    op->lens = (size_t *)(op->argv + argc);
    char *data = (char *)(op->lens + argc);
    memcpy(data, a->data.data, a->data.len);
    for (size_t i = 0; i < argc; i++) {
        op->argv[i] = data + a->off[i];
        op->lens[i] = a->off[i + 1] - a->off[i];
    }
    snprintf(op->job_id, sizeof op->job_id, "%s", job_id ? job_id : "-");
    return op;
}

static void outbox_push(queue_redis_t *q, op_t *op, int front)
{
    if (front) {
        op->next = q->out_head;
        q->out_head = op;
        if (q->out_tail == NULL)
            q->out_tail = op;
    } else {
        op->next = NULL;
        if (q->out_tail)
            q->out_tail->next = op;
        else
            q->out_head = op;
        q->out_tail = op;
    }
}

static void add_arg(queue_redis_t *q, const char *s)
{
    strlist_add(&q->args, s, strlen(s));
}

static void submit_op(queue_redis_t *q, int script, const char *job_id)
{
    op_t *op = op_from_args(q, script, job_id);
    strlist_reset(&q->args);
    if (op == NULL) {
        LOGE("queue", "out of memory queueing a write for job %s; it stays "
             "pending in Redis and will be redelivered", job_id);
        return;
    }
    outbox_push(q, op, 0);
}

static const char *script_name(int s)
{
    static const char *const names[SCRIPT_COUNT] = {
        [SCRIPT_COMPLETE] = "complete", [SCRIPT_REQUEUE] = "requeue",
        [SCRIPT_DLQ] = "dead-letter",   [SCRIPT_RELEASE] = "release",
        [SCRIPT_PROMOTE] = "promote",   [SCRIPT_RECLAIM] = "reclaim",
        [SCRIPT_TRIM] = "trim"};
    if (s == OP_XACK)
        return "ack";
    return s >= 0 && s < SCRIPT_COUNT ? names[s] : "?";
}

static void on_retry_timer(uv_timer_t *t) { pump(t->data); }

static void on_op_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    op_t *op = priv;
    queue_redis_t *q = op->q;
    redisReply *r = reply;
    (void)ac;
    q->ops_inflight--;
    if (r == NULL) { /* connection lost: send again once it is back */
        outbox_push(q, op, 1);
        progress(q);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (strncmp(r->str, "NOSCRIPT", 8) == 0) {
            q->scripts_ready = 0;
            q->scripts_loaded = 0;
            outbox_push(q, op, 1);
            /* scripts reload when the writer reconnects; force it */
            if (q->writer.ac)
                redisAsyncDisconnect(q->writer.ac);
            return;
        }
        if (++op->tries < OP_MAX_TRIES && !q->closing) {
            if (op->tries == 1)
                LOGW("queue", "%s for job %s failed: %s; retrying",
                     script_name(op->script), op->job_id, r->str);
            outbox_push(q, op, 1);
            uv_timer_start(&q->retry_timer, on_retry_timer, 500, 0);
            return;
        }
        LOGE("queue", "%s for job %s failed %d times: %s; giving up, the "
             "entry stays pending in Redis and will be redelivered",
             script_name(op->script), op->job_id, op->tries, r->str);
    } else if (op->script == SCRIPT_RELEASE && r->type == REDIS_REPLY_INTEGER &&
               r->integer > 0) {
        LOGI("queue", "released %lld unfinished job(s) back to queue %s for "
             "immediate redelivery", r->integer, q->o.queue);
    }
    free(op);
    progress(q);
    if (q->history && q->out_head == NULL && q->ops_inflight == 0)
        fetch(q); /* the re-read was waiting for this */
}

static void send_op(queue_redis_t *q, op_t *op)
{
    size_t prefix = op->script == OP_XACK ? 1 : 2;
    size_t argc = (size_t)op->argc + prefix;
    if (argc > q->send_cap) {
        const char **a = realloc(q->send_argv, argc * sizeof *a);
        size_t *l = realloc(q->send_lens, argc * sizeof *l);
        if (a)
            q->send_argv = a;
        if (l)
            q->send_lens = l;
        if (a == NULL || l == NULL) {
            outbox_push(q, op, 1);
            return;
        }
        q->send_cap = argc;
    }
    if (op->script == OP_XACK) {
        q->send_argv[0] = "XACK";
        q->send_lens[0] = 4;
    } else {
        q->send_argv[0] = "EVALSHA";
        q->send_lens[0] = 7;
        q->send_argv[1] = q->sha[op->script];
        q->send_lens[1] = strlen(q->sha[op->script]);
    }
    memcpy(q->send_argv + prefix, op->argv, (size_t)op->argc * sizeof(char *));
    memcpy(q->send_lens + prefix, op->lens, (size_t)op->argc * sizeof(size_t));
    if (redisAsyncCommandArgv(q->writer.ac, on_op_reply, op, (int)argc,
                              q->send_argv, q->send_lens) != REDIS_OK) {
        outbox_push(q, op, 1);
        return;
    }
    q->ops_inflight++;
}

static void pump(queue_redis_t *q)
{
    while (q->out_head && q->scripts_ready && redis_conn_up(&q->writer)) {
        op_t *op = q->out_head;
        q->out_head = op->next;
        if (q->out_head == NULL)
            q->out_tail = NULL;
        size_t before = q->ops_inflight;
        send_op(q, op);
        if (q->ops_inflight == before)
            break; /* could not send; it went back to the front */
    }
}

/* ---- writer connection --------------------------------------------------- */

static void on_script_loaded(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (r == NULL)
        return;
    if (r->type != REDIS_REPLY_STRING) {
        LOGE("queue", "SCRIPT LOAD failed: %s",
             r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        return;
    }
    snprintf(q->sha[q->scripts_loaded], sizeof q->sha[0], "%s", r->str);
    if (++q->scripts_loaded == SCRIPT_COUNT) {
        q->scripts_ready = 1;
        pump(q);
        progress(q);
        fetch(q); /* in case the reader was waiting for the writer */
    }
}

static void writer_up(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    q->scripts_loaded = 0;
    q->scripts_ready = 0;
    for (int i = 0; i < SCRIPT_COUNT; i++)
        redisAsyncCommand(c->ac, on_script_loaded, q, "SCRIPT LOAD %s",
                          queue_scripts[i]);
}

static void writer_down(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    (void)c;
    q->scripts_ready = 0;
    progress(q);
}

/* ---- reader connection -------------------------------------------------- */

static void on_read(redisAsyncContext *ac, void *reply, void *priv);

static void on_fetch_retry(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    q->read_outstanding = 0;
    fetch(q);
}

static void on_group_created(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (r && r->type == REDIS_REPLY_ERROR &&
        strncmp(r->str, "BUSYGROUP", 9) != 0)
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

static void reader_up(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    redisAsyncCommand(c->ac, on_client_id, q, "CLIENT ID");
    create_group(q);
    /* Re-read what was delivered to us before a disconnect first. */
    q->history = 1;
    snprintf(q->history_cursor, sizeof q->history_cursor, "0");
    q->read_outstanding = 0;
    fetch(q);
}

static void reader_down(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    (void)c;
    q->read_outstanding = 0;
    progress(q);
}

static void fetch(queue_redis_t *q)
{
    if (!q->fetching || q->read_outstanding || !redis_conn_up(&q->reader))
        return;
    /* Re-reading our own pending entries after a reconnect must wait until
     * the acks queued meanwhile are confirmed: otherwise jobs that finished
     * during the outage would look unfinished and run again. */
    if (q->history &&
        (q->out_head || q->ops_inflight || q->b_ids.n || !q->scripts_ready))
        return;
    size_t cap = q->cb.capacity(q->cb.arg);
    if (cap == 0)
        return;
    if (cap > MAX_FETCH)
        cap = MAX_FETCH;
    int rc;
    if (q->history)
        rc = redisAsyncCommand(q->reader.ac, on_read, q,
                               "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s",
                               q->o.group, q->o.consumer, (int)cap,
                               q->keys.stream,
                               q->history_cursor);
    else
        rc = redisAsyncCommand(q->reader.ac, on_read, q,
                               "XREADGROUP GROUP %s %s COUNT %d BLOCK %d "
                               "STREAMS %s >",
                               q->o.group, q->o.consumer, (int)cap,
                               q->o.block_ms,
                               q->keys.stream);
    if (rc == REDIS_OK)
        q->read_outstanding = 1;
    else
        LOGE("queue", "cannot send XREADGROUP on %s", q->keys.stream);
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

static void handle_entry(queue_redis_t *q, const redisReply *e,
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
        queue_redis_complete(q, id, id, NULL, 0);
        return;
    }
    if (f->elements > q->fv_cap) {
        strview_t *v = realloc(q->fv, f->elements * sizeof *v);
        if (v == NULL) {
            LOGE("queue", "out of memory reading entry %s; it stays pending",
                 id);
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
    q->read_outstanding = 0;
    if (r == NULL)
        return; /* disconnected; reader_up starts over */
    if (r->type == REDIS_REPLY_ERROR) {
        if (strncmp(r->str, "NOGROUP", 7) == 0) {
            LOGW("queue", "consumer group %s on %s is gone (stream deleted?); "
                 "recreating it", q->o.group, q->keys.stream);
            create_group(q);
        } else {
            LOGE("queue", "XREADGROUP on %s failed: %s; retrying in 1 s",
                 q->keys.stream, r->str);
        }
        q->read_outstanding = 1; /* until the timer fires */
        uv_timer_start(&q->retry_timer, on_fetch_retry, 1000, 0);
        return;
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
                handle_entry(q, e, 1);
                got++;
                if (q->history && e->type == REDIS_REPLY_ARRAY &&
                    e->elements > 0 && e->element[0]->type == REDIS_REPLY_STRING)
                    snprintf(q->history_cursor, sizeof q->history_cursor,
                             "%s", e->element[0]->str);
            }
        }
    }
    if (q->history && got == 0)
        q->history = 0;
    queue_redis_flush(q);
    fetch(q);
}

/* ---- periodic work: delayed jobs, leases, cancellations ----------------- */

#define TICK_MS 50
#define PROMOTE_EVERY_MS 100
#define PROMOTE_BATCH 500
#define CANCEL_POLL_MS 500
#define MAX_LEASE_IDS 4096
#define TRIM_EVERY_MS 100   /* after this worker acked something */
#define TRIM_IDLE_MS 1000   /* otherwise: what dead workers acked, poison */
#define STALE_ROUNDS 10 /* trims an acked id may wait before its own XDEL */
#define STALE_WIDTH 48  /* "<u64>-<u64>" and a NUL */

static int writer_ready(const queue_redis_t *q)
{
    return !q->closing && redis_conn_up(&q->writer) && q->scripts_ready;
}

/* An error reply to a periodic script: NOSCRIPT means Redis lost our
 * scripts (restart, SCRIPT FLUSH): reconnect, which reloads them. */
static int periodic_failed(queue_redis_t *q, const redisReply *r,
                           const char *what)
{
    if (r == NULL)
        return 1;
    if (r->type != REDIS_REPLY_ERROR)
        return 0;
    if (strncmp(r->str, "NOSCRIPT", 8) == 0) {
        q->scripts_ready = 0;
        if (q->writer.ac)
            redisAsyncDisconnect(q->writer.ac);
    } else {
        LOGW("queue", "%s on %s failed: %s", what, q->keys.stream, r->str);
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
    if (periodic_failed(q, r, "moving due delayed jobs"))
        return;
    /* A full batch: more are due. Go again at once, so a backlog of due
     * jobs (a burst of retries) moves at Redis speed, not one batch per
     * tick. */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->integer >= PROMOTE_BATCH && writer_ready(q))
        promote(q);
}

static void promote(queue_redis_t *q)
{
    char batch[16];
    snprintf(batch, sizeof batch, "%d", PROMOTE_BATCH);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_PROMOTE], "2",
                          q->keys.stream, q->keys.delayed, batch};
    if (redisAsyncCommandArgv(q->writer.ac, on_promoted, q, 6, argv, NULL) ==
        REDIS_OK)
        q->promote_outstanding = 1;
}

static void on_reclaimed(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->reclaim_outstanding = 0;
    if (periodic_failed(q, r, "reclaiming expired leases"))
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const redisReply *got = r->element[0], *counts = r->element[1],
                     *poisoned = r->element[2];
    for (size_t i = 0; i < poisoned->elements; i++)
        LOGW("queue", "entry %s dead-lettered as poison: delivered %ld times "
             "without finishing", poisoned->element[i]->str,
             q->o.max_deliveries);
    for (size_t i = 0; i < got->elements; i++) {
        uint32_t n = i < counts->elements ? (uint32_t)counts->element[i]->integer
                                          : 2;
        const redisReply *e = got->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements > 0)
            LOGI("queue", "reclaimed entry %s (delivery %u): its lease "
                 "expired", e->element[0]->str, n);
        handle_entry(q, e, n < 2 ? 2 : n);
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
    if (!periodic_failed(q, r, "trimming finished entries") &&
        r->type == REDIS_REPLY_STRING)
        stream_id_parse(r->str, r->len, &point);
    stream_sweep_trimmed(&q->sweep, point);
}

/* Cuts the stream below the oldest unfinished entry (see stream_sweep.h);
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
static void heartbeat(queue_redis_t *q)
{
    if (q->lease_buf == NULL) {
        q->lease_buf = malloc((MAX_LEASE_IDS + 5) * sizeof *q->lease_buf);
        if (q->lease_buf == NULL)
            return;
    }
    const char **argv = q->lease_buf;
    size_t n = q->cb.lease_ids(q->cb.arg, argv + 5, MAX_LEASE_IDS);
    if (n == 0)
        return;
    argv[0] = "XCLAIM";
    argv[1] = q->keys.stream;
    argv[2] = q->o.group;
    argv[3] = q->o.consumer;
    argv[4] = "0";
    argv[5 + n] = "JUSTID";
    redisAsyncCommandArgv(q->writer.ac, NULL, NULL, (int)(n + 6), argv, NULL);
}

static void on_cancels(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->cancel_outstanding = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *id = r->element[i], *score = r->element[i + 1];
        if (id->type != REDIS_REPLY_STRING)
            continue;
        long long ms = score->type == REDIS_REPLY_STRING ? atoll(score->str)
                                                          : 0;
        if (ms > q->cancel_seen_ms)
            q->cancel_seen_ms = ms;
        q->cb.on_cancelled(q->cb.arg, id->str);
    }
}

static void poll_cancels(queue_redis_t *q)
{
    if (redisAsyncCommand(q->writer.ac, on_cancels, q,
                          "ZRANGEBYSCORE %s %lld +inf WITHSCORES LIMIT 0 1000",
                          q->keys.cancelled,
                          (long long)q->cancel_seen_ms) == REDIS_OK)
        q->cancel_outstanding = 1;
}

static void on_tick(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    if (!writer_ready(q))
        return;
    int64_t now = util_mono_ms();
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
    if (now >= q->next_reclaim && !q->reclaim_outstanding && q->fetching) {
        int64_t every = q->o.lease_ms / 4;
        q->next_reclaim = now + (every < 250 ? 250 : every > 5000 ? 5000
                                                                  : every);
        reclaim(q);
    }
}

/* ---- public ------------------------------------------------------------- */

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
    q->cb = *cb;
    snprintf(q->result_ttl, sizeof q->result_ttl, "%lld",
             (long long)opts->result_ttl_s);
    snprintf(q->failure_ttl, sizeof q->failure_ttl, "%lld",
             (long long)opts->failure_ttl_s);
    snprintf(q->dlq_max_len, sizeof q->dlq_max_len, "%ld", opts->dlq_max_len);
    uv_timer_init(loop, &q->retry_timer);
    q->retry_timer.data = q;
    uv_timer_init(loop, &q->tick_timer);
    q->tick_timer.data = q;
    redis_conn_init(&q->reader, loop, opts->target, "reader", reader_up,
                    reader_down, q);
    redis_conn_init(&q->writer, loop, opts->target, "writer", writer_up,
                    writer_down, q);
    q->fetching = 1;
    return q;
}

void queue_redis_start(queue_redis_t *q)
{
    redis_conn_start(&q->writer);
    redis_conn_start(&q->reader);
    uv_timer_start(&q->tick_timer, on_tick, TICK_MS, TICK_MS);
}

void queue_redis_poke(queue_redis_t *q) { fetch(q); }

void queue_redis_complete(queue_redis_t *q, const char *stream_id,
                          const char *job_id, const char *record,
                          size_t record_len)
{
    strlist_add(&q->b_ids, stream_id, strlen(stream_id));
    if (record && q->o.result_ttl_s > 0) {
        char key[700];
        int n = snprintf(key, sizeof key, "%s%s", q->keys.job_prefix, job_id);
        strlist_add(&q->b_keys, key, (size_t)n);
        strlist_add(&q->b_recs, record, record_len);
    }
    if (q->b_ids.n >= MAX_BATCH)
        queue_redis_flush(q);
}

static void flush_batch(queue_redis_t *q)
{
    size_t n = q->b_ids.n, len;
    if (n == 0)
        return;
    const char *first = strlist_get(&q->b_ids, 0, &len);
    char label[64];
    snprintf(label, sizeof label, "%.*s%s", (int)(len > 40 ? 40 : len), first,
             n > 1 ? " and others" : "");
    for (size_t i = 0; i < n; i++) {
        const char *id = strlist_get(&q->b_ids, i, &len);
        stream_sweep_add(&q->sweep, id, len); /* on failure trims alone */
    }
    if (q->b_keys.n == 0) { /* nothing to record: a plain XACK will do */
        add_arg(q, q->keys.stream);
        add_arg(q, q->o.group);
        for (size_t i = 0; i < n; i++) {
            const char *id = strlist_get(&q->b_ids, i, &len);
            strlist_add(&q->args, id, len);
        }
        submit_op(q, OP_XACK, label);
        strlist_reset(&q->b_ids);
        return;
    }
    char num[24];
    snprintf(num, sizeof num, "%zu", 1 + q->b_keys.n);
    add_arg(q, num);
    add_arg(q, q->keys.stream);
    for (size_t i = 0; i < q->b_keys.n; i++) {
        const char *k = strlist_get(&q->b_keys, i, &len);
        strlist_add(&q->args, k, len);
    }
    add_arg(q, q->o.group);
    add_arg(q, q->result_ttl);
    snprintf(num, sizeof num, "%zu", n);
    add_arg(q, num);
    for (size_t i = 0; i < n; i++) {
        const char *id = strlist_get(&q->b_ids, i, &len);
        strlist_add(&q->args, id, len);
    }
    for (size_t i = 0; i < q->b_recs.n; i++) {
        const char *rec = strlist_get(&q->b_recs, i, &len);
        strlist_add(&q->args, rec, len);
    }
    submit_op(q, SCRIPT_COMPLETE, label);
    strlist_reset(&q->b_ids);
    strlist_reset(&q->b_keys);
    strlist_reset(&q->b_recs);
}

void queue_redis_flush(queue_redis_t *q)
{
    flush_batch(q);
    pump(q);
}

static int key_is(const strview_t *k, const char *name)
{
    size_t n = strlen(name);
    return k->len == n && memcmp(k->ptr, name, n) == 0;
}

void queue_redis_requeue(queue_redis_t *q, const char *stream_id,
                         const char *job_id, const strview_t *fv, size_t n,
                         uint32_t attempt, const char *error,
                         uint32_t delay_ms, int64_t due_ms)
{
    char num[24];
    add_arg(q, "2");
    add_arg(q, q->keys.stream);
    add_arg(q, q->keys.delayed);
    add_arg(q, q->o.group);
    add_arg(q, stream_id);
    snprintf(num, sizeof num, "%u", delay_ms);
    add_arg(q, num);
    snprintf(num, sizeof num, "%lld", (long long)due_ms);
    add_arg(q, num);
    /* the entry's fields, with attempt and last_error replaced */
    const strview_t *old_attempt = NULL, *old_error = NULL;
    int has_id = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (key_is(&fv[i], "attempt")) {
            old_attempt = &fv[i + 1];
        } else if (key_is(&fv[i], "last_error")) {
            old_error = &fv[i + 1];
        } else {
            has_id |= key_is(&fv[i], "id");
            strlist_add(&q->args, fv[i].ptr, fv[i].len);
            strlist_add(&q->args, fv[i + 1].ptr, fv[i + 1].len);
        }
    }
    if (!has_id) {
        add_arg(q, "id");
        add_arg(q, job_id);
    }
    if (attempt) {
        snprintf(num, sizeof num, "%u", attempt);
        add_arg(q, "attempt");
        add_arg(q, num);
    } else if (old_attempt && old_attempt->len) {
        add_arg(q, "attempt");
        strlist_add(&q->args, old_attempt->ptr, old_attempt->len);
    }
    if (error && *error) {
        add_arg(q, "last_error");
        add_arg(q, error);
    } else if (old_error && old_error->len) {
        add_arg(q, "last_error");
        strlist_add(&q->args, old_error->ptr, old_error->len);
    }
    stream_sweep_add(&q->sweep, stream_id, strlen(stream_id));
    submit_op(q, SCRIPT_REQUEUE, job_id);
}

void queue_redis_dead_letter(queue_redis_t *q, const char *stream_id,
                             const char *job_id, const char *reason,
                             const char *error, const char *record,
                             size_t record_len)
{
    char now[24], key[700];
    int with_record = record && q->o.failure_ttl_s > 0;
    snprintf(now, sizeof now, "%lld", (long long)util_now_ms());
    add_arg(q, with_record ? "3" : "2");
    add_arg(q, q->keys.stream);
    add_arg(q, q->keys.dlq);
    if (with_record) {
        snprintf(key, sizeof key, "%s%s", q->keys.job_prefix, job_id);
        add_arg(q, key);
    }
    add_arg(q, q->o.group);
    add_arg(q, stream_id);
    add_arg(q, reason);
    add_arg(q, error ? error : "");
    add_arg(q, q->o.consumer);
    add_arg(q, now);
    add_arg(q, q->dlq_max_len);
    if (with_record) {
        strlist_add(&q->args, record, record_len);
        add_arg(q, q->failure_ttl);
    }
    submit_op(q, SCRIPT_DLQ, job_id);
}

void queue_redis_stop_fetching(queue_redis_t *q)
{
    q->fetching = 0;
    uv_timer_stop(&q->retry_timer);
    if (q->read_outstanding && !q->history && q->reader_id &&
        redis_conn_up(&q->writer))
        redisAsyncCommand(q->writer.ac, NULL, NULL, "CLIENT UNBLOCK %lld",
                          q->reader_id);
}

void queue_redis_release_pending(queue_redis_t *q)
{
    add_arg(q, "2");
    add_arg(q, q->keys.stream);
    add_arg(q, q->keys.delayed);
    add_arg(q, q->o.group);
    add_arg(q, q->o.consumer);
    submit_op(q, SCRIPT_RELEASE, "(release)");
    /* then a last cut, so the stream holds only what is left to run */
    add_arg(q, "1");
    add_arg(q, q->keys.stream);
    add_arg(q, q->o.group);
    submit_op(q, SCRIPT_TRIM, "(trim)");
    pump(q);
}

int queue_redis_idle(const queue_redis_t *q)
{
    return q->out_head == NULL && q->ops_inflight == 0 && q->b_ids.n == 0 &&
           !q->read_outstanding;
}

int queue_redis_writer_up(const queue_redis_t *q)
{
    return redis_conn_up(&q->writer) && q->scripts_ready;
}

static void free_queue(queue_redis_t *q)
{
    op_t *op = q->out_head;
    while (op) {
        op_t *next = op->next;
        free(op);
        op = next;
    }
    strlist_free(&q->b_ids);
    strlist_free(&q->b_keys);
    strlist_free(&q->b_recs);
    strlist_free(&q->args);
    free(q->send_argv);
    free(q->send_lens);
    free(q->fv);
    free(q->lease_buf);
    free(q->stale_buf);
    free(q->trim_argv);
    stream_sweep_free(&q->sweep);
    free(q);
}

static void on_handle_closed(uv_handle_t *h)
{
    queue_redis_t *owner = ((redis_conn_t *)h->data)->arg;
    if (--owner->handles_open == 0)
        free_queue(owner);
}

static void on_retry_timer_closed(uv_handle_t *h)
{
    queue_redis_t *q = h->data;
    if (--q->handles_open == 0)
        free_queue(q);
}

void queue_redis_destroy(queue_redis_t *q)
{
    if (q == NULL)
        return;
    q->closing = 1;
    q->fetching = 0;
    q->handles_open = 4;
    uv_timer_stop(&q->retry_timer);
    uv_close((uv_handle_t *)&q->retry_timer, on_retry_timer_closed);
    uv_timer_stop(&q->tick_timer);
    uv_close((uv_handle_t *)&q->tick_timer, on_retry_timer_closed);
    redis_conn_close(&q->reader, on_handle_closed);
    redis_conn_close(&q->writer, on_handle_closed);
}
