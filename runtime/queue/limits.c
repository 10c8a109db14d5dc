/*
 * limits.c - the fleet's limits per (queue, job), the queue's side
 * (docs/flow-control.md, "Rate limits" and "Concurrency limits"). The
 * limits are the fields of the queue's :limits hash (job -> JSON
 * {"rate_per_s", "burst", "concurrency"}), written by `jobrt limit set`
 * or by a worker's --rate/--limit flags, which this worker writes (one
 * LIMIT_SET each) before it first reads the hash. Every LIMITS_POLL_MS
 * the tick reads the hash, so every worker applies what Redis says;
 * nothing is read from the stream before the first answer. The worker
 * (exec/worker_limits.c) asks here for rate slots (LIMIT_RESERVE, one
 * call per batch of one job) and concurrency slots (LIMIT_ACQUIRE); the
 * slots it holds are renewed with its stream leases (LIMIT_RENEW) and
 * given back in batches at the next flush (LIMIT_RELEASE, an op).
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "core/log.h"
#include "core/util.h"

#define LIMITS_POLL_MS 250
/* At most this many jobs' limits are honoured per queue (the rest of the
 * hash is ignored, with a warning). */
#define LIMITS_MAX 1024
/* Concurrency slots renewed or released per call. */
#define LIMIT_BATCH 256

struct queue_limit_row {
    char job[ENVELOPE_MAX_NAME + 1];
    size_t job_len;
    char raw[LIMIT_JSON_MAX + 1]; /* as the hash holds it */
    limit_t l;
    int valid;
};

const limit_t *queue_redis_limit(const queue_redis_t *q, const char *name,
                                 size_t len)
{
    for (size_t i = 0; i < q->n_limit_rows; i++) {
        const struct queue_limit_row *r = &q->limit_rows[i];
        if (r->valid && r->job_len == len && memcmp(r->job, name, len) == 0)
            return &r->l;
    }
    return NULL;
}

void queue_limits_free(queue_redis_t *q)
{
    free(q->limit_rows);
    q->limit_rows = NULL;
    q->n_limit_rows = 0;
    strlist_free(&q->rel_keys);
    strlist_free(&q->rel_ids);
    strlist_free(&q->renew_args);
}

static const struct queue_limit_row *find_row(const struct queue_limit_row *v,
                                              size_t n, const char *job,
                                              size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].job_len == len && memcmp(v[i].job, job, len) == 0)
            return &v[i];
    return NULL;
}

/* ---- the worker's flags ------------------------------------------------- */

