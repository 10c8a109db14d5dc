/*
 * registry.c - building and parsing the heartbeat record and the reload
 * outcome; see registry.h. The builders write JSON by hand into a buf_t
 * (the worker's loop thread calls them every heartbeat); the parsers use
 * cJSON and check every member they read.
 */
#include "fleet/registry.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/version.h"
#include "plugin/generations.h"

/* ---- building ------------------------------------------------------------ */

/* ,"key":"value" (or without the comma when first); a NULL value is
 * written as "". */
static int put_str(buf_t *b, int first, const char *key, const char *v)
{
    if (v == NULL)
        v = "";
    return buf_appendf(b, "%s\"%s\":", first ? "" : ",", key) ||
           buf_append_json_str(b, v, strlen(v));
}

static int put_u64(buf_t *b, const char *key, unsigned long long v)
{
    return buf_appendf(b, ",\"%s\":%llu", key, v);
}

static int put_plugin(buf_t *b, const struct jobrt_plugin *p)
{
    char label[96]; /* a build id that tells builds apart, or the sha */
    int rc = buf_append(b, "{", 1) || put_str(b, 1, "name", p->name) ||
             put_str(b, 0, "version", p->version) ||
             put_str(b, 0, "build_id",
                     generation_label(p, label, sizeof label)) ||
             put_str(b, 0, "sha256", p->sha256) ||
             put_str(b, 0, "file", p->file) ||
             put_u64(b, "generation", p->generation) ||
             put_str(b, 0, "pinned", p->pin_reason) ||
             buf_append(b, ",\"serves\":[", 11);
    for (uint32_t i = 0; rc == 0 && i < p->n_handlers; i++) {
        const plugin_handler_t *h = &p->handlers[i];
        rc = buf_append(b, i ? ",{" : "{", i ? 2 : 1) ||
             put_str(b, 1, "job", h->job_name) ||
             buf_appendf(b, ",\"min\":%u,\"max\":%u}", h->schema_min,
                         h->schema_max);
    }
    return rc || buf_append(b, "]}", 2);
}

static int put_draining(buf_t *b, const struct jobrt_plugin *p)
{
    char label[96];
    return buf_append(b, "{", 1) || put_str(b, 1, "name", p->name) ||
           put_str(b, 0, "build_id",
                   generation_label(p, label, sizeof label)) ||
           put_u64(b, "generation", p->generation) ||
           put_u64(b, "inflight", atomic_load(&p->inflight)) ||
           buf_append(b, "}", 1);
}

/* The jobs list's entries, then "],"jobs_omitted":N}": stops at
 * REGISTRY_MAX_JOBS entries or REGISTRY_JOBS_BYTES; N counts the rest of
 * the jobs given or of inflight, whichever is more. */
static int put_jobs(buf_t *b, const registry_job_t *jobs, size_t n,
                    size_t inflight)
{
    size_t start = b->len, put = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n && put < REGISTRY_MAX_JOBS; i++) {
        const registry_job_t *j = &jobs[i];
        if (b->len - start > REGISTRY_JOBS_BYTES)
            break;
        rc = buf_append(b, put ? ",{" : "{", put ? 2 : 1) ||
             put_str(b, 1, "id", j->id) ||
             put_str(b, 0, "stream_id", j->stream_id) ||
             put_str(b, 0, "job", j->job) ||
             buf_appendf(b, ",\"v\":%u,\"attempt\":%u,\"deliveries\":%u,"
                         "\"started_ms\":%lld}", j->version, j->attempt,
                         j->deliveries, (long long)j->started_ms);
        put++;
    }
    size_t total = n > inflight ? n : inflight;
    return rc || buf_appendf(b, "],\"jobs_omitted\":%zu}", total - put);
}

