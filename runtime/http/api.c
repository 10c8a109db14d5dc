/*
 * api.c - the dashboard's JSON API (api.h): routing, the JSON helpers its
 * endpoints share, and GET /api/overview, the one document the page polls:
 * the queue's numbers (queue/stats.h), its live workers and what they
 * serve (fleet/fleet_view.h), their jobs in flight with their progress
 * (api_running.c), the rollout table per (job, version)
 * (fleet/rollout.h, what `jobrt rollout` prints), the newest dead letters
 * and this process's own view. The Redis part of the overview is read at
 * most once per API_OVERVIEW_CACHE_MS and shared by every request in that
 * time (every open tab polls it); a DLQ write clears it. The /api/dlq
 * endpoints are in api_dlq.c.
 * Everything read from Redis is untrusted: bounded, and made valid UTF-8
 * before it goes into JSON.
 */
#include "http/api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fleet/fleet_view.h"
#include "fleet/rollout.h"
#include "http/api_internal.h"
#include "queue/dlq.h"
#include "queue/stats.h"

#define OVERVIEW_MAX_WORKERS 500   /* workers listed in the overview */
#define OVERVIEW_SCAN_MAX 1000     /* entries the rollout scans look at */

/* The Redis part of the last overview (the document without "local"),
 * for the queue it was read for. The API runs on one pool thread at a
 * time (observe/ops.c); the mutex makes that an invariant of this file,
 * not an assumption about the caller. */
typedef struct {
    pthread_mutex_t lock;
    cJSON *doc;          /* NULL: nothing cached */
    int64_t read_mono_ms; /* when it was read (monotonic clock) */
    char key[1024];      /* ns, queue and group it was read for */
} overview_cache_t;

static overview_cache_t overview_cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0,
                                          ""};

/* ---- replies ------------------------------------------------------------- */

int api_error(buf_t *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' '; /* one line */
    buf_reset(out);
    buf_append(out, "{\"error\":", 9);
    buf_append_json_str(out, msg, strlen(msg));
    buf_append(out, "}", 1);
    return status;
}

int api_reply(buf_t *out, cJSON *doc, int status)
{
    char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (s == NULL)
        return api_error(out, 500, "out of memory");
    buf_reset(out);
    int rc = buf_append(out, s, strlen(s));
    cJSON_free(s);
    return rc == 0 ? status : api_error(out, 500, "out of memory");
}

cJSON *api_str_item(const char *p, size_t n, size_t max)
{
    buf_t b = {0};
    size_t i = 0;
    int cut = 0;
    while (i < n) {
        size_t k = p[i] ? utf8_seq_len(p + i, n - i) : 0;
        size_t step = k ? k : 1;
        if (max && b.len + (k ? k : 3) > max) {
            cut = 1;
            break;
        }
        if (k)
            buf_append(&b, p + i, k);
        else
            buf_append(&b, "\xef\xbf\xbd", 3); /* U+FFFD */
        i += step;
    }
    if (cut)
        buf_append(&b, "...", 3);
    if (buf_append(&b, "", 1) != 0) {
        buf_free(&b);
        return NULL;
    }
    cJSON *item = cJSON_CreateString(b.data);
    buf_free(&b);
    return item;
}