static void on_flag_set(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (q->limits_outstanding > 0)
        q->limits_outstanding--;
    int failed = periodic_failed(q, r, PERIODIC_LIMIT_CALLS,
                                 "writing the --rate/--limit values");
    q->limit_flags_failed |= failed;
    if (q->limit_flags_sending > 0 && --q->limit_flags_sending == 0) {
        /* all answered: done, or (one failed) all sent again at the next
         * poll (LIMIT_SET of the same values changes nothing) */
        q->limit_flags_written = !q->limit_flags_failed;
        q->limit_flags_failed = 0;
    }
    if (failed || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    const redisReply *old = r->element[0], *now = r->element[1];
    int changed = r->element[2]->type == REDIS_REPLY_INTEGER &&
                  r->element[2]->integer == 1;
    if (!changed)
        return;
    limit_t was = {0}, is = {0};
    char err[128], a[160], b[160];
    limit_parse_json(old->str, old->len, &was, err, sizeof err);
    limit_parse_json(now->str, now->len, &is, err, sizeof err);
    limit_describe(&was, a, sizeof a);
    limit_describe(&is, b, sizeof b);
    LOGI("queue", "%s on queue %s: %s, written to %s%s%s%s", "--rate/--limit",
         q->o.queue, b, q->keys.limits, old->len ? " (it replaced " : "",
         old->len ? a : "", old->len ? ")" : "");
}

/* One LIMIT_SET per flag; the poll sent after them on the same
 * connection reads what they wrote. */
static void write_flags(queue_redis_t *q)
{
    for (size_t i = 0; i < q->o.n_limit_flags; i++) {
        const queue_limit_flag_t *f = &q->o.limit_flags[i];
        char rate[48], conc[24];
        const char *argv[10] = {"EVALSHA", q->sha[SCRIPT_LIMIT_SET], "1",
                                q->keys.limits, f->job};
        int argc = 5;
        if (f->rate_per_s > 0) {
            snprintf(rate, sizeof rate, "%.17g", f->rate_per_s);
            argv[argc++] = "rate_per_s";
            argv[argc++] = rate;
        }
        if (f->concurrency > 0) {
            snprintf(conc, sizeof conc, "%ld", f->concurrency);
            argv[argc++] = "concurrency";
            argv[argc++] = conc;
        }
        if (redisAsyncCommandArgv(q->writer.ac, on_flag_set, q, argc, argv,
                                  NULL) == REDIS_OK) {
            q->limits_outstanding++;
            q->limit_flags_sending++;
        }
    }
}

/* ---- the poll ----------------------------------------------------------- */

static void log_changes(queue_redis_t *q, const struct queue_limit_row *now,
                        size_t n)
{
    char d[200];
    for (size_t i = 0; i < n; i++) {
        const struct queue_limit_row *was =
            find_row(q->limit_rows, q->n_limit_rows, now[i].job,
                     now[i].job_len);
        if (was && strcmp(was->raw, now[i].raw) == 0)
            continue;
        if (now[i].valid) {
            limit_describe(&now[i].l, d, sizeof d);
            LOGI("queue", "limits of job %s on queue %s: %s", now[i].job,
                 q->o.queue, d);
        } else {
            LOGW("queue", "limits of job %s on queue %s ignored: %s holds "
                 "%.120s, not a valid limit (docs/flow-control.md)",
                 now[i].job, q->o.queue, q->keys.limits, now[i].raw);
        }
    }
    for (size_t i = 0; i < q->n_limit_rows; i++)
        if (!find_row(now, n, q->limit_rows[i].job,
                      q->limit_rows[i].job_len))
            LOGI("queue", "limits of job %s on queue %s cleared",
                 q->limit_rows[i].job, q->o.queue);
}

static void on_limits_polled(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (q->limits_outstanding > 0)
        q->limits_outstanding--;
    if (periodic_failed(q, r, PERIODIC_LIMITS, "reading the job limits") ||
        r->type != REDIS_REPLY_ARRAY) {
        /* As the disabled jobs (pause.c): a hash that cannot be read at
         * all must not stall a worker that never read it. */
        if (r != NULL && !q->limits_known) {
            q->limits_known = 1;
            reader_fetch(q);
        }
        return;
    }
    size_t pairs = r->elements / 2, n = 0, skipped = 0;
    struct queue_limit_row *v =
        pairs ? calloc(pairs < LIMITS_MAX ? pairs : LIMITS_MAX, sizeof *v)
              : NULL;
    if (pairs && v == NULL)
        return; /* out of memory: keep the old ones, read again */
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *val = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING ||
            val->type != REDIS_REPLY_STRING ||
            !envelope_valid_name(k->str, k->len))
            continue;
        if (n >= LIMITS_MAX) {
            skipped++;
            continue;
        }
        struct queue_limit_row *row = &v[n++];
        memcpy(row->job, k->str, k->len);
        row->job_len = k->len;
        size_t len = val->len > LIMIT_JSON_MAX ? LIMIT_JSON_MAX : val->len;
        memcpy(row->raw, val->str, len);
        char err[128];
        row->valid = val->len <= LIMIT_JSON_MAX &&
                     limit_parse_json(val->str, val->len, &row->l, err,
                                      sizeof err) == 0;
    }
    if (skipped && (!q->limits_known || n != q->n_limit_rows))
        LOGW("queue", "%s holds more than %d jobs: %zu of them are not "
             "honoured", q->keys.limits, LIMITS_MAX, skipped);
    log_changes(q, v, n);
    free(q->limit_rows);
    q->limit_rows = v;
    q->n_limit_rows = n;
    if (!q->limits_known) {
        q->limits_known = 1;
        reader_fetch(q);
    }
}

