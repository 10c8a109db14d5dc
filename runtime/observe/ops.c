/*
 * ops.c - the operations endpoint's routes and rules (see ops.h):
 *
 *   GET /healthz   200 while the loop turns (always open)
 *   GET /readyz    200 ready / 503 not, with each worker's verdict (open)
 *   GET /metrics   Prometheus text (a read)
 *   /api/...       the dashboard's API (reads, and POST writes; HEAD is
 *                  its GET without the body)
 *   GET /, /static/...  the dashboard's page (open: it holds no data)
 *
 * Reads need the token when the endpoint listens beyond loopback, unless
 * --http-public-read; on loopback, a read without it must be addressed
 * to a loopback name (Host: localhost, 127.0.0.1, [::1]), so that a web
 * page cannot read it through DNS rebinding. Writes always need it
 * (`Authorization: Bearer`), a JSON body, and no cross-site origin: a
 * browser cannot add such a header to a cross-site form post, and the
 * Origin and Sec-Fetch-Site headers it does add are checked too.
 */
#include "observe/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "http/assets.h"
#include "http/server.h"
#include "observe/health.h"
#include "observe/ops_access.h"
#include "observe/notify.h"
#include "observe/prometheus.h"
#include "queue/keys.h"
#include "queue/redis_conn.h"
#include "queue/stats.h"

#define OPS_MAX_BOARDS 256
#define OPS_REDIS_TIMEOUT_MS 2000
#define OPS_MAX_WAITING 16    /* requests waiting for Redis work; more: 503 */
#define OPS_MAX_WAIT_MS 2000  /* waited this long without starting: 503 */

typedef enum { WORK_METRICS, WORK_API } work_kind_t;

typedef struct ops_work {
    uv_work_t req;
    struct ops *o;
    http_request_t *hr;
    work_kind_t kind;
    char *method, *path, *query, *body; /* copies for the pool thread */
    size_t body_len;
    buf_t local;      /* this process's view (API) */
    queue_stats_t *stats; /* WORK_METRICS: of each queue (n_queues) */
    int stats_ok[METRICS_MAX_QUEUES];
    int status;
    buf_t out;
    int64_t queued_at;  /* monotonic ms */
    struct ops_work *next;
} ops_work_t;

struct ops {
    uv_loop_t *loop;
    ops_config_t cfg;
    ops_source_t src;
    queue_keys_t keys;     /* of the first queue (the API's) */
    queue_keys_t qkeys[METRICS_MAX_QUEUES]; /* of each, for /metrics */
    const char *qnames[METRICS_MAX_QUEUES];
    size_t n_queues;
    http_server_t *http;
    ops_access_t access;
    uv_timer_t tick;
    int64_t last_tick;
    notify_t notify;
    int ready;
    char status[256];
    redisContext *redis;   /* pool thread only, one work at a time */
    ops_work_t *running;   /* the work on the pool now */
    ops_work_t *waiting, *waiting_tail; /* API work, one metrics read */
    size_t n_waiting;      /* requests in waiting and metrics_hr */
    ops_work_t *metrics;   /* the stats read queued or running, or NULL */
    http_request_t *metrics_hr[OPS_MAX_WAITING]; /* waiting for it */
    int64_t metrics_since[OPS_MAX_WAITING];
    size_t n_metrics;
    metrics_sum_t *sum;    /* scratch for /metrics */
    int closing;
    int tick_closed;
};

static void ops_free(ops_t *o)
{
    if (o->redis)
        redisFree(o->redis);
    free(o->sum);
    free(o);
}

/* ---- readiness ------------------------------------------------------------ */

typedef struct {
    size_t n, n_ready;
    const board_t *boards[OPS_MAX_BOARDS];
    int numbers[OPS_MAX_BOARDS];
    health_verdict_t v[OPS_MAX_BOARDS];
} verdicts_t;

static void judge_all(ops_t *o, verdicts_t *vs)
{
    vs->n = o->src.boards(o->src.arg, vs->boards, vs->numbers,
                          OPS_MAX_BOARDS);
    vs->n_ready = 0;
    int64_t now = util_mono_ms();
    for (size_t i = 0; i < vs->n; i++) {
        health_judge(vs->boards[i], now, &vs->v[i]);
        vs->n_ready += vs->v[i].ready;
    }
}

