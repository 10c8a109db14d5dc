/*
 * stats_view.c - reading and rendering per-queue stats for `jobrt stats`
 * and `jobrt top`; see stats_view.h. Everything printed from Redis that
 * is not a number (consumer, host, plugin and job names) is escaped:
 * heartbeat records and consumer names are untrusted input.
 */
#include "cli/stats_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stats_fmt_age(char *out, size_t n, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 10000) {
        snprintf(out, n, "%lld.%llds", (long long)(ms / 1000),
                 (long long)(ms % 1000 / 100));
        return;
    }
    long long s = ms / 1000;
    if (s < 60)
        snprintf(out, n, "%llds", s);
    else if (s < 3600)
        snprintf(out, n, "%lldm %llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, n, "%lldh %lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, n, "%lldd %lldh", s / 86400, s % 86400 / 3600);
}

/* Reads one queue into q. Returns 0, 1 to skip it (bad name, noted), or
 * -1 with err set. */
static int read_queue(redisContext *c, const redis_cli_opts_t *ro,
                      const char *queue, const char *group, const char *cmd,
                      int64_t now_ms, stats_queue_t *q, char *err,
                      size_t err_len)
{
    queue_keys_t k;
    char why[512];
    if (queue_keys_init(&k, ro->ns, queue, why, sizeof why) != 0) {
        buf_t b = {0};
        buf_append_escaped(&b, why, strlen(why), 200, NULL);
        fprintf(stderr, "jobrt %s: skipping a queue of the index: %.*s\n",
                cmd, (int)b.len, b.data ? b.data : "");
        buf_free(&b);
        return 1;
    }
    if (queue_stats_read(c, &k, group, &q->s, err, err_len) != 0)
        return -1;
    if (fleet_read(c, &k, now_ms, FLEET_MAX_WORKERS, &q->fleet, why,
                   sizeof why) != 0) {
        snprintf(err, err_len, "queue %s: %s", queue, why);
        return -1;
    }
    for (size_t i = 0; i < q->fleet.n; i++) {
        const fleet_worker_t *w = &q->fleet.w[i];
        if (!w->ok || !w->rec.has_counters) {
            q->n_without_counters++;
            continue;
        }
        q->rate += w->rec.rate;
        q->done += w->rec.done;
        q->retried += w->rec.retried;
        q->dead += w->rec.dead;
    }
    q->queue = strdup(queue);
    if (q->queue == NULL) {
        fleet_free(&q->fleet);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

/* A queue of the index, with its score (its last heartbeat). */
typedef struct {
    char *name;
    int64_t heartbeat_ms;
} index_queue_t;

static int by_queue_name(const void *a, const void *b)
{
    return strcmp(((const index_queue_t *)a)->name,
                  ((const index_queue_t *)b)->name);
}

static void free_index(index_queue_t *q, long n)
{
    for (long i = 0; i < n; i++)
        free(q[i].name);
    free(q);
}

/* Every queue of the index keys->queues, live or not (a queue whose
 * workers all died is one to see): the STATS_MAX_QUEUES most recently
 * heard from (*truncated when there were more), by name. Returns the
 * count (free with free_index), or -1 with err set. */
static long read_index(redisContext *c, const queue_keys_t *keys,
                       index_queue_t **out, int *truncated, char *err,
                       size_t err_len)
{
    char last[24];
    snprintf(last, sizeof last, "%d", STATS_MAX_QUEUES); /* one more */
    const char *argv[] = {"ZREVRANGE", keys->queues, "0", last,
                          "WITHSCORES"};
    redisReply *r = redisCommandArgv(c, 5, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        snprintf(err, err_len, "ZREVRANGE of the queue index %s: %s",
                 keys->queues,
                 r == NULL ? c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                                                : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    size_t n = r->elements / 2;
    *truncated = n > STATS_MAX_QUEUES;
    if (n > STATS_MAX_QUEUES)
        n = STATS_MAX_QUEUES;
    index_queue_t *q = calloc(n ? n : 1, sizeof *q);
    size_t k = 0;
    int oom = q == NULL;
    for (size_t i = 0; !oom && i < n; i++) {
        const redisReply *name = r->element[2 * i];
        const redisReply *score = r->element[2 * i + 1];
        if (name->type != REDIS_REPLY_STRING || name->len == 0 ||
            memchr(name->str, '\0', name->len) ||
            score->type != REDIS_REPLY_STRING)
            continue;
        q[k].name = strndup(name->str, name->len);
        if (q[k].name == NULL) {
            oom = 1;
            break;
        }
        q[k].heartbeat_ms = (int64_t)strtod(score->str, NULL);
        k++;
    }
    freeReplyObject(r);
    if (oom) {
        if (q)
            free_index(q, (long)k);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    qsort(q, k, sizeof *q, by_queue_name);
    *out = q;
    return (long)k;
}

int stats_view_read(redisContext *c, const redis_cli_opts_t *ro,
                    const char *queue, const char *group, const char *cmd,
                    stats_view_t *v, char *err, size_t err_len)
{
    memset(v, 0, sizeof *v);
    queue_keys_t keys;
    if (queue_keys_init(&keys, ro->ns, queue ? queue : DEFAULT_QUEUE, err,
                        err_len) != 0)
        return -1;
    fleet_names_t names = {0};
    if (fleet_targets(c, &keys, queue ? queue : DEFAULT_QUEUE, &v->now_ms,
                      &names, &v->truncated, err, err_len) != 0)
        return -1;
    index_queue_t *idx = NULL;
    long n_idx = 0;
    if (queue == NULL) {
        fleet_names_free(&names);
        n_idx = read_index(c, &keys, &idx, &v->truncated, err, err_len);
        if (n_idx < 0)
            return -1;
        for (long i = 0; i < n_idx; i++)
            if (fleet_names_add(&names, idx[i].name,
                                strlen(idx[i].name)) != 0) {
                free_index(idx, n_idx);
                fleet_names_free(&names);
                snprintf(err, err_len, "out of memory");
                return -1;
            }
    }
    v->q = calloc(names.n ? names.n : 1, sizeof *v->q);
    if (v->q == NULL) {
        fleet_names_free(&names);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < names.n && rc == 0; i++) {
        stats_queue_t *q = &v->q[v->n];
        int r = read_queue(c, ro, names.v[i], group, cmd, v->now_ms, q, err,
                           err_len);
        if (r < 0) {
            rc = -1;
        } else if (r == 0) {
            q->heartbeat_ms = idx ? idx[i].heartbeat_ms : -1;
            v->n++;
        }
    }
    free_index(idx, n_idx);
    fleet_names_free(&names);
    if (rc != 0)
        stats_view_free(v);
    return rc;
}

void stats_view_free(stats_view_t *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->q[i].queue);
        fleet_free(&v->q[i].fleet);
    }
    free(v->q);
    memset(v, 0, sizeof *v);
}

/* ---- text ---------------------------------------------------------------- */

static void put(buf_t *b, const char *s, size_t max)
{
    buf_append_escaped(b, s, strlen(s), max, NULL);
}

/* s, escaped and cut to w columns, padded to w (left-aligned). */
static void cell(buf_t *b, const char *s, size_t w)
{
    size_t before = b->len;
    put(b, s, w);
    size_t used = b->len - before;
    for (; used < w; used++)
        buf_append(b, " ", 1);
}

/* "  Q: PAUSED 5m ago by who: why; `jobrt resume Q` ..." */
static void paused_line(buf_t *b, const char *queue, const char *json,
                        int64_t now_ms)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "at"),
                *by = cJSON_GetObjectItemCaseSensitive(o, "by"),
                *why = cJSON_GetObjectItemCaseSensitive(o, "reason");
    buf_appendf(b, "  %s: PAUSED", queue);
    if (cJSON_IsNumber(at) && now_ms >= (int64_t)at->valuedouble) {
        char age[32];
        stats_fmt_age(age, sizeof age, now_ms - (int64_t)at->valuedouble);
        buf_appendf(b, " %s ago", age);
    }
    if (cJSON_IsString(by)) {
        buf_append(b, " by ", 4);
        put(b, by->valuestring, 80);
    }
    if (cJSON_IsString(why) && why->valuestring[0]) {
        buf_append(b, ": ", 2);
        put(b, why->valuestring, 200);
    }
    buf_appendf(b, "; no worker takes jobs from it until `jobrt resume "
                "%s`\n", queue);
    cJSON_Delete(o);
}

void stats_view_table(buf_t *b, const stats_view_t *v)
{
    size_t qw = 5;
    for (size_t i = 0; i < v->n; i++)
        if (strlen(v->q[i].queue) > qw)
            qw = strlen(v->q[i].queue);
    if (qw > 40)
        qw = 40;
    cell(b, "QUEUE", qw);
    buf_appendf(b, " %9s %8s %7s %8s %7s %9s %7s %8s %9s %8s %7s\n",
                "WAITING", "DELAYED", "PARKED", "RUNNING", "DLQ", "OLDEST",
                "WORKERS", "RATE/S", "DONE", "RETRIED", "DEAD");
    for (size_t i = 0; i < v->n; i++) {
        const stats_queue_t *q = &v->q[i];
        char waiting[24], oldest[32];
        if (q->s.waiting < 0)
            snprintf(waiting, sizeof waiting, "?");
        else
            snprintf(waiting, sizeof waiting, "%lld", q->s.waiting);
        if (q->s.oldest_waiting_ms < 0)
            snprintf(oldest, sizeof oldest, "-");
        else
            stats_fmt_age(oldest, sizeof oldest, q->s.oldest_waiting_ms);
        cell(b, q->queue, qw);
        buf_appendf(b, " %9s %8lld %7lld %8lld %7lld %9s %7lld %8.1f %9llu "
                    "%8llu %7llu\n", waiting, q->s.delayed, q->s.parked,
                    q->s.running, q->s.dlq, oldest, q->s.live_workers,
                    q->rate, q->done, q->retried, q->dead);
    }
    for (size_t i = 0; i < v->n; i++) {
        const stats_queue_t *q = &v->q[i];
        if (q->s.paused)
            paused_line(b, q->queue, q->s.paused_json, v->now_ms);
        if (q->s.disabled_total > 0) {
            buf_appendf(b, "  %s: disabled (parked, not run): ", q->queue);
            for (size_t k = 0; k < q->s.n_disabled; k++) {
                if (k)
                    buf_append(b, ", ", 2);
                put(b, q->s.disabled[k], 128);
            }
            if (q->s.disabled_total > (long long)q->s.n_disabled)
                buf_appendf(b, " and %lld more", q->s.disabled_total -
                            (long long)q->s.n_disabled);
            buf_appendf(b, " (`jobrt enable JOB -q %s`)\n", q->queue);
        }
        for (size_t k = 0; k < q->s.n_parked_pairs; k++) {
            const queue_parked_pair_t *p = &q->s.parked_pairs[k];
            buf_appendf(b, "  %s: parked ", q->queue);
            put(b, p->job, 60);
            buf_appendf(b, " v%u: %lld\n", p->version, p->count);
        }
        if (q->s.parked > 0 && q->s.n_parked_pairs == QUEUE_STATS_PARKED_PAIRS)
            buf_appendf(b, "  %s: (only the %d largest parked pairs listed)\n",
                        q->queue, QUEUE_STATS_PARKED_PAIRS);
        if (q->s.live_workers == 0) {
            buf_appendf(b, "  %s: no live worker", q->queue);
            if (q->heartbeat_ms > 0) {
                char age[32];
                stats_fmt_age(age, sizeof age, v->now_ms - q->heartbeat_ms);
                buf_appendf(b, " (the last heartbeat was %s ago)", age);
            }
            buf_append(b, "\n", 1);
        }
        if (q->n_without_counters)
            buf_appendf(b, "  %s: %zu live worker(s) report no counters (an "
                        "older jobrt, or an unreadable record): not in "
                        "RATE/S, DONE, RETRIED, DEAD\n", q->queue,
                        q->n_without_counters);
    }
}

/* "name@build, name@build" of the worker's active plugins. */
static void plugins_cell(buf_t *b, const registry_record_t *r, size_t max)
{
    buf_t t = {0};
    for (size_t i = 0; i < r->n_plugins; i++) {
        const registry_plugin_t *p = &r->plugins[i];
        if (i)
            buf_append(&t, ", ", 2);
        buf_append(&t, p->name, strlen(p->name));
        if (*p->build_id) {
            buf_append(&t, "@", 1);
            buf_append(&t, p->build_id, strlen(p->build_id));
        }
    }
    if (r->n_draining)
        buf_appendf(&t, " (+%zu draining)", r->n_draining);
    if (t.len == 0)
        buf_append(&t, "-", 1);
    buf_append_escaped(b, t.data, t.len, max, NULL);
    buf_free(&t);
}

void stats_view_workers(buf_t *b, const stats_view_t *v, size_t max_rows)
{
    size_t total = 0, rows = 0;
    for (size_t i = 0; i < v->n; i++)
        total += v->q[i].fleet.n;
    if (total == 0) {
        buf_appendf(b, "no live workers\n");
        return;
    }
    buf_appendf(b, "%-12s %-28s %-16s %7s %-8s %7s %7s  %s\n", "QUEUE",
                "CONSUMER", "HOST", "PID", "STATE", "RUNNING", "RATE/S",
                "PLUGINS");
    for (size_t i = 0; i < v->n; i++)
        for (size_t k = 0; k < v->q[i].fleet.n; k++) {
            if (rows == max_rows) {
                buf_appendf(b, "... and %zu more\n", total - rows);
                return;
            }
            rows++;
            const fleet_worker_t *w = &v->q[i].fleet.w[k];
            cell(b, v->q[i].queue, 12);
            buf_append(b, " ", 1);
            cell(b, w->consumer, 28);
            buf_append(b, " ", 1);
            if (!w->ok) {
                buf_append(b, "record unreadable: ", 19);
                put(b, w->why, 80);
                buf_append(b, "\n", 1);
                continue;
            }
            const registry_record_t *r = &w->rec;
            char running[48];
            snprintf(running, sizeof running, "%llu/%lld", r->inflight,
                     r->concurrency);
            cell(b, r->host, 16);
            buf_appendf(b, " %7lld ", r->pid);
            cell(b, r->state, 8);
            if (r->has_counters)
                buf_appendf(b, " %7s %7.1f  ", running, r->rate);
            else
                buf_appendf(b, " %7s %7s  ", running, "-");
            plugins_cell(b, r, 60);
            buf_append(b, "\n", 1);
        }
}

/* ---- JSON ---------------------------------------------------------------- */

static void add_count_or_null(cJSON *o, const char *key, long long v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)v);
}