cJSON *api_add_str(cJSON *obj, const char *name, const char *p, size_t n,
                   size_t max)
{
    cJSON *item = api_str_item(p, n, max);
    if (item && !cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

cJSON *api_add_reply(cJSON *obj, const char *name, const redisReply *v,
                     size_t max)
{
    if (v == NULL || v->type != REDIS_REPLY_STRING)
        return cJSON_AddNullToObject(obj, name);
    return api_add_str(obj, name, v->str, v->len, max);
}

/* A NUL-terminated string from a record (already bounded by its parser). */
static void add_text(cJSON *o, const char *name, const char *s)
{
    api_add_str(o, name, s ? s : "", s ? strlen(s) : 0, 0);
}

/* A field that holds a number up to ENVELOPE_MAX_VERSION as a JSON number;
 * when absent or not one, dflt (or null when dflt < 0). */
static void add_number_field(cJSON *o, const char *name, const redisReply *v,
                             long long dflt)
{
    uint64_t n;
    if (v && v->type == REDIS_REPLY_STRING &&
        util_parse_u64(v->str, v->len, ENVELOPE_MAX_VERSION, &n) == 0)
        cJSON_AddNumberToObject(o, name, (double)n);
    else if (dflt >= 0)
        cJSON_AddNumberToObject(o, name, (double)dflt);
    else
        cJSON_AddNullToObject(o, name);
}

cJSON *api_dlq_summary(const redisReply *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    add_text(o, "entry", dlq_entry_id(e));
    api_add_reply(o, "id", dlq_job_id_of(e), 256);
    api_add_reply(o, "job", dlq_field(e, "job"), 256);
    add_number_field(o, "v", dlq_field(e, "v"), -1);
    api_add_reply(o, "reason", dlq_field(e, "dlq_reason"), 64);
    add_number_field(o, "attempt", dlq_field(e, "attempt"), 1);
    api_add_reply(o, "error", dlq_field(e, "dlq_error"), API_ERROR_CUT);
    api_add_reply(o, "worker", dlq_field(e, "dlq_worker"), 256);
    const redisReply *at = dlq_field(e, "dlq_at");
    uint64_t ms;
    if (at && util_parse_u64(at->str, at->len, (uint64_t)1 << 53, &ms) == 0)
        cJSON_AddNumberToObject(o, "at", (double)ms);
    else
        cJSON_AddNullToObject(o, "at");
    return o;
}

/* ---- overview ------------------------------------------------------------ */

static cJSON *stats_json(const queue_stats_t *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "length", (double)s->length);
    cJSON_AddNumberToObject(o, "waiting", (double)s->waiting);
    cJSON_AddNumberToObject(o, "pending", (double)s->pending);
    cJSON_AddNumberToObject(o, "running", (double)s->running);
    cJSON_AddNumberToObject(o, "parked", (double)s->parked);
    cJSON_AddNumberToObject(o, "delayed", (double)s->delayed);
    cJSON_AddNumberToObject(o, "dlq", (double)s->dlq);
    cJSON_AddNumberToObject(o, "live_workers", (double)s->live_workers);
    cJSON_AddBoolToObject(o, "paused", s->paused);
    if (s->oldest_waiting_ms < 0)
        cJSON_AddNullToObject(o, "oldest_waiting_ms"); /* nothing waits */
    else
        cJSON_AddNumberToObject(o, "oldest_waiting_ms",
                                (double)s->oldest_waiting_ms);
    cJSON *pp = cJSON_AddArrayToObject(o, "parked_pairs");
    for (size_t i = 0; i < s->n_parked_pairs && i < QUEUE_STATS_PARKED_PAIRS;
         i++) {
        cJSON *p = cJSON_CreateObject();
        add_text(p, "job", s->parked_pairs[i].job);
        cJSON_AddNumberToObject(p, "version", s->parked_pairs[i].version);
        cJSON_AddNumberToObject(p, "count", (double)s->parked_pairs[i].count);
        cJSON_AddItemToArray(pp, p);
    }
    return o;
}

static cJSON *plugin_json(const registry_plugin_t *p)
{
    cJSON *o = cJSON_CreateObject();
    add_text(o, "name", p->name);
    add_text(o, "version", p->version);
    add_text(o, "build_id", p->build_id);
    api_add_str(o, "sha256", p->sha256, strlen(p->sha256), 64);
    cJSON_AddNumberToObject(o, "generation", (double)p->generation);
    add_text(o, "pinned", p->pinned);
    cJSON *sv = cJSON_AddArrayToObject(o, "serves");
    for (size_t k = 0; k < p->n_serves; k++) {
        cJSON *s = cJSON_CreateObject();
        add_text(s, "job", p->serves[k].job);
        cJSON_AddNumberToObject(s, "min", p->serves[k].min);
        cJSON_AddNumberToObject(s, "max", p->serves[k].max);
        cJSON_AddItemToArray(sv, s);
    }
    return o;
}

static cJSON *worker_json(const fleet_worker_t *w)
{
    cJSON *o = cJSON_CreateObject();
    add_text(o, "consumer", w->consumer);
    cJSON_AddNumberToObject(o, "last_heartbeat_ms", (double)w->heartbeat_ms);
    if (!w->ok) {
        add_text(o, "error", w->why);
        return o;
    }
    const registry_record_t *r = &w->rec;
    add_text(o, "host", r->host);
    cJSON_AddNumberToObject(o, "pid", (double)r->pid);
    add_text(o, "state", r->state);
    cJSON_AddNumberToObject(o, "started_ms", (double)r->started_ms);
    cJSON_AddNumberToObject(o, "concurrency", (double)r->concurrency);
    cJSON_AddNumberToObject(o, "inflight", (double)r->inflight);
    cJSON_AddNumberToObject(o, "reloads", (double)r->reloads);
    cJSON_AddNumberToObject(o, "reload_failures",
                            (double)r->reload_failures);
    cJSON *ps = cJSON_AddArrayToObject(o, "plugins");
    for (size_t i = 0; i < r->n_plugins; i++)
        cJSON_AddItemToArray(ps, plugin_json(&r->plugins[i]));
    cJSON *ds = cJSON_AddArrayToObject(o, "draining");
    for (size_t i = 0; i < r->n_draining; i++) {
        cJSON *d = cJSON_CreateObject();
        add_text(d, "name", r->draining[i].name);
        add_text(d, "build_id", r->draining[i].build_id);
        cJSON_AddNumberToObject(d, "generation",
                                (double)r->draining[i].generation);
        cJSON_AddNumberToObject(d, "inflight",
                                (double)r->draining[i].inflight);
        cJSON_AddItemToArray(ds, d);
    }
    cJSON *rs = cJSON_AddArrayToObject(o, "running");
    for (size_t i = 0; i < r->n_running; i++) {
        cJSON *x = cJSON_CreateObject();
        add_text(x, "job", r->running[i].job);
        cJSON_AddNumberToObject(x, "version", r->running[i].version);
        cJSON_AddNumberToObject(x, "count", r->running[i].count);
        cJSON_AddItemToArray(rs, x);
    }
    return o;
}

static cJSON *rollout_json(const rollout_table_t *t, const fleet_t *f,
                           cJSON *doc)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, "rollout");
    for (size_t i = 0; i < t->n; i++) {
        const rollout_row_t *r = &t->r[i];
        cJSON *o = cJSON_CreateObject();
        add_text(o, "job", r->job);
        cJSON_AddNumberToObject(o, "version", r->v);
        cJSON_AddNumberToObject(o, "workers", (double)r->serving);
        rollout_builds(f, r->job, r->v, NULL,
                       cJSON_AddArrayToObject(o, "builds"));
        cJSON_AddNumberToObject(o, "queued", (double)r->queued);
        cJSON_AddNumberToObject(o, "delayed", (double)r->delayed);
        cJSON_AddNumberToObject(o, "parked", (double)r->parked);
        cJSON_AddNumberToObject(o, "running", (double)r->running);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *n = cJSON_AddObjectToObject(doc, "rollout_scan");
    cJSON_AddNumberToObject(n, "scan_max", (double)t->scan_max);
    cJSON_AddNumberToObject(n, "stream_scanned", (double)t->scanned);
    cJSON_AddBoolToObject(n, "stream_scan_cut", t->scan_cut);
    cJSON_AddNumberToObject(n, "delayed_scanned", (double)t->delayed_scanned);
    cJSON_AddBoolToObject(n, "delayed_scan_cut", t->delayed_cut);
    cJSON_AddBoolToObject(n, "rows_cut", t->full);
    return arr;
}

