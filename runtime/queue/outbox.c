/*
 * outbox.c - the writer side of the queue: every state change of a job is
 * an "op" (a script call or a plain XACK) kept in a FIFO until Redis
 * confirms it. An op whose reply is lost in a disconnect goes back to the
 * front and is sent again after reconnecting (every op is idempotent); an
 * error reply is retried after a pause, up to OP_MAX_TRIES times, after
 * which the entry is left pending in Redis to be redelivered. Nothing is
 * sent until the writer is connected and every script is loaded; a failed
 * SCRIPT LOAD is retried with backoff, and meanwhile the reader does not
 * fetch (reader.c), saying so in one line.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

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

static void fifo_append(op_fifo_t *f, op_t *op)
{
    op->next = NULL;
    if (f->tail)
        f->tail->next = op;
    else
        f->head = op;
    f->tail = op;
}

op_t *fifo_pop(op_fifo_t *f)
{
    op_t *op = f->head;
    if (op) {
        f->head = op->next;
        if (f->head == NULL)
            f->tail = NULL;
    }
    return op;
}

static void fifo_free(op_fifo_t *f)
{
    while (f->head)
        free(fifo_pop(f));
}

void outbox_resend(queue_redis_t *q, op_t *op)
{
    fifo_append(&q->returned, op);
}

op_fifo_t *outbox_next(queue_redis_t *q)
{
    return q->returned.head ? &q->returned : &q->fresh;
}

void outbox_arg(queue_redis_t *q, const char *s)
{
    strlist_adds(&q->args, s);
}

void outbox_arg_len(queue_redis_t *q, const char *p, size_t len)
{
    strlist_add(&q->args, p, len);
}

int outbox_submit(queue_redis_t *q, int script, const char *job_id)
{
    op_t *op = strlist_failed(&q->args) ? NULL
                                        : op_from_args(q, script, job_id);
    strlist_reset(&q->args);
    if (op == NULL) {
        log_job_t lj = {.id = job_id, .queue = q->o.queue};
        LOGJE("queue", &lj, "out of memory queueing a write for job %s; it "
              "stays pending in Redis and will be redelivered", job_id);
        return -1;
    }
    fifo_append(&q->fresh, op);
    return 0;
}

static const char *script_name(int s)
{
    static const char *const names[SCRIPT_COUNT] = {
        [SCRIPT_COMPLETE] = "complete", [SCRIPT_REQUEUE] = "requeue",
        [SCRIPT_DLQ] = "dead-letter",   [SCRIPT_RELEASE] = "release",
        [SCRIPT_PROMOTE] = "promote",   [SCRIPT_RECLAIM] = "reclaim",
        [SCRIPT_TRIM] = "trim",         [SCRIPT_PARK] = "park",
        [SCRIPT_UNPARK] = "unpark",     [SCRIPT_PARK_EXPIRE] = "park expiry",
        [SCRIPT_HEARTBEAT] = "heartbeat", [SCRIPT_CLEANUP] = "cleanup",
        [SCRIPT_RELOAD_REPLY] = "reload reply",
        [SCRIPT_WORKER_LOST] = "worker-lost",
        [SCRIPT_GIVE_BACK] = "give back",
        [SCRIPT_SCHEDULE_DUE] = "schedule due",
        [SCRIPT_SCHEDULE_FIRE] = "schedule fire",
        [SCRIPT_LIMIT_SET] = "limit set",
        [SCRIPT_LIMIT_RESERVE] = "rate reserve",
        [SCRIPT_LIMIT_ACQUIRE] = "concurrency acquire",
        [SCRIPT_LIMIT_RENEW] = "concurrency renew",
        [SCRIPT_LIMIT_RELEASE] = "concurrency release",
        [SCRIPT_RECORDS_PRUNE] = "record bucket prune"};
    if (s == OP_XACK)
        return "ack";
    if (s == OP_MULTI)
        return "complete";
    return s >= 0 && s < SCRIPT_COUNT ? names[s] : "?";
}

static void on_op_retry_timer(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    q->op_hold = 0;
    outbox_pump(q);
}

static void on_op_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    op_t *op = priv;
    queue_redis_t *q = op->q;
    redisReply *r = reply;
    (void)ac;
    q->ops_inflight--;
    if (r == NULL) { /* connection lost: send again once it is back */
        outbox_resend(q, op);
        queue_progress(q);
        return;
    }
    /* What failed: the reply's error, or for a transaction the error of
     * the command that failed in it (queueing it, or running it) */
    const char *err_str = r->type == REDIS_REPLY_ERROR ? r->str : NULL;
    if (op->script == OP_MULTI) {
        if (op->part_error[0])
            err_str = op->part_error;
        else if (r->type == REDIS_REPLY_NIL)
            err_str = "EXEC answered nil";
        else if (err_str && strncmp(err_str, "EXECABORT ", 10) == 0) {
            /* "... discarded because of: READONLY ...": route by that */
            const char *why = strstr(err_str, "because of: ");
            if (why)
                err_str = why + 12;
        }
        for (size_t i = 0; err_str == NULL && r->type == REDIS_REPLY_ARRAY &&
                           i < r->elements;
             i++)
            if (r->element[i]->type == REDIS_REPLY_ERROR)
                err_str = r->element[i]->str;
    }
    if (err_str) {
        if (redis_error_is_config(err_str)) {
            char line[1536];
            snprintf(line, sizeof line, "redis at %s: writer connection: %s "
                     "failed: %s", q->o.target->display,
                     script_name(op->script), err_str);
            if (queue_fatal(q, line)) {
                free(op); /* nothing was fetched: there is nothing to ack */
                return;
            }
        }
        switch (redis_conn_route_error(&q->writer, err_str, strlen(err_str))) {
        case REDIS_ROUTE_RECONNECT:
            /* MOVED, or demoted by a failover: the writer reconnects where
             * the slot's primary is now, and this is sent again there */
            outbox_resend(q, op);
            return;
        case REDIS_ROUTE_RETRY:
            /* TRYAGAIN, CLUSTERDOWN, a slot mid-migration (ASK), or a
             * plain --redis that is a replica: hold everything and send
             * again, not counted as a try */
            outbox_resend(q, op);
            q->op_hold = 1;
            uv_timer_start(&q->op_retry_timer, on_op_retry_timer,
                           strncmp(err_str, "READONLY", 8) == 0
                               ? REDIS_ROUTE_READONLY_RETRY_MS
                               : REDIS_ROUTE_RETRY_MS,
                           0);
            return;
        case REDIS_ROUTE_NONE:
            break;
        }
        if (strncmp(err_str, "NOSCRIPT", 8) == 0) {
            q->scripts_ready = 0;
            outbox_resend(q, op);
            /* scripts reload when the writer reconnects; force it */
            if (q->writer.ac)
                redisAsyncDisconnect(q->writer.ac);
            return;
        }
        if (++op->tries < OP_MAX_TRIES && !q->closing) {
            if (op->tries == 1) {
                log_job_t lj = {.id = op->job_id, .queue = q->o.queue};
                LOGJW("queue", &lj, "%s for job %s failed: %s; retrying",
                      script_name(op->script), op->job_id, err_str);
            }
            /* Hold everything, not just this op, so nothing overtakes it,
             * and give what failed (OOM, BUSY, LOADING) time to pass. */
            outbox_resend(q, op);
            q->op_hold = 1;
            uv_timer_start(&q->op_retry_timer, on_op_retry_timer, 500, 0);
            return;
        }
        log_job_t lj = {.id = op->job_id, .queue = q->o.queue};
        LOGJE("queue", &lj, "%s for job %s failed %d times: %s; giving up, "
              "the entry stays pending in Redis and will be redelivered",
              script_name(op->script), op->job_id, op->tries,
              err_str);
    } else {
        queue_write_confirmed(q);
        if (op->script != OP_XACK && !q->write_ok) {
            q->write_ok = 1;
            queue_check_started(q);
        }
        if (op->script == SCRIPT_RELEASE)
            ops_release_replied(q, r);
        if (op->script == SCRIPT_WORKER_LOST)
            lost_replied(q, r);
        if (op->script == SCRIPT_PARK && r->type == REDIS_REPLY_INTEGER &&
            r->integer == 2) {
            log_job_t lj = {.id = op->job_id, .queue = q->o.queue};
            LOGJW("queue", &lj, "job %s dead-lettered instead of parked: %d "
                  "(job, version) pairs are parked on queue %s already (the "
                  "limit); deploy their plugins or let --park-ttl expire "
                  "them", op->job_id, QUEUE_PARKED_PAIRS_MAX, q->o.queue);
        }
    }
    free(op);
    queue_progress(q);
    if (q->history && outbox_empty(q))
        reader_fetch(q); /* the re-read was waiting for this */
}