static void expire_waiting(ops_t *o, int64_t now);

static void on_tick(uv_timer_t *t)
{
    ops_t *o = t->data;
    int64_t now = util_mono_ms();
    o->last_tick = now;
    verdicts_t vs;
    judge_all(o, &vs);
    int ready = vs.n_ready > 0 && !o->notify.stopping;
    if (ready)
        snprintf(o->status, sizeof o->status, "ready: %zu of %zu worker "
                 "process(es) ready", vs.n_ready, vs.n);
    else if (vs.n == 0)
        snprintf(o->status, sizeof o->status, "not ready: no worker process "
                 "is running");
    else
        snprintf(o->status, sizeof o->status, "not ready: worker %d: %s",
                 vs.numbers[0], vs.v[0].why);
    o->ready = ready;
    notify_update(&o->notify, ready, o->status, now);
    expire_waiting(o, now);
}

/* ---- answers ------------------------------------------------------------- */

static void answer_text(http_request_t *r, int status, const char *text)
{
    http_respond(r, status, "text/plain; charset=utf-8", "", text,
                 strlen(text));
}

static void answer_json_error(http_request_t *r, int status, const char *why)
{
    buf_t b = {0};
    buf_append(&b, "{\"error\":", 9);
    buf_append_json_str(&b, why, strlen(why));
    buf_append(&b, "}\n", 2);
    http_respond(r, status, "application/json", "", b.data ? b.data : "",
                 b.len);
    buf_free(&b);
}

static void serve_healthz(ops_t *o, http_request_t *r)
{
    int64_t lag = util_mono_ms() - o->last_tick;
    if (lag > 4 * OPS_TICK_MS) {
        char line[96];
        snprintf(line, sizeof line, "loop stalled: no tick for %lld ms\n",
                 (long long)lag);
        answer_text(r, 503, line);
        return;
    }
    answer_text(r, 200, "ok\n");
}

static const char *board_state_name(uint32_t st)
{
    static const char *const names[] = {"starting", "ready", "draining",
                                        "stopping", "stopping"};
    return st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}

static void serve_readyz(ops_t *o, http_request_t *r)
{
    verdicts_t vs;
    judge_all(o, &vs);
    int ready = vs.n_ready > 0 && !o->notify.stopping;
    buf_t b = {0};
    buf_appendf(&b, "%s\n", ready ? "ready" : "not ready");
    if (o->notify.stopping)
        buf_appendf(&b, "stopping\n");
    for (size_t i = 0; i < vs.n; i++)
        buf_appendf(&b, "worker %d pid %d: %s\n", vs.numbers[i],
                    (int)atomic_load(&vs.boards[i]->pid),
                    vs.v[i].ready ? "ready" : vs.v[i].why);
    if (vs.n == 0)
        buf_appendf(&b, "no worker process is running\n");
    http_respond(r, ready ? 200 : 503, "text/plain; charset=utf-8", "",
                 b.data, b.len);
    buf_free(&b);
}

/* This process's workers as JSON, for the dashboard. */
static void local_json(ops_t *o, buf_t *b)
{
    verdicts_t vs;
    judge_all(o, &vs);
    buf_appendf(b, "{\"mode\":\"%s\",\"pid\":%d,\"ready\":%s,\"status\":",
                o->cfg.mode, (int)getpid(), o->ready ? "true" : "false");
    buf_append_json_str(b, o->status, strlen(o->status));
    buf_append(b, ",\"workers\":[", 12);
    int64_t now = util_mono_ms();
    for (size_t i = 0; i < vs.n; i++) {
        const board_t *bd = vs.boards[i];
        char gens[sizeof bd->generations];
        memcpy(gens, bd->generations, sizeof gens);
        gens[sizeof gens - 1] = '\0';
        buf_appendf(b, "%s{\"number\":%d,\"pid\":%d,\"state\":\"%s\","
                    "\"ready\":%s,\"why\":", i ? "," : "", vs.numbers[i],
                    (int)atomic_load(&bd->pid),
                    board_state_name(atomic_load(&bd->state)),
                    vs.v[i].ready ? "true" : "false");
        buf_append_json_str(b, vs.v[i].why, strlen(vs.v[i].why));
        buf_appendf(b, ",\"heartbeat_age_ms\":%lld,\"jobs_done\":%llu,"
                    "\"in_flight\":%u,\"generations\":",
                    (long long)(now - atomic_load(&bd->heartbeat_ms)),
                    (unsigned long long)atomic_load(&bd->jobs_done),
                    atomic_load(&bd->metrics.in_flight));
        buf_append_json_str(b, gens, strlen(gens));
        buf_append(b, "}", 1);
    }
    buf_append(b, "]}", 2);
}