int registry_build_record(buf_t *out, const registry_self_t *s,
                          const plugin_set_t *active,
                          const plugin_set_t *retired)
{
    buf_reset(out);
    int rc = buf_appendf(out, "{\"v\":%d,", REGISTRY_RECORD_VERSION) ||
             put_str(out, 1, "consumer", s->consumer) ||
             put_str(out, 0, "host", s->host) ||
             buf_appendf(out, ",\"pid\":%d", s->pid) ||
             put_str(out, 0, "ns", s->ns) ||
             put_str(out, 0, "queue", s->queue) ||
             put_str(out, 0, "state", s->state) ||
             buf_appendf(out, ",\"runtime\":\"%s\",\"wire\":%d",
                         JOBRT_VERSION, JOBRT_WIRE_VERSION) ||
             buf_appendf(out, ",\"started_ms\":%lld,\"concurrency\":%d",
                         (long long)s->started_ms, s->concurrency) ||
             put_u64(out, "inflight", s->inflight) ||
             put_u64(out, "reloads", s->reloads) ||
             put_u64(out, "reload_failures", s->reload_failures) ||
             put_u64(out, "generations_leaked", s->generations_leaked) ||
             put_u64(out, "park_ttl_ms",
                     s->park_ttl_ms > 0 ? (unsigned long long)s->park_ttl_ms
                                        : 0) ||
             buf_append(out, ",\"plugins\":[", 12);
    int n = 0;
    for (const struct jobrt_plugin *p = active ? active->head : NULL;
         rc == 0 && p; p = p->next)
        rc = (n++ && buf_append(out, ",", 1)) || put_plugin(out, p);
    rc = rc || buf_append(out, "],\"draining\":[", 14);
    n = 0;
    for (const struct jobrt_plugin *p = retired ? retired->head : NULL;
         rc == 0 && p; p = p->next)
        rc = (n++ && buf_append(out, ",", 1)) || put_draining(out, p);
    rc = rc || buf_append(out, "],\"running\":[", 13);
    for (size_t i = 0; rc == 0 && i < s->n_running; i++) {
        const registry_running_t *r = &s->running[i];
        rc = buf_append(out, i ? ",{" : "{", i ? 2 : 1) ||
             put_str(out, 1, "job", r->job) ||
             buf_appendf(out, ",\"version\":%u,\"count\":%u}", r->version,
                         r->count);
    }
    rc = rc || buf_append(out, "]", 1) || put_u64(out, "done", s->done) ||
         put_u64(out, "retried", s->retried) ||
         put_u64(out, "dead", s->dead) ||
         buf_appendf(out, ",\"rate\":%.2f,\"jobs\":[",
                     s->rate >= 0 && s->rate < 1e9 ? s->rate : 0.0);
    rc = rc || put_jobs(out, s->jobs, s->n_jobs, s->inflight);
    return rc ? -1 : 0;
}

int registry_build_reload_outcome(buf_t *out, const char *consumer,
                                  const char *host, int pid,
                                  const char *status,
                                  const registry_change_t *changes, size_t n)
{
    buf_reset(out);
    int rc = buf_appendf(out, "{\"v\":%d,", REGISTRY_RECORD_VERSION) ||
             put_str(out, 1, "consumer", consumer) ||
             put_str(out, 0, "host", host) ||
             buf_appendf(out, ",\"pid\":%d", pid) ||
             put_str(out, 0, "status", status) ||
             buf_append(out, ",\"changes\":[", 12);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const registry_change_t *c = &changes[i];
        const char *keys[] = {"file", "plugin", "action", "from_build",
                              "to_build", "reason"};
        const char *vals[] = {c->file, c->plugin, c->action,
                              c->from_build, c->to_build, c->reason};
        int first = 1;
        rc = buf_append(out, i ? ",{" : "{", i ? 2 : 1);
        for (size_t k = 0; rc == 0 && k < sizeof keys / sizeof keys[0];
             k++) {
            if (vals[k] == NULL)
                continue;
            rc = put_str(out, first, keys[k], vals[k]);
            first = 0;
        }
        if (rc == 0 && c->generation)
            rc = buf_appendf(out, "%s\"generation\":%llu", first ? "" : ",",
                             c->generation);
        rc = rc || buf_append(out, "}", 1);
    }
    rc = rc || buf_append(out, "]}", 2);
    return rc ? -1 : 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* Reasons name the member: "plugins[2].serves[0].min is missing". */
typedef struct {
    char *why;
    size_t why_len;
    size_t n_items; /* list entries seen so far, against the limit */
} ctx_t;