typedef struct {
    cJSON *arr;
    size_t n, want;
} failures_t;

static int visit_failure(dlq_t *d, const redisReply *e, void *arg)
{
    failures_t *f = arg;
    (void)d;
    cJSON *o = api_dlq_summary(e);
    if (o == NULL)
        return -1;
    cJSON_AddItemToArray(f->arr, o);
    return ++f->n >= f->want ? 1 : 0;
}

/* Reads the Redis part of the overview into *doc_out. Returns 200, or an
 * error status with the error document in out. */
static int overview_read(api_ctx_t *a, cJSON **doc_out, buf_t *out)
{
    char err[512];
    int64_t now;
    *doc_out = NULL;
    if (fleet_server_time(a->c, &now, err, sizeof err) != 0)
        return api_error(out, 502, "Redis: %s", err);
    queue_stats_t *st = calloc(1, sizeof *st);
    rollout_table_t *t = calloc(1, sizeof *t);
    cJSON *doc = cJSON_CreateObject();
    fleet_t f = {NULL, 0, 0};
    int have_fleet = 0, status = 200;
    if (st == NULL || t == NULL || doc == NULL) {
        status = api_error(out, 500, "out of memory");
        goto done;
    }
    if (queue_stats_read(a->c, a->keys, a->group, st, err, sizeof err) !=
            0 ||
        fleet_read(a->c, a->keys, now, OVERVIEW_MAX_WORKERS, &f, err,
                   sizeof err) != 0) {
        status = api_error(out, 502, "Redis: %s", err);
        goto done;
    }
    have_fleet = 1;
    if (rollout_read(a->c, a->keys, a->group, NULL, &f, OVERVIEW_SCAN_MAX, t,
                     err, sizeof err) != 0) {
        status = api_error(out, 502, "Redis: %s", err);
        goto done;
    }
    add_text(doc, "namespace", a->ns);
    add_text(doc, "queue", a->queue);
    cJSON_AddNumberToObject(doc, "server_ms", (double)now);
    cJSON_AddItemToObject(doc, "queue_stats", stats_json(st));
    /* every served queue's numbers, for the queue table */
    cJSON *qs = cJSON_AddArrayToObject(doc, "queues");
    for (size_t i = 0; i < (a->n_queues ? a->n_queues : 1); i++) {
        const char *name = a->n_queues ? a->queues[i] : a->queue;
        cJSON *q = cJSON_CreateObject();
        add_text(q, "queue", name);
        if (strcmp(name, a->queue) == 0) {
            cJSON_AddItemToObject(q, "queue_stats", stats_json(st));
        } else {
            queue_stats_t *other = calloc(1, sizeof *other);
            if (other == NULL ||
                queue_stats_read(a->c, &a->queue_keys[i], a->group, other,
                                 err, sizeof err) != 0) {
                free(other);
                cJSON_Delete(q);
                status = other ? api_error(out, 502, "Redis: %s", err)
                               : api_error(out, 500, "out of memory");
                goto done;
            }
            cJSON_AddItemToObject(q, "queue_stats", stats_json(other));
            free(other);
        }
        cJSON_AddItemToArray(qs, q);
    }
    cJSON *ws = cJSON_AddArrayToObject(doc, "workers");
    for (size_t i = 0; i < f.n; i++)
        cJSON_AddItemToArray(ws, worker_json(&f.w[i]));
    cJSON_AddBoolToObject(doc, "workers_truncated", f.truncated);
    if (api_running_add(a, &f, doc, err, sizeof err) != 0) {
        status = api_error(out, 502, "Redis: %s", err);
        goto done;
    }
    rollout_json(t, &f, doc);

    dlq_t d;
    memset(&d, 0, sizeof d);
    d.c = a->c;
    d.keys = *a->keys;
    d.queue = a->queue;
    failures_t fl = {cJSON_AddArrayToObject(doc, "failures"), 0,
                     API_FAILURES};
    if (dlq_scan(&d, 1, "+", visit_failure, &fl) != 0) {
        status = api_error(out, 502, "Redis: %s", d.err);
        goto done;
    }
    *doc_out = doc;
    doc = NULL;
done:
    cJSON_Delete(doc);
    if (have_fleet)
        fleet_free(&f);
    free(t);
    free(st);
    return status;
}