cJSON *stats_view_json(const stats_view_t *v)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL)
        return NULL;
    cJSON_AddNumberToObject(doc, "server_time_ms", (double)v->now_ms);
    cJSON_AddBoolToObject(doc, "truncated", v->truncated);
    cJSON *qs = cJSON_AddArrayToObject(doc, "queues");
    for (size_t i = 0; qs && i < v->n; i++) {
        const stats_queue_t *q = &v->q[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            break;
        cJSON_AddItemToArray(qs, o);
        cJSON_AddStringToObject(o, "queue", q->queue);
        add_count_or_null(o, "waiting", q->s.waiting);
        cJSON_AddNumberToObject(o, "delayed", (double)q->s.delayed);
        cJSON_AddNumberToObject(o, "parked", (double)q->s.parked);
        cJSON_AddNumberToObject(o, "running", (double)q->s.running);
        cJSON_AddNumberToObject(o, "pending", (double)q->s.pending);
        cJSON_AddNumberToObject(o, "dlq", (double)q->s.dlq);
        cJSON *pz = q->s.paused ? cJSON_Parse(q->s.paused_json) : NULL;
        if (pz == NULL || !cJSON_IsObject(pz)) {
            cJSON_Delete(pz);
            pz = q->s.paused ? cJSON_CreateTrue() : cJSON_CreateFalse();
        }
        cJSON_AddItemToObject(o, "paused", pz);
        cJSON *da = cJSON_AddArrayToObject(o, "disabled");
        for (size_t k = 0; k < q->s.n_disabled; k++)
            cJSON_AddItemToArray(da, cJSON_CreateString(q->s.disabled[k]));
        cJSON_AddNumberToObject(o, "disabled_total",
                                (double)q->s.disabled_total);
        cJSON_AddNumberToObject(o, "length", (double)q->s.length);
        add_count_or_null(o, "oldest_waiting_ms", q->s.oldest_waiting_ms);
        cJSON_AddNumberToObject(o, "live_workers",
                                (double)q->s.live_workers);
        if (q->heartbeat_ms > 0)
            cJSON_AddNumberToObject(o, "last_heartbeat_ms",
                                    (double)q->heartbeat_ms);
        else
            cJSON_AddNullToObject(o, "last_heartbeat_ms");
        cJSON_AddNumberToObject(o, "rate", q->rate);
        cJSON_AddNumberToObject(o, "done", (double)q->done);
        cJSON_AddNumberToObject(o, "retried", (double)q->retried);
        cJSON_AddNumberToObject(o, "dead", (double)q->dead);
        cJSON_AddNumberToObject(o, "workers_without_counters",
                                (double)q->n_without_counters);
        cJSON *pp = cJSON_AddArrayToObject(o, "parked_pairs");
        for (size_t k = 0; pp && k < q->s.n_parked_pairs; k++) {
            const queue_parked_pair_t *p = &q->s.parked_pairs[k];
            cJSON *e = cJSON_CreateObject();
            if (e == NULL)
                break;
            cJSON_AddItemToArray(pp, e);
            cJSON_AddStringToObject(e, "job", p->job);
            cJSON_AddNumberToObject(e, "version", p->version);
            cJSON_AddNumberToObject(e, "count", (double)p->count);
        }
    }
    return doc;
}