/* ---- work on the pool ---------------------------------------------------- */

static void start_next_work(ops_t *o);

static void pool_work(uv_work_t *req)
{
    ops_work_t *w = req->data;
    ops_t *o = w->o;
    if (o->redis == NULL) {
        char err[320];
        o->redis = redis_connect_sync(o->cfg.redis, OPS_REDIS_TIMEOUT_MS, err,
                                      sizeof err);
    }
    if (w->kind == WORK_METRICS) {
        char err[320];
        for (size_t i = 0; i < o->n_queues; i++)
            w->stats_ok[i] = o->redis &&
                             queue_stats_read(o->redis, &o->qkeys[i],
                                              o->cfg.group, &w->stats[i], err,
                                              sizeof err) == 0;
    } else {
        api_ctx_t a = {o->redis, &o->keys, o->cfg.ns, o->cfg.queue,
                       o->cfg.group, w->local.data, w->local.len,
                       o->qnames, o->qkeys, o->n_queues};
        w->status = o->cfg.api(&a, w->method, w->path, w->query, w->body,
                               w->body_len, &w->out);
    }
    /* an error left the connection in an unknown state: start afresh */
    if (o->redis && o->redis->err) {
        redisFree(o->redis);
        o->redis = NULL;
    }
}

static void render_metrics(ops_t *o, ops_work_t *w)
{
    verdicts_t vs;
    judge_all(o, &vs);
    metrics_sum_init(o->sum);
    const metrics_sum_t *gone = o->src.gone ? o->src.gone(o->src.arg) : NULL;
    if (gone)
        metrics_sum_add(o->sum, gone);
    for (size_t i = 0; i < vs.n; i++)
        metrics_merge(o->sum, &vs.boards[i]->metrics, 1);
    metrics_sum_clamp_queues(o->sum, o->n_queues);
    const queue_stats_t *each[METRICS_MAX_QUEUES];
    for (size_t i = 0; i < o->n_queues; i++)
        each[i] = w->stats_ok[i] ? &w->stats[i] : NULL;
    prometheus_input_t in = {o->cfg.queue, o->sum, each[0],
                             vs.n_ready > 0 && !o->notify.stopping,
                             (unsigned)vs.n_ready, (unsigned)vs.n,
                             o->qnames, each, o->n_queues};
    int rc = prometheus_render(&w->out, &in);
    if (o->src.more_metrics)
        o->src.more_metrics(o->src.arg, &w->out);
    w->status = rc == 0 ? 200 : 500;
}

static void work_free(ops_work_t *w)
{
    free(w->stats);
    free(w->method);
    free(w->path);
    free(w->query);
    free(w->body);
    buf_free(&w->local);
    buf_free(&w->out);
    free(w);
}

/* Work that cannot be done now (the queue is full, it waited too long,
 * the process stops): 503 at once, so that its connection is free
 * again. */
static void answer_busy(http_request_t *r, work_kind_t kind, const char *why)
{
    if (kind == WORK_API) {
        buf_t b = {0};
        buf_append(&b, "{\"error\":", 9);
        buf_append_json_str(&b, why, strlen(why));
        buf_append(&b, "}\n", 2);
        http_respond(r, 503, "application/json", "Retry-After: 1\r\n",
                     b.data ? b.data : "", b.len);
        buf_free(&b);
    } else {
        char line[160];
        snprintf(line, sizeof line, "%s\n", why);
        http_respond(r, 503, "text/plain; charset=utf-8", "Retry-After: 1\r\n",
                     line, strlen(line));
    }
}

/* Answers the /metrics requests waiting for the read from first on
 * with status and body (or answer_busy's, when body is NULL). */
static void answer_metrics_waiters(ops_t *o, size_t first, int status,
                                   const buf_t *body, const char *why)
{
    for (size_t i = first; i < o->n_metrics; i++) {
        if (body)
            http_respond(o->metrics_hr[i], status, PROMETHEUS_CONTENT_TYPE,
                         "", body->data ? body->data : "", body->len);
        else
            answer_busy(o->metrics_hr[i], WORK_METRICS, why);
    }
    o->n_waiting -= o->n_metrics - first;
    o->n_metrics = first;
}