/* The reply to MULTI and to each command queued in a transaction
 * ("QUEUED", or an error that makes EXEC answer EXECABORT; on a cluster a
 * MOVED or ASK). Keeps the first error, for on_op_reply. */
static void on_multi_part(redisAsyncContext *ac, void *reply, void *priv)
{
    op_t *op = priv;
    redisReply *r = reply;
    (void)ac;
    if (r && r->type == REDIS_REPLY_ERROR && op->part_error[0] == '\0')
        snprintf(op->part_error, sizeof op->part_error, "%s", r->str);
}

/* Sends an OP_MULTI: MULTI, its commands, EXEC (whose reply is the op's).
 * Returns 0, or -1 when it could not be sent now (nothing or only part
 * of it went out: a MULTI left open is discarded when the connection
 * drops, which is what makes hiredis refuse more). */
static int send_multi(queue_redis_t *q, op_t *op)
{
    op->part_error[0] = '\0';
    if (redisAsyncCommand(q->writer.ac, on_multi_part, op, "MULTI") !=
        REDIS_OK)
        return -1;
    int i = 0;
    while (i < op->argc) {
        /* the count: digits, not NUL-terminated (strlist data) */
        int n = 0;
        for (size_t k = 0; k < op->lens[i] && n < 1000000; k++)
            n = n * 10 + (op->argv[i][k] - '0');
        if (n <= 0 || i + 1 + n > op->argc ||
            redisAsyncCommandArgv(q->writer.ac, on_multi_part, op, n,
                                  op->argv + i + 1,
                                  op->lens + i + 1) != REDIS_OK)
            goto partial;
        i += 1 + n;
    }
    if (redisAsyncCommand(q->writer.ac, on_op_reply, op, "EXEC") != REDIS_OK)
        goto partial;
    q->ops_inflight++;
    return 0;
partial:
    /* A transaction left open would take the next commands in: drop the
     * connection (the server discards it; every callback gets NULL, and
     * the op, still in its FIFO, is sent again once it is back). */
    redisAsyncDisconnect(q->writer.ac);
    return -1;
}