static int bad(ctx_t *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(ctx_t *x, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return util_fail(x->why, x->why_len, "%s", msg);
}

/* A string member: *out = its value; absent: *out = dflt, or an error
 * when dflt is NULL and required. */
static int get_str(ctx_t *x, const cJSON *obj, const char *where,
                   const char *key, int required, const char *dflt,
                   const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (it == NULL || cJSON_IsNull(it)) {
        if (required)
            return bad(x, "%s%s is missing", where, key);
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL)
        return bad(x, "%s%s is not a string", where, key);
    if (strlen(it->valuestring) > REGISTRY_MAX_STR)
        return bad(x, "%s%s is longer than %d bytes", where, key,
                   REGISTRY_MAX_STR);
    *out = it->valuestring;
    return 0;
}

/* An integer member within [0, max] (absent: 0, unless required). */
static int get_uint(ctx_t *x, const cJSON *obj, const char *where,
                    const char *key, int required, double max,
                    unsigned long long *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = 0;
    if (it == NULL || cJSON_IsNull(it)) {
        if (required)
            return bad(x, "%s%s is missing", where, key);
        return 0;
    }
    double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (!cJSON_IsNumber(it) || d < 0 || d > max || floor(d) != d)
        return bad(x, "%s%s is not an integer 0-%.0f", where, key, max);
    *out = (unsigned long long)d;
    return 0;
}

/* A list member: *out = the array, or NULL when absent and optional. */
static int get_list(ctx_t *x, const cJSON *obj, const char *where,
                    const char *key, int required, const cJSON **out,
                    size_t *n)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    *n = 0;
    if (it == NULL || cJSON_IsNull(it)) {
        if (required)
            return bad(x, "%s%s is missing", where, key);
        return 0;
    }
    if (!cJSON_IsArray(it))
        return bad(x, "%s%s is not a list", where, key);
    size_t count = 0;
    for (const cJSON *e = it->child; e; e = e->next) {
        if (!cJSON_IsObject(e))
            return bad(x, "%s%s[%zu] is not an object", where, key,
                       count);
        if (++count > REGISTRY_MAX_ITEMS ||
            x->n_items + count > 4 * (size_t)REGISTRY_MAX_ITEMS)
            return bad(x, "%s%s has more than %d entries", where, key,
                       REGISTRY_MAX_ITEMS);
    }
    x->n_items += count;
    *out = it;
    *n = count;
    return 0;
}

