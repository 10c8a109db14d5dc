/*
 * fleet_view.c - reading the fleet registry from Redis; see fleet_view.h.
 */
#include "fleet/fleet_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Records fetched per round trip: at most this many replies of up to
 * REGISTRY_MAX_RECORD bytes are held at once. */
#define FETCH_BATCH 64
/* Distinct version ranges fleet_served_versions merges (more are left out
 * of the text, which then ends in ", ..."). */
#define MAX_RANGES 1024

/* "what: Redis's error" (or the connection's) into err; returns -1. */
static int redis_fail(redisContext *c, const redisReply *r, const char *what,
                      char *err, size_t err_len)
{
    return util_fail(err, err_len, "%s failed: %s", what,
                     r && r->type == REDIS_REPLY_ERROR ? r->str
                     : r ? "unexpected reply"
                         : c->errstr);
}

int fleet_server_time(redisContext *c, int64_t *now_ms, char *err,
                      size_t err_len)
{
    redisReply *r = redisCommand(c, "TIME");
    uint64_t s, us;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        util_parse_u64(r->element[0]->str, r->element[0]->len,
                       (uint64_t)1 << 40, &s) ||
        util_parse_u64(r->element[1]->str, r->element[1]->len, 999999,
                       &us)) {
        redis_fail(c, r, "TIME", err, err_len);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    *now_ms = (int64_t)(s * 1000 + us / 1000);
    return 0;
}

/* ZRANGEBYSCORE key (now - TTL) +inf [WITHSCORES] LIMIT 0 max+1: the
 * members with a heartbeat within the TTL, one more than wanted so that
 * a cut is seen. */
static redisReply *live_members(redisContext *c, const char *key,
                                int64_t now_ms, size_t max, int scores)
{
    char min[32], count[32];
    snprintf(min, sizeof min, "%lld",
             (long long)(now_ms - FLEET_WORKER_TTL_MS));
    snprintf(count, sizeof count, "%zu", max + 1);
    const char *argv[8] = {"ZRANGEBYSCORE", key, min, "+inf"};
    int argc = 4;
    if (scores)
        argv[argc++] = "WITHSCORES";
    argv[argc++] = "LIMIT";
    argv[argc++] = "0";
    argv[argc++] = count;
    return redisCommandArgv(c, argc, argv, NULL);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fleet_names_add(fleet_names_t *l, const char *s, size_t len)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (v == NULL)
        return -1;
    l->v = v;
    if ((v[l->n] = strndup(s, len)) == NULL)
        return -1;
    l->n++;
    return 0;
}

void fleet_names_free(fleet_names_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int fleet_live_queues(redisContext *c, const queue_keys_t *keys,
                      int64_t now_ms, fleet_names_t *out, int *truncated,
                      char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    redisReply *r = live_members(c, keys->queues, now_ms, FLEET_MAX_QUEUES,
                                 0);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        redis_fail(c, r, "ZRANGEBYSCORE of the queue index", err, err_len);
        freeReplyObject(r);
        return -1;
    }
    *truncated = r->elements > FLEET_MAX_QUEUES;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->elements && i < FLEET_MAX_QUEUES;
         i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING && e->len > 0 &&
            !memchr(e->str, '\0', e->len))
            rc = fleet_names_add(out, e->str, e->len);
    }
    freeReplyObject(r);
    if (rc) {
        fleet_names_free(out);
        return util_fail(err, err_len, "out of memory");
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, by_name);
    return 0;
}

int fleet_targets(redisContext *c, const queue_keys_t *keys,
                  const char *queue, int64_t *now_ms, fleet_names_t *out,
                  int *truncated, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    *truncated = 0;
    if (fleet_server_time(c, now_ms, err, err_len) != 0)
        return -1;
    if (queue == NULL)
        return fleet_live_queues(c, keys, *now_ms, out, truncated, err,
                                 err_len);
    if (fleet_names_add(out, queue, strlen(queue)) != 0) {
        fleet_names_free(out);
        return util_fail(err, err_len, "out of memory");
    }
    return 0;
}

void fleet_free(fleet_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->w[i].consumer);
        if (f->w[i].ok)
            registry_record_free(&f->w[i].rec);
    }
    free(f->w);
    memset(f, 0, sizeof *f);
}

/* Fetches the records of w[0..n) in one pipelined round trip and keeps
 * the live ones (record present) at the end of f. Returns 0 or -1. */
static int fetch_batch(redisContext *c, const queue_keys_t *keys,
                       fleet_worker_t *w, size_t n, fleet_t *f, char *err,
                       size_t err_len)
{
    char last[32];
    snprintf(last, sizeof last, "%d", REGISTRY_MAX_RECORD); /* +1 byte */
    for (size_t i = 0; i < n; i++) {
        char key[1024];
        snprintf(key, sizeof key, "%s%s", keys->worker_prefix,
                 w[i].consumer);
        const char *argv[] = {"GETRANGE", key, "0", last};
        if (redisAppendCommandArgv(c, 4, argv, NULL) != REDIS_OK)
            return util_fail(err, err_len, "GETRANGE failed: %s",
                             c->errstr);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            /* the connection is gone: no more replies */
            return util_fail(err, err_len, "GETRANGE of worker records "
                             "failed: %s", c->errstr);
        fleet_worker_t *x = &w[i];
        if (r->type == REDIS_REPLY_STRING && r->len == 0) {
            freeReplyObject(r); /* no record (expired): not live */
            continue;
        }
        if (r->type != REDIS_REPLY_STRING)
            snprintf(x->why, sizeof x->why, "the record is not a string "
                     "(%s)", r->type == REDIS_REPLY_ERROR ? r->str
                                                        : "another type");
        else if (registry_parse_record(r->str, r->len, &x->rec, x->why,
                                       sizeof x->why) == 0)
            x->ok = 1;
        f->w[f->n++] = *x;
        x->consumer = NULL; /* moved */
        freeReplyObject(r);
    }
    return 0;
}