static void cache_key(const api_ctx_t *a, char *key, size_t n)
{
    snprintf(key, n, "%s\n%s\n%s", a->ns, a->queue, a->group);
}

void api_overview_cache_clear(void)
{
    pthread_mutex_lock(&overview_cache.lock);
    cJSON_Delete(overview_cache.doc);
    overview_cache.doc = NULL;
    pthread_mutex_unlock(&overview_cache.lock);
}

/* A copy of the Redis part: the cached one while it is younger than
 * API_OVERVIEW_CACHE_MS, else read afresh (and cached). *age_ms: how old
 * the copy is. Returns 200, or an error status with out filled. */
static int overview_doc(api_ctx_t *a, cJSON **doc, int64_t *age_ms,
                        buf_t *out)
{
    char key[sizeof overview_cache.key];
    cache_key(a, key, sizeof key);
    int status = 200;
    pthread_mutex_lock(&overview_cache.lock);
    int64_t now = util_mono_ms();
    overview_cache_t *oc = &overview_cache;
    if (oc->doc == NULL || strcmp(oc->key, key) != 0 ||
        now - oc->read_mono_ms >= API_OVERVIEW_CACHE_MS ||
        now < oc->read_mono_ms) {
        cJSON *fresh;
        status = overview_read(a, &fresh, out);
        if (status == 200) {
            cJSON_Delete(oc->doc);
            oc->doc = fresh;
            oc->read_mono_ms = now;
            snprintf(oc->key, sizeof oc->key, "%s", key);
        }
    }
    *doc = NULL;
    if (status == 200) {
        *age_ms = now - oc->read_mono_ms;
        *doc = cJSON_Duplicate(oc->doc, 1);
        if (*doc == NULL)
            status = api_error(out, 500, "out of memory");
    }
    pthread_mutex_unlock(&overview_cache.lock);
    return status;
}