/* Parses len bytes into a JSON object with "v": 1. */
static cJSON *parse_doc(ctx_t *x, const char *what, const char *json,
                        size_t len)
{
    if (len > REGISTRY_MAX_RECORD) {
        bad(x, "%s is larger than %d bytes", what, REGISTRY_MAX_RECORD);
        return NULL;
    }
    cJSON *doc = cJSON_ParseWithLength(json, len);
    if (doc == NULL || !cJSON_IsObject(doc)) {
        bad(x, "%s is not a JSON object", what);
        cJSON_Delete(doc);
        return NULL;
    }
    unsigned long long v;
    if (get_uint(x, doc, "", "v", 1, 1e9, &v) != 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    if (v != REGISTRY_RECORD_VERSION) {
        bad(x, "%s has \"v\":%llu; this jobrt reads version %d", what, v,
            REGISTRY_RECORD_VERSION);
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

#define U32 4294967295.0
#define I53 9007199254740991.0 /* integers a double holds exactly */

static int parse_plugin(ctx_t *x, const cJSON *o, size_t i,
                        registry_plugin_t *p, registry_serve_t *serves,
                        size_t *n_serves)
{
    char w[48];
    snprintf(w, sizeof w, "plugins[%zu].", i);
    const cJSON *list;
    size_t n;
    if (get_str(x, o, w, "name", 1, NULL, &p->name) ||
        get_str(x, o, w, "version", 0, "", &p->version) ||
        get_str(x, o, w, "build_id", 0, "", &p->build_id) ||
        get_str(x, o, w, "sha256", 0, "", &p->sha256) ||
        get_str(x, o, w, "file", 0, "", &p->file) ||
        get_str(x, o, w, "pinned", 0, "", &p->pinned) ||
        get_uint(x, o, w, "generation", 0, I53, &p->generation) ||
        get_list(x, o, w, "serves", 1, &list, &n))
        return -1;
    p->serves = serves + *n_serves;
    p->n_serves = n;
    size_t k = 0;
    for (const cJSON *e = list->child; e; e = e->next, k++) {
        registry_serve_t *s = &serves[(*n_serves)++];
        unsigned long long lo, hi;
        snprintf(w, sizeof w, "plugins[%zu].serves[%zu].", i, k);
        if (get_str(x, e, w, "job", 1, NULL, &s->job) ||
            get_uint(x, e, w, "min", 1, U32, &lo) ||
            get_uint(x, e, w, "max", 1, U32, &hi))
            return -1;
        if (lo > hi)
            return bad(x, "%smin %llu is above max %llu", w, lo, hi);
        s->min = (uint32_t)lo;
        s->max = (uint32_t)hi;
    }
    return 0;
}

/* How many serves entries the record's plugins have, for one allocation. */
static size_t count_serves(const cJSON *plugins)
{
    size_t n = 0;
    for (const cJSON *p = plugins ? plugins->child : NULL; p; p = p->next) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "serves");
        if (cJSON_IsArray(s))
            n += (size_t)cJSON_GetArraySize(s);
    }
    return n;
}

/* A number member within [0, max] (absent: 0). */
static int get_num(ctx_t *x, const cJSON *obj, const char *key, double max,
                   double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = 0;
    if (it == NULL || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
        it->valuedouble > max)
        return bad(x, "%s is not a number 0-%.0f", key, max);
    *out = it->valuedouble;
    return 0;
}

/* The counters and the jobs in flight, which older workers do not write. */
static int parse_counters(ctx_t *x, const cJSON *d, registry_record_t *r)
{
    const cJSON *jobs;
    size_t n_j;
    r->has_counters = cJSON_GetObjectItemCaseSensitive(d, "done") != NULL;
    if (get_uint(x, d, "", "done", 0, I53, &r->done) ||
        get_uint(x, d, "", "retried", 0, I53, &r->retried) ||
        get_uint(x, d, "", "dead", 0, I53, &r->dead) ||
        get_uint(x, d, "", "jobs_omitted", 0, I53, &r->jobs_omitted) ||
        get_num(x, d, "rate", 1e9, &r->rate) ||
        get_list(x, d, "", "jobs", 0, &jobs, &n_j))
        return -1;
    r->jobs = calloc(n_j ? n_j : 1, sizeof *r->jobs);
    if (r->jobs == NULL)
        return bad(x, "out of memory");
    size_t i = 0;
    for (const cJSON *e = jobs ? jobs->child : NULL; e; e = e->next, i++) {
        registry_job_t *j = &r->jobs[i];
        unsigned long long v, a, dl, st;
        char w[48];
        snprintf(w, sizeof w, "jobs[%zu].", i);
        if (get_str(x, e, w, "id", 1, NULL, &j->id) ||
            get_str(x, e, w, "stream_id", 0, "", &j->stream_id) ||
            get_str(x, e, w, "job", 1, NULL, &j->job) ||
            get_uint(x, e, w, "v", 0, U32, &v) ||
            get_uint(x, e, w, "attempt", 0, U32, &a) ||
            get_uint(x, e, w, "deliveries", 0, U32, &dl) ||
            get_uint(x, e, w, "started_ms", 0, I53, &st))
            return -1;
        j->version = (uint32_t)v;
        j->attempt = (uint32_t)a;
        j->deliveries = (uint32_t)dl;
        j->started_ms = (int64_t)st;
        r->n_jobs = i + 1;
    }
    return 0;
}

static int parse_record(ctx_t *x, const cJSON *d, registry_record_t *r)
{
    unsigned long long pid, conc, started;
    const cJSON *plugins, *draining, *running;
    size_t n_p, n_d, n_r;
    if (get_str(x, d, "", "consumer", 1, NULL, &r->consumer) ||
        get_str(x, d, "", "host", 1, NULL, &r->host) ||
        get_uint(x, d, "", "pid", 1, 2147483647.0, &pid) ||
        get_str(x, d, "", "ns", 0, "", &r->ns) ||
        get_str(x, d, "", "queue", 1, NULL, &r->queue) ||
        get_str(x, d, "", "state", 1, NULL, &r->state) ||
        get_uint(x, d, "", "started_ms", 0, I53, &started) ||
        get_uint(x, d, "", "concurrency", 0, 2147483647.0, &conc) ||
        get_uint(x, d, "", "inflight", 0, I53, &r->inflight) ||
        get_uint(x, d, "", "reloads", 0, I53, &r->reloads) ||
        get_uint(x, d, "", "reload_failures", 0, I53,
                 &r->reload_failures) ||
        get_uint(x, d, "", "generations_leaked", 0, I53,
                 &r->generations_leaked) ||
        get_uint(x, d, "", "park_ttl_ms", 0, I53, &r->park_ttl_ms) ||
        get_list(x, d, "", "plugins", 1, &plugins, &n_p) ||
        get_list(x, d, "", "draining", 0, &draining, &n_d) ||
        get_list(x, d, "", "running", 0, &running, &n_r))
        return -1;
    r->has_park_ttl =
        cJSON_GetObjectItemCaseSensitive(d, "park_ttl_ms") != NULL;
    r->pid = (long long)pid;
    r->concurrency = (long long)conc;
    r->started_ms = (int64_t)started;
    size_t n_s = count_serves(plugins);
    if (n_s > REGISTRY_MAX_ITEMS)
        return bad(x, "the plugins serve more than %d (job, range) pairs",
                   REGISTRY_MAX_ITEMS);
    r->plugins = calloc(n_p ? n_p : 1, sizeof *r->plugins);
    r->serves = calloc(n_s ? n_s : 1, sizeof *r->serves);
    r->draining = calloc(n_d ? n_d : 1, sizeof *r->draining);
    r->running = calloc(n_r ? n_r : 1, sizeof *r->running);
    if (!r->plugins || !r->serves || !r->draining || !r->running)
        return bad(x, "out of memory");
    size_t i = 0;
    for (const cJSON *e = plugins->child; e; e = e->next, i++)
        if (parse_plugin(x, e, i, &r->plugins[i], r->serves, &r->n_serves))
            return -1;
    r->n_plugins = n_p;
    i = 0;
    for (const cJSON *e = draining ? draining->child : NULL; e;
         e = e->next, i++) {
        registry_draining_t *g = &r->draining[i];
        char w[48];
        snprintf(w, sizeof w, "draining[%zu].", i);
        if (get_str(x, e, w, "name", 1, NULL, &g->name) ||
            get_str(x, e, w, "build_id", 0, "", &g->build_id) ||
            get_uint(x, e, w, "generation", 0, I53, &g->generation) ||
            get_uint(x, e, w, "inflight", 0, I53, &g->inflight))
            return -1;
    }
    r->n_draining = n_d;
    i = 0;
    for (const cJSON *e = running ? running->child : NULL; e;
         e = e->next, i++) {
        registry_running_t *g = &r->running[i];
        unsigned long long v, c;
        char w[48];
        snprintf(w, sizeof w, "running[%zu].", i);
        if (get_str(x, e, w, "job", 1, NULL, &g->job) ||
            get_uint(x, e, w, "version", 1, U32, &v) ||
            get_uint(x, e, w, "count", 1, U32, &c))
            return -1;
        g->version = (uint32_t)v;
        g->count = (unsigned)c;
    }
    r->n_running = n_r;
    return parse_counters(x, d, r);
}

int registry_parse_record(const char *json, size_t len, registry_record_t *r,
                          char *why, size_t why_len)
{
    ctx_t x = {why, why_len, 0};
    memset(r, 0, sizeof *r);
    r->doc = parse_doc(&x, "the record", json, len);
    if (r->doc == NULL)
        return -1;
    if (parse_record(&x, r->doc, r) != 0) {
        registry_record_free(r);
        return -1;
    }
    return 0;
}

void registry_record_free(registry_record_t *r)
{
    cJSON_Delete(r->doc);
    free(r->plugins);
    free(r->serves);
    free(r->draining);
    free(r->running);
    free(r->jobs);
    memset(r, 0, sizeof *r);
}

const registry_plugin_t *registry_server_of(const registry_record_t *r,
                                            const char *job,
                                            uint32_t version)
{
    for (size_t i = 0; i < r->n_plugins; i++) {
        const registry_plugin_t *p = &r->plugins[i];
        for (size_t k = 0; k < p->n_serves; k++)
            if (strcmp(p->serves[k].job, job) == 0 &&
                p->serves[k].min <= version && version <= p->serves[k].max)
                return p;
    }
    return NULL;
}

int registry_serves(const registry_record_t *r, const char *job,
                    uint32_t version)
{
    return registry_server_of(r, job, version) != NULL;
}

unsigned long long registry_running_count(const registry_record_t *r,
                                          const char *job, uint32_t version)
{
    unsigned long long n = 0;
    for (size_t i = 0; i < r->n_running; i++)
        if (r->running[i].version == version &&
            strcmp(r->running[i].job, job) == 0)
            n += r->running[i].count;
    return n;
}

/* ---- reload outcomes ----------------------------------------------------- */

/* An optional string member, NULL when absent. */
static int get_opt(ctx_t *x, const cJSON *o, const char *w, const char *key,
                   const char **out)
{
    return get_str(x, o, w, key, 0, NULL, out);
}

int registry_parse_reload_outcome(const char *json, size_t len,
                                  registry_outcome_t *o, char *why,
                                  size_t why_len)
{
    ctx_t x = {why, why_len, 0};
    memset(o, 0, sizeof *o);
    o->doc = parse_doc(&x, "the outcome", json, len);
    if (o->doc == NULL)
        return -1;
    static const char *const statuses[] = {"reloaded", "unchanged",
                                           "rejected", "partial"};
    unsigned long long pid;
    const cJSON *list;
    size_t n;
    int rc = get_str(&x, o->doc, "", "consumer", 1, NULL, &o->consumer) ||
             get_str(&x, o->doc, "", "host", 0, "", &o->host) ||
             get_uint(&x, o->doc, "", "pid", 0, 2147483647.0, &pid) ||
             get_str(&x, o->doc, "", "status", 1, NULL, &o->status) ||
             get_list(&x, o->doc, "", "changes", 1, &list, &n);
    if (rc == 0) {
        o->pid = (long long)pid;
        rc = -1;
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
            if (strcmp(o->status, statuses[i]) == 0)
                rc = 0;
        if (rc)
            bad(&x, "status is not reloaded, unchanged, rejected or "
                "partial");
    }
    if (rc == 0 && (o->changes = calloc(n ? n : 1, sizeof *o->changes)) ==
                       NULL)
        rc = bad(&x, "out of memory");
    size_t i = 0;
    for (const cJSON *e = rc == 0 ? list->child : NULL; e && rc == 0;
         e = e->next, i++) {
        registry_change_t *c = &o->changes[i];
        char w[48];
        snprintf(w, sizeof w, "changes[%zu].", i);
        rc = get_opt(&x, e, w, "file", &c->file) ||
             get_opt(&x, e, w, "plugin", &c->plugin) ||
             get_str(&x, e, w, "action", 1, NULL, &c->action) ||
             get_opt(&x, e, w, "from_build", &c->from_build) ||
             get_opt(&x, e, w, "to_build", &c->to_build) ||
             get_opt(&x, e, w, "reason", &c->reason) ||
             get_uint(&x, e, w, "generation", 0, I53, &c->generation);
    }
    if (rc) {
        registry_outcome_free(o);
        return -1;
    }
    o->n_changes = n;
    return 0;
}

void registry_outcome_free(registry_outcome_t *o)
{
    cJSON_Delete(o->doc);
    free(o->changes);
    memset(o, 0, sizeof *o);
}

int registry_change_failed(const registry_change_t *c)
{
    return c->action && (strcmp(c->action, "rejected") == 0 ||
                         strcmp(c->action, "refused") == 0);
}