static void pool_done(uv_work_t *req, int status)
{
    ops_work_t *w = req->data;
    ops_t *o = w->o;
    o->running = NULL;
    if (w->kind == WORK_METRICS) {
        /* every /metrics waiting now gets this read's answer */
        o->metrics = NULL;
        if (status != 0) {
            answer_metrics_waiters(o, 0, 503, NULL, "cancelled");
        } else {
            render_metrics(o, w);
            answer_metrics_waiters(o, 0, w->status, &w->out, NULL);
        }
    } else if (status != 0) {
        answer_text(w->hr, 503, "cancelled\n");
    } else {
        http_respond(w->hr, w->status, "application/json", "",
                     w->out.data ? w->out.data : "{}", w->out.data
                                                           ? w->out.len
                                                           : 2);
    }
    work_free(w);
    if (o->closing) {
        if (o->tick_closed)
            ops_free(o);
        return;
    }
    start_next_work(o);
}

/* Takes w out of the waiting queue. */
static void unqueue(ops_t *o, ops_work_t *w)
{
    ops_work_t *prev = NULL;
    for (ops_work_t *x = o->waiting; x; prev = x, x = x->next) {
        if (x != w)
            continue;
        if (prev)
            prev->next = w->next;
        else
            o->waiting = w->next;
        if (o->waiting_tail == w)
            o->waiting_tail = prev;
        w->next = NULL;
        return;
    }
}

static void start_next_work(ops_t *o)
{
    while (o->running == NULL && o->waiting) {
        ops_work_t *w = o->waiting;
        unqueue(o, w);
        if (w->kind == WORK_API)
            o->n_waiting--;
        o->running = w;
        w->req.data = w;
        if (uv_queue_work(o->loop, &w->req, pool_work, pool_done) == 0)
            return;
        o->running = NULL;
        if (w->kind == WORK_METRICS) {
            o->metrics = NULL;
            answer_metrics_waiters(o, 0, 503, NULL, "cannot queue work");
        } else {
            answer_text(w->hr, 503, "cannot queue work\n");
        }
        work_free(w);
    }
}

/* Work that waited OPS_MAX_WAIT_MS without starting gets a 503 (the
 * client may try again; its connection is not held any longer). */
static void expire_waiting(ops_t *o, int64_t now)
{
    static const char why[] = "busy: waited too long for a Redis read";
    ops_work_t *w = o->waiting;
    while (w) {
        ops_work_t *next = w->next;
        if (w->kind == WORK_API && now - w->queued_at > OPS_MAX_WAIT_MS) {
            unqueue(o, w);
            o->n_waiting--;
            answer_busy(w->hr, WORK_API, why);
            work_free(w);
        }
        w = next;
    }
    if (o->metrics == NULL || o->metrics == o->running)
        return; /* a read that runs answers everyone waiting for it */
    size_t keep = 0; /* the waiters are in the order they came */
    while (keep < o->n_metrics &&
           now - o->metrics_since[keep] > OPS_MAX_WAIT_MS)
        keep++;
    if (keep == 0)
        return;
    /* the oldest ones go: answer them, then move the rest up */
    size_t n = o->n_metrics;
    for (size_t i = 0; i < keep; i++)
        answer_busy(o->metrics_hr[i], WORK_METRICS, why);
    memmove(o->metrics_hr, o->metrics_hr + keep,
            (n - keep) * sizeof o->metrics_hr[0]);
    memmove(o->metrics_since, o->metrics_since + keep,
            (n - keep) * sizeof o->metrics_since[0]);
    o->n_metrics = n - keep;
    o->n_waiting -= keep;
    if (o->n_metrics == 0) {
        unqueue(o, o->metrics);
        work_free(o->metrics);
        o->metrics = NULL;
    }
}