void queue_limits_tick(queue_redis_t *q, int64_t now)
{
    if (q->limits_outstanding || now < q->next_limits_poll)
        return;
    q->next_limits_poll = now + LIMITS_POLL_MS;
    if (!q->limit_flags_written && !q->limit_flags_sending) {
        if (q->o.n_limit_flags == 0)
            q->limit_flags_written = 1; /* nothing to write */
        else
            write_flags(q);
    }
    const char *argv[] = {"HGETALL", q->keys.limits};
    if (redisAsyncCommandArgv(q->writer.ac, on_limits_polled, q, 2, argv,
                              NULL) == REDIS_OK)
        q->limits_outstanding++;
}

/* ---- reservations and slots --------------------------------------------- */

typedef struct {
    queue_redis_t *q;
    queue_limit_fn fn;
    void *ctx;
    int acquire; /* else a reserve: the reply starts with now */
} limit_call_t;

static void on_limit_call(redisAsyncContext *ac, void *reply, void *priv)
{
    limit_call_t *c = priv;
    redisReply *r = reply;
    (void)ac;
    long long stack[64], *v = stack;
    int ok = !periodic_failed(c->q, r, PERIODIC_LIMIT_CALLS,
                              c->acquire ? "taking concurrency slots"
                                         : "reserving rate slots") &&
             r->type == REDIS_REPLY_ARRAY && r->elements >= 1;
    size_t n = ok ? r->elements : 0;
    if (ok && n > sizeof stack / sizeof stack[0] &&
        (v = malloc(n * sizeof *v)) == NULL)
        ok = 0;
    for (size_t i = 0; ok && i < n; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            ok = 0;
        else
            v[i] = r->element[i]->integer;
    }
    if (!ok)
        c->fn(c->ctx, 0, 0, NULL, 0);
    else if (c->acquire)
        c->fn(c->ctx, 1, 0, v, n);
    else
        c->fn(c->ctx, 1, v[0], v + 1, n - 1);
    if (v != stack)
        free(v);
    free(c);
}

static int key_of(char *out, size_t len, const char *prefix, const char *job)
{
    int n = snprintf(out, len, "%s%s", prefix, job);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

int queue_redis_rate_reserve(queue_redis_t *q, const char *job, size_t k,
                             double rate_per_s, queue_limit_fn fn, void *ctx)
{
    char key[700], num[24], rate[48];
    if (!outbox_ready(q) || k == 0 ||
        key_of(key, sizeof key, q->keys.rate_prefix, job) != 0)
        return -1;
    limit_call_t *c = malloc(sizeof *c);
    if (c == NULL)
        return -1;
    *c = (limit_call_t){q, fn, ctx, 0};
    snprintf(num, sizeof num, "%zu", k);
    snprintf(rate, sizeof rate, "%.17g", rate_per_s);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_LIMIT_RESERVE], "1", key,
                          num, rate};
    if (redisAsyncCommandArgv(q->writer.ac, on_limit_call, c, 6, argv,
                              NULL) != REDIS_OK) {
        free(c);
        return -1;
    }
    return 0;
}