/* Sends op (it stays where it is in its FIFO until this succeeds).
 * Returns 0, or -1 when it could not be sent now. */
static int send_op(queue_redis_t *q, op_t *op)
{
    if (op->script == OP_MULTI)
        return send_multi(q, op);
    size_t prefix = op->script == OP_XACK ? 1 : 2;
    size_t argc = (size_t)op->argc + prefix;
    if (argc > q->send_cap) {
        const char **a = realloc(q->send_argv, argc * sizeof *a);
        size_t *l = realloc(q->send_lens, argc * sizeof *l);
        if (a)
            q->send_argv = a;
        if (l)
            q->send_lens = l;
        if (a == NULL || l == NULL)
            return -1;
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
                              q->send_argv, q->send_lens) != REDIS_OK)
        return -1;
    q->ops_inflight++;
    return 0;
}

/* WAIT's answer: one line when the replicas fall short, one when they
 * catch up again (not one per WAIT). */
static void on_wait_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->wait_outstanding = 0;
    if (r == NULL) { /* the connection went: the ops are sent again */
        q->wait_again = 0;
        return;
    }
    if (q->wait_again && redis_conn_up(&q->writer)) {
        /* what was sent while this one blocked: a WAIT behind it */
        q->wait_again = 0;
        q->wait_outstanding =
            redisAsyncCommand(q->writer.ac, on_wait_reply, q, "WAIT %d %lld",
                              q->o.wait_replicas,
                              (long long)q->o.wait_timeout_ms) == REDIS_OK;
    }
    int want = q->o.wait_replicas;
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= want) {
        if (q->wait_short)
            LOGI("queue", "writes to queue %s reach %d replica(s) again "
                 "(--wait-replicas)", q->o.queue, want);
        q->wait_short = 0;
        return;
    }
    q->waits_short++;
    if (q->wait_short)
        return;
    q->wait_short = 1;
    if (r->type == REDIS_REPLY_INTEGER)
        LOGW("queue", "writes to queue %s reached %lld of %d replica(s) "
             "within %lld ms (--wait-replicas): they are done on the "
             "primary, but a failover before they replicate would lose "
             "them (completions: the job runs again); said once until they "
             "catch up", q->o.queue, r->integer, want,
             (long long)q->o.wait_timeout_ms);
    else
        LOGW("queue", "WAIT on queue %s failed: %s (--wait-replicas); said "
             "once until a WAIT succeeds", q->o.queue,
             r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

void outbox_pump(queue_redis_t *q)
{
    int sent = 0;
    while (!q->op_hold && q->scripts_ready && redis_conn_up(&q->writer)) {
        op_fifo_t *f = outbox_next(q);
        if (f->head == NULL || send_op(q, f->head) != 0)
            break;
        fifo_pop(f);
        sent++;
    }
    /* --wait-replicas: one WAIT behind what this round sent; the writer's
     * next commands queue behind it in Redis, which holds this worker's
     * writes to what its replicas keep up with */
    if (sent && q->o.wait_replicas > 0 && q->wait_outstanding)
        q->wait_again = 1;
    else if (sent && q->o.wait_replicas > 0)
        q->wait_outstanding =
            redisAsyncCommand(q->writer.ac, on_wait_reply, q, "WAIT %d %lld",
                              q->o.wait_replicas,
                              (long long)q->o.wait_timeout_ms) == REDIS_OK;
}

static void start_script_round(queue_redis_t *q);

static void on_script_retry(uv_timer_t *t)
{
    queue_redis_t *q = t->data;
    if (!q->closing && redis_conn_up(&q->writer) && !q->scripts_ready)
        start_script_round(q);
}

/* Every script is loaded: the writer is ready. */
static void scripts_ready(queue_redis_t *q)
{
    q->scripts_ready = 1;
    q->script_backoff_ms = 0;
    if (q->script_trouble_logged) {
        char took[32];
        redis_format_duration(util_mono_ms() - q->script_failing_since, took,
                              sizeof took);
        LOGI("queue", "writer connection to %s: scripts loaded after %s; "
             "fetching again", q->o.target->display, took);
        q->script_trouble_logged = 0;
    }
    queue_check_started(q);
    outbox_pump(q);
    queue_progress(q);
    reader_fetch(q); /* the reader waits for the writer */
}

/* A round failed. Before the first full start an error retrying cannot
 * fix (NOPERM) ends the worker; otherwise the writer stays not ready, so
 * nothing is fetched, and the round is retried with backoff. */
static void scripts_failed(queue_redis_t *q)
{
    const char *e = q->script_error;
    int config = redis_error_is_config(e);
    if (config) {
        char line[1536];
        snprintf(line, sizeof line, "redis at %s: writer connection: SCRIPT "
                 "LOAD or a check of the commands it needs failed: %s",
                 q->o.target->display, e);
        if (queue_fatal(q, line))
            return;
    }
    q->script_backoff_ms = q->script_backoff_ms ? q->script_backoff_ms * 2
                                                : REDIS_BACKOFF_MIN_MS;
    if (q->script_backoff_ms > REDIS_BACKOFF_MAX_MS)
        q->script_backoff_ms = REDIS_BACKOFF_MAX_MS;
    uv_timer_start(&q->script_retry_timer, on_script_retry,
                   (uint64_t)q->script_backoff_ms, 0);
    if (!q->script_trouble_logged) {
        q->script_trouble_logged = 1;
        q->script_failing_since = util_mono_ms();
        log_line(config ? JOBRT_LOG_ERROR : JOBRT_LOG_WARN, "queue",
                 "not fetching: the writer connection to %s cannot load "
                 "scripts: %s; retrying in %lld ms, " REDIS_BACKOFF_TEXT,
                 q->o.target->display, e, (long long)q->script_backoff_ms);
    } else {
        LOGD("queue", "SCRIPT LOAD failed again: %s", e);
    }
    reader_unblock(q); /* no blocked read may hand us jobs meanwhile */
}

/* After the SCRIPT LOADs of a round, the commands the worker sends
 * outside scripts, tried where they change nothing (a key of the queue's
 * slot no one uses): a user whose ACL rule lacks one (a rule from before
 * completions became MULTI/EXEC, docs/redis-security.md) fails here, at
 * start, with NOPERM naming it, not at its first completion. */
#define PROBES 4
static void on_script_loaded(redisAsyncContext *ac, void *reply, void *priv);
static int send_probe(queue_redis_t *q, int i)
{
    char key[600];
    snprintf(key, sizeof key, "%s:probe", q->keys.done);
    switch (i) {
    case 0:
        return redisAsyncCommand(q->writer.ac, on_script_loaded, q, "MULTI");
    case 1:
        return redisAsyncCommand(q->writer.ac, on_script_loaded, q,
                                 "DISCARD");
    case 2:
        return redisAsyncCommand(q->writer.ac, on_script_loaded, q,
                                 "EXPIRE %s 1 NX", key);
    default:
        return redisAsyncCommand(q->writer.ac, on_script_loaded, q,
                                 "UNLINK %s", key);
    }
}

static void on_script_loaded(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (r == NULL || q->scripts_replies >= q->scripts_sent)
        return; /* disconnected: the next writer_up starts a new round */
    int i = q->scripts_replies++;
    if (i >= SCRIPT_COUNT) { /* a probe: only a permission error counts
                                (a replica's READONLY is for the ops) */
        if (r->type == REDIS_REPLY_ERROR && redis_error_is_config(r->str) &&
            q->script_error[0] == '\0')
            snprintf(q->script_error, sizeof q->script_error, "%s", r->str);
    } else if (r->type == REDIS_REPLY_STRING && r->len < sizeof q->sha[0])
        memcpy(q->sha[i], r->str, r->len + 1);
    else if (q->script_error[0] == '\0')
        snprintf(q->script_error, sizeof q->script_error, "%.*s",
                 r->type == REDIS_REPLY_ERROR ? (int)r->len : 16,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (q->scripts_replies < q->scripts_sent)
        return;
    if (q->script_error[0] || q->scripts_sent < SCRIPT_COUNT + PROBES)
        scripts_failed(q);
    else
        scripts_ready(q);
}

/* SCRIPT LOAD of every script, pipelined; the replies come in order. */
static void start_script_round(queue_redis_t *q)
{
    q->scripts_ready = 0;
    q->scripts_replies = 0;
    q->scripts_sent = 0;
    q->script_error[0] = '\0';
    for (int i = 0; i < SCRIPT_COUNT + PROBES; i++) {
        if ((i < SCRIPT_COUNT
                 ? redisAsyncCommand(q->writer.ac, on_script_loaded, q,
                                     "SCRIPT LOAD %s", queue_scripts[i])
                 : send_probe(q, i - SCRIPT_COUNT)) != REDIS_OK)
            break;
        q->scripts_sent++;
    }
    if (q->scripts_sent < SCRIPT_COUNT + PROBES) {
        snprintf(q->script_error, sizeof q->script_error, "cannot send "
                 "SCRIPT LOAD");
        if (q->scripts_sent == 0)
            scripts_failed(q);
    }
}

void outbox_writer_up(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    (void)c;
    uv_timer_stop(&q->script_retry_timer);
    start_script_round(q);
}

void outbox_writer_down(redis_conn_t *c, void *arg)
{
    queue_redis_t *q = arg;
    (void)c;
    q->scripts_ready = 0;
    uv_timer_stop(&q->script_retry_timer); /* writer_up starts a round */
    redis_conn_recheck(&q->reader); /* --cluster: has the slot moved? */
    queue_progress(q);
}

int outbox_ready(const queue_redis_t *q)
{
    return !q->closing && redis_conn_up(&q->writer) && q->scripts_ready;
}

int outbox_empty(const queue_redis_t *q)
{
    return q->returned.head == NULL && q->fresh.head == NULL &&
           q->ops_inflight == 0;
}

void outbox_free(queue_redis_t *q)
{
    fifo_free(&q->returned);
    fifo_free(&q->fresh);
    strlist_free(&q->args);
    free(q->send_argv);
    free(q->send_lens);
}