static char *dup_str(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static ops_work_t *new_work(ops_t *o, work_kind_t kind)
{
    ops_work_t *w = calloc(1, sizeof *w);
    if (w && kind == WORK_METRICS &&
        (w->stats = calloc(o->n_queues, sizeof *w->stats)) == NULL) {
        free(w);
        return NULL;
    }
    if (w) {
        w->o = o;
        w->kind = kind;
        w->queued_at = util_mono_ms();
    }
    return w;
}

static void enqueue(ops_t *o, ops_work_t *w)
{
    if (o->waiting_tail)
        o->waiting_tail->next = w;
    else
        o->waiting = w;
    o->waiting_tail = w;
}

/* GET /metrics: waits for the next stats read, or the one running now
 * (every request waiting when a read completes is answered from it). */
static void submit_metrics(ops_t *o, http_request_t *r)
{
    if (o->metrics == NULL) {
        o->metrics = new_work(o, WORK_METRICS);
        if (o->metrics == NULL) {
            answer_text(r, 503, "out of memory\n");
            return;
        }
        enqueue(o, o->metrics);
    }
    o->metrics_hr[o->n_metrics] = r;
    o->metrics_since[o->n_metrics++] = util_mono_ms();
    o->n_waiting++;
    start_next_work(o);
}

static void submit(ops_t *o, http_request_t *r, work_kind_t kind)
{
    if (o->n_waiting >= OPS_MAX_WAITING) {
        answer_busy(r, kind, "busy: too many requests waiting for Redis");
        return;
    }
    if (kind == WORK_METRICS) {
        submit_metrics(o, r);
        return;
    }
    ops_work_t *w = new_work(o, kind);
    if (w == NULL) {
        answer_text(r, 503, "out of memory\n");
        return;
    }
    w->hr = r;
    /* HEAD is GET without the body (the server drops it) */
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    w->method = dup_str(method, strlen(method));
    w->path = dup_str(r->path, strlen(r->path));
    w->query = dup_str(r->query, strlen(r->query));
    w->body = dup_str(r->body, r->body_len);
    w->body_len = r->body_len;
    local_json(o, &w->local);
    if (!w->method || !w->path || !w->query || !w->body) {
        answer_text(r, 503, "out of memory\n");
        work_free(w);
        return;
    }
    enqueue(o, w);
    o->n_waiting++;
    start_next_work(o);
}

/* The dashboard's files (http/assets.h): no data in them, so open. The
 * page loads nothing from elsewhere and has no inline script or style,
 * which the policy enforces. */
static void serve_asset(http_request_t *r)
{
    const http_asset_t *a = http_asset_find(r->path);
    if (a == NULL) {
        answer_text(r, 404, "not found\n");
        return;
    }
    http_respond(r, 200, a->content_type,
                 "Content-Security-Policy: default-src 'none'; "
                 "script-src 'self'; style-src 'self'; connect-src 'self'; "
                 "img-src 'self'; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'\r\n"
                 "Referrer-Policy: no-referrer\r\n"
                 "Cache-Control: no-cache\r\n",
                 a->data, a->len);
}

static void on_request(void *arg, http_request_t *r)
{
    ops_t *o = arg;
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    int post = strcmp(r->method, "POST") == 0;
    if (strcmp(r->path, "/healthz") == 0 && get) {
        serve_healthz(o, r);
        return;
    }
    if (strcmp(r->path, "/readyz") == 0 && get) {
        serve_readyz(o, r);
        return;
    }
    int api = strncmp(r->path, "/api/", 5) == 0;
    if (!api && strcmp(r->path, "/metrics") != 0) {
        if (get)
            serve_asset(r);
        else
            answer_text(r, 405, "method not allowed\n");
        return;
    }
    if (!get && !(api && post)) {
        answer_text(r, 405, "method not allowed\n");
        return;
    }
    if (post) {
        if (o->access.token_len == 0) {
            answer_json_error(r, 403, "writes are off: start jobrt run with "
                              "--http-token-file");
            return;
        }
        if (!ops_access_token_ok(&o->access, r->authorization)) {
            answer_json_error(r, 401, "a write needs the token: "
                              "Authorization: Bearer <token>");
            return;
        }
        if (!ops_access_same_origin(r) || !ops_access_is_json(r->content_type)) {
            answer_json_error(r, 403, "refused: a write must be a "
                              "same-origin application/json request");
            return;
        }
    } else if (!ops_access_may_read(&o->access, r)) {
        if (o->access.loopback_only)
            answer_json_error(r, 403, "refused: Host is not a loopback "
                              "name (localhost, 127.0.0.1, [::1]); give "
                              "the token to read under another name");
        else
            answer_json_error(r, 401, "reads on this address need the "
                              "token (Authorization: Bearer <token>), "
                              "unless --http-public-read");
        return;
    }
    if (api && o->cfg.api == NULL) {
        answer_json_error(r, 404, "no API here");
        return;
    }
    submit(o, r, api ? WORK_API : WORK_METRICS);
}

/* ---- start and stop -------------------------------------------------------- */

ops_t *ops_start(uv_loop_t *loop, const ops_config_t *cfg,
                 const ops_source_t *src, char *err, size_t err_len)
{
    ops_t *o = calloc(1, sizeof *o);
    if (o == NULL || (o->sum = malloc(sizeof *o->sum)) == NULL) {
        free(o);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    o->loop = loop;
    o->cfg = *cfg;
    o->src = *src;
    o->access.public_read = cfg->public_read;
    o->n_queues = cfg->n_queues > 0 ? (size_t)cfg->n_queues : 1;
    if (o->n_queues > METRICS_MAX_QUEUES)
        o->n_queues = METRICS_MAX_QUEUES;
    int keys_bad = 0;
    for (size_t i = 0; i < o->n_queues; i++) {
        o->qnames[i] = cfg->n_queues > 0 ? cfg->queues[i] : cfg->queue;
        keys_bad |= queue_keys_init(&o->qkeys[i], cfg->ns, o->qnames[i], err,
                                    err_len) != 0;
    }
    if (keys_bad ||
        queue_keys_init(&o->keys, cfg->ns, cfg->queue, err, err_len) != 0 ||
        (cfg->token_file &&
         ops_access_read_token(&o->access, cfg->token_file, err, err_len))) {
        free(o->sum);
        free(o);
        return NULL;
    }
    if (cfg->listen) {
        char host[64];
        int port;
        char why[200];
        if (http_parse_listen(cfg->listen, host, sizeof host, &port, why,
                              sizeof why) != 0) {
            snprintf(err, err_len, "--http %s", why);
            free(o->sum);
            free(o);
            return NULL;
        }
        o->access.loopback_only = http_addr_is_loopback(host);
        http_server_opts_t ho = {host, port, on_request, o};
        o->http = http_server_start(loop, &ho, why, sizeof why);
        if (o->http == NULL) {
            snprintf(err, err_len, "--http %s: %s", cfg->listen, why);
            free(o->sum);
            free(o);
            return NULL;
        }
        if (!o->access.loopback_only && !cfg->public_read && o->access.token_len == 0)
            LOGW("ops", "--http %s is beyond loopback and has no "
                 "--http-token-file: every read but /healthz and /readyz is "
                 "refused (give a token, or --http-public-read)",
                 cfg->listen);
        LOGI("ops", "HTTP endpoint on %s:%d: /metrics, /healthz, /readyz, "
             "dashboard at /", host, http_server_port(o->http));
    }
    notify_init(&o->notify, cfg->health_file);
    uv_timer_init(loop, &o->tick);
    o->tick.data = o;
    o->last_tick = util_mono_ms();
    uv_timer_start(&o->tick, on_tick, 0, OPS_TICK_MS);
    return o;
}

int ops_http_port(const ops_t *o)
{
    return o && o->http ? http_server_port(o->http) : -1;
}

void ops_stopping(ops_t *o)
{
    if (o) {
        notify_stopping(&o->notify);
        o->ready = 0;
    }
}

static void on_tick_closed(uv_handle_t *h)
{
    ops_t *o = h->data;
    o->tick_closed = 1;
    /* work still on the pool finishes first: its answer needs o */
    if (o->running == NULL)
        ops_free(o);
}

void ops_close(ops_t *o)
{
    if (o == NULL || o->closing)
        return;
    o->closing = 1;
    ops_stopping(o);
    while (o->waiting) { /* never started: nothing on the pool */
        ops_work_t *w = o->waiting;
        o->waiting = w->next;
        if (w->kind == WORK_METRICS) {
            o->metrics = NULL;
            answer_metrics_waiters(o, 0, 503, NULL, "stopping");
        } else {
            answer_text(w->hr, 503, "stopping\n");
        }
        work_free(w);
    }
    o->waiting_tail = NULL;
    http_server_close(o->http);
    o->http = NULL;
    uv_close((uv_handle_t *)&o->tick, on_tick_closed);
}