static int overview(api_ctx_t *a, buf_t *out)
{
    cJSON *doc;
    int64_t age_ms = 0;
    int status = overview_doc(a, &doc, &age_ms, out);
    if (status != 200)
        return status;
    cJSON_AddNumberToObject(doc, "age_ms", (double)age_ms);
    if (a->local_json) {
        cJSON *local = cJSON_ParseWithLength(a->local_json,
                                             a->local_json_len);
        cJSON_AddItemToObject(doc, "local",
                              local ? local : cJSON_CreateNull());
    }
    return api_reply(out, doc, 200);
}

/* ---- routing ------------------------------------------------------------- */

#define API_QUERY_MAX 512 /* bytes of a query string */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Takes queue=NAME (percent-encoded) off query into rest and points a at
 * that queue. Returns 0, or an error status with out filled. */
static int select_queue(api_ctx_t *a, const char **query, char *rest,
                        size_t rest_len, buf_t *out)
{
    size_t len = strlen(*query);
    if (len >= rest_len)
        return api_error(out, 400, "query string longer than %zu bytes",
                         rest_len - 1);
    char tmp[API_QUERY_MAX + 1], want[ENVELOPE_MAX_NAME + 1];
    memcpy(tmp, *query, len + 1);
    size_t at = 0;
    int picked = 0;
    rest[0] = '\0';
    for (char *save = NULL, *kv = strtok_r(tmp, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        if (strncmp(kv, "queue=", 6) != 0) {
            at += (size_t)snprintf(rest + at, rest_len - at, "%s%s",
                                   at ? "&" : "", kv);
            continue;
        }
        if (picked++)
            return api_error(out, 400, "query: queue given twice");
        size_t n = 0;
        for (const char *p = kv + 6; *p; p++) {
            int c = (unsigned char)*p;
            if (c == '%') {
                int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
                if (lo < 0)
                    return api_error(out, 400, "queue: bad %%-escape");
                c = hi * 16 + lo;
                p += 2;
            }
            if (n == ENVELOPE_MAX_NAME)
                return api_error(out, 400, "queue: longer than %d bytes",
                                 ENVELOPE_MAX_NAME);
            want[n++] = (char)c;
        }
        want[n] = '\0';
        size_t i = 0;
        while (i < a->n_queues && strcmp(a->queues[i], want) != 0)
            i++;
        if (i == a->n_queues && strcmp(want, a->queue) != 0)
            return api_error(out, 404, "queue %.128s is not served here",
                             want);
        if (i < a->n_queues) {
            a->queue = a->queues[i];
            a->keys = &a->queue_keys[i];
        }
    }
    *query = rest;
    return 0;
}

int api_handle(api_ctx_t *a, const char *method, const char *path,
               const char *query, const char *body, size_t body_len,
               buf_t *out)
{
    int is_get = strcmp(method, "GET") == 0;
    int is_post = strcmp(method, "POST") == 0;
    if (query == NULL)
        query = "";
    char rest[API_QUERY_MAX + 1];
    int picked = select_queue(a, &query, rest, sizeof rest, out);
    if (picked != 0)
        return picked;
    if (strcmp(path, "/api/overview") == 0) {
        if (!is_get)
            return api_error(out, 405, "%s: only GET", path);
        if (*query)
            return api_error(out, 400, "%s takes no query parameters", path);
        if (a->c == NULL)
            return api_error(out, 503, "Redis is not connected");
        return overview(a, out);
    }
    if (strncmp(path, "/api/dlq", 8) == 0 &&
        (path[8] == '\0' || path[8] == '/')) {
        if (!is_get && !is_post)
            return api_error(out, 405, "%s: only GET and POST", path);
        int status = api_dlq_route(a, method, path + 8, query, body,
                                   body_len, out);
        if (is_post && status == 200)
            api_overview_cache_clear(); /* its failures and counts moved */
        return status;
    }
    if (strncmp(path, "/api/queue/", 11) == 0) {
        int status = api_pause_route(a, method, path + 10, query, body,
                                     body_len, out);
        if (status == 200)
            api_overview_cache_clear(); /* it shows the pause */
        return status;
    }
    return api_error(out, 404, "no such API endpoint");
}