int queue_redis_conc_acquire(queue_redis_t *q, const char *job, long limit,
                             const char *const *ids, size_t n,
                             queue_limit_fn fn, void *ctx)
{
    char key[700], lim[24], lease[24];
    if (!outbox_ready(q) || n == 0 ||
        key_of(key, sizeof key, q->keys.running_prefix, job) != 0)
        return -1;
    const char **argv = malloc((n + 6) * sizeof *argv);
    limit_call_t *c = malloc(sizeof *c);
    if (argv == NULL || c == NULL) {
        free(argv);
        free(c);
        return -1;
    }
    *c = (limit_call_t){q, fn, ctx, 1};
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(lease, sizeof lease, "%lld", (long long)q->o.lease_ms);
    argv[0] = "EVALSHA";
    argv[1] = q->sha[SCRIPT_LIMIT_ACQUIRE];
    argv[2] = "1";
    argv[3] = key;
    argv[4] = lim;
    argv[5] = lease;
    for (size_t i = 0; i < n; i++)
        argv[6 + i] = ids[i];
    int rc = redisAsyncCommandArgv(q->writer.ac, on_limit_call, c,
                                   (int)(n + 6), argv, NULL);
    free(argv);
    if (rc != REDIS_OK) {
        free(c);
        return -1;
    }
    return 0;
}

void queue_redis_conc_release(queue_redis_t *q, const char *job,
                              const char *stream_id)
{
    char key[700];
    if (key_of(key, sizeof key, q->keys.running_prefix, job) != 0)
        return;
    size_t n = q->rel_keys.n;
    if (strlist_adds(&q->rel_keys, key) != 0 ||
        strlist_adds(&q->rel_ids, stream_id) != 0) {
        /* out of memory: the slot comes back when its lease runs out */
        strlist_truncate(&q->rel_keys, n);
        strlist_truncate(&q->rel_ids, n);
        return;
    }
    if (q->rel_keys.n >= LIMIT_BATCH)
        queue_limits_flush(q);
}

void queue_limits_flush(queue_redis_t *q)
{
    size_t n = q->rel_keys.n, len;
    if (n == 0)
        return;
    char num[24];
    snprintf(num, sizeof num, "%zu", n);
    outbox_arg(q, num);
    for (size_t i = 0; i < n; i++) {
        const char *k = strlist_get(&q->rel_keys, i, &len);
        outbox_arg_len(q, k, len);
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = strlist_get(&q->rel_ids, i, &len);
        outbox_arg_len(q, id, len);
    }
    outbox_submit(q, SCRIPT_LIMIT_RELEASE, "(concurrency release)");
    strlist_reset(&q->rel_keys);
    strlist_reset(&q->rel_ids);
}

static void on_renewed(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    periodic_failed(priv, reply, PERIODIC_LIMIT_CALLS,
                    "renewing concurrency slots");
}

void queue_limits_renew(queue_redis_t *q)
{
    if (q->cb.held_limits == NULL)
        return;
    const char *jobs[LIMIT_BATCH], *ids[LIMIT_BATCH];
    size_t n = q->cb.held_limits(q->cb.arg, jobs, ids, LIMIT_BATCH);
    if (n == 0)
        return;
    strlist_reset(&q->renew_args);
    char key[700], num[24], lease[24];
    for (size_t i = 0; i < n; i++) {
        if (key_of(key, sizeof key, q->keys.running_prefix, jobs[i]) != 0)
            return;
        strlist_adds(&q->renew_args, key);
    }
    if (strlist_failed(&q->renew_args))
        return;
    const char *argv[4 + 2 * LIMIT_BATCH];
    size_t lens[4 + 2 * LIMIT_BATCH];
    snprintf(num, sizeof num, "%zu", n);
    snprintf(lease, sizeof lease, "%lld", (long long)q->o.lease_ms);
    int argc = 0;
#define ARG(s) (lens[argc] = strlen(s), argv[argc++] = (s))
    ARG("EVALSHA");
    ARG(q->sha[SCRIPT_LIMIT_RENEW]);
    ARG(num);
    for (size_t i = 0; i < n; i++) {
        argv[argc] = strlist_get(&q->renew_args, i, &lens[argc]);
        argc++;
    }
    ARG(lease);
    for (size_t i = 0; i < n; i++)
        ARG(ids[i]);
#undef ARG
    redisAsyncCommandArgv(q->writer.ac, on_renewed, q, argc, argv, lens);
}