static int by_consumer(const void *a, const void *b)
{
    const fleet_worker_t *x = a, *y = b;
    return strcmp(x->consumer, y->consumer);
}

int fleet_read(redisContext *c, const queue_keys_t *keys, int64_t now_ms,
               size_t max, fleet_t *f, char *err, size_t err_len)
{
    memset(f, 0, sizeof *f);
    if (max > FLEET_MAX_WORKERS)
        max = FLEET_MAX_WORKERS;
    redisReply *r = live_members(c, keys->workers, now_ms, max, 1);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        redis_fail(c, r, "ZRANGEBYSCORE of the workers", err, err_len);
        freeReplyObject(r);
        return -1;
    }
    size_t n = r->elements / 2;
    f->truncated = n > max;
    if (n > max)
        n = max;
    fleet_worker_t *pending = calloc(n ? n : 1, sizeof *pending);
    f->w = calloc(n ? n : 1, sizeof *f->w);
    int rc = pending && f->w ? 0 : util_fail(err, err_len, "out of memory");
    size_t m = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const redisReply *name = r->element[2 * i],
                         *score = r->element[2 * i + 1];
        if (name->type != REDIS_REPLY_STRING || name->len == 0 ||
            name->len > 512 || memchr(name->str, '\0', name->len))
            continue; /* no consumer has such a name */
        fleet_worker_t *x = &pending[m];
        x->consumer = strndup(name->str, name->len);
        if (x->consumer == NULL) {
            rc = util_fail(err, err_len, "out of memory");
            break;
        }
        x->heartbeat_ms = score->type == REDIS_REPLY_STRING
                              ? (int64_t)strtod(score->str, NULL)
                              : 0;
        m++;
    }
    freeReplyObject(r);
    for (size_t i = 0; rc == 0 && i < m; i += FETCH_BATCH)
        rc = fetch_batch(c, keys, pending + i,
                         m - i < FETCH_BATCH ? m - i : FETCH_BATCH, f, err,
                         err_len);
    for (size_t i = 0; pending && i < m; i++)
        free(pending[i].consumer);
    free(pending);
    if (rc)
        fleet_free(f);
    else if (f->n > 1)
        qsort(f->w, f->n, sizeof *f->w, by_consumer);
    return rc;
}

size_t fleet_count_serving(const fleet_t *f, const char *job,
                           uint32_t version)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->w[i].ok && registry_serves(&f->w[i].rec, job, version);
    return n;
}

typedef struct {
    uint32_t min, max;
} range_t;

static int by_min(const void *a, const void *b)
{
    const range_t *x = a, *y = b;
    return x->min < y->min ? -1 : x->min > y->min ? 1 : 0;
}

int fleet_served_versions(const fleet_t *f, const char *job, buf_t *out)
{
    range_t *v = NULL;
    size_t n = 0, cap = 0;
    int more = 0;
    buf_reset(out);
    for (size_t i = 0; i < f->n; i++) {
        const registry_record_t *rec = &f->w[i].rec;
        for (size_t k = 0; f->w[i].ok && k < rec->n_serves; k++) {
            const registry_serve_t *s = &rec->serves[k];
            if (strcmp(s->job, job) != 0)
                continue;
            size_t j = 0;
            while (j < n && (v[j].min != s->min || v[j].max != s->max))
                j++;
            if (j < n)
                continue;
            if (n == MAX_RANGES) {
                more = 1;
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                range_t *p = realloc(v, cap * sizeof *v);
                if (p == NULL) {
                    free(v);
                    return -1;
                }
                v = p;
            }
            v[n].min = s->min;
            v[n++].max = s->max;
        }
    }
    if (n)
        qsort(v, n, sizeof *v, by_min);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        uint32_t lo = v[i].min, hi = v[i].max;
        /* merge overlapping and adjacent ranges */
        for (i++; i < n && (hi == UINT32_MAX || v[i].min <= hi + 1); i++)
            if (v[i].max > hi)
                hi = v[i].max;
        rc = lo == hi ? buf_appendf(out, "%sv%u", out->len ? ", " : "", lo)
                      : buf_appendf(out, "%sv%u..%u", out->len ? ", " : "",
                                    lo, hi);
    }
    if (rc == 0 && more)
        rc = buf_append(out, ", ...", 5);
    if (rc == 0)
        rc = buf_append(out, "", 1); /* NUL-terminated */
    if (rc == 0)
        out->len--;
    free(v);
    return rc ? -1 : 0;
}
