/*
 * records.c - reading outcome records back: a record key of its own, or
 * a compact record in one of the queue's record buckets expanded into the
 * full JSON record (queue/records.h; docs/protocol.md, "Outcome
 * records"). The worker's side is in exec/outcome.c and the COMPLETE
 * script.
 */
#include "queue/records.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t records_bucket_width_s(int64_t ttl_s)
{
    int64_t w = ttl_s / 64;
    return w < 1 ? 1 : w;
}

/* Appends item (a JSON number or null) as "key":value. */
static int append_number(buf_t *b, const char *key, const cJSON *item)
{
    if (!cJSON_IsNumber(item))
        return buf_appendf(b, ",\"%s\":null", key);
    return buf_appendf(b, ",\"%s\":%.0f", key, item->valuedouble);
}

/* ,"key":finished - delta, or null. */
static int append_moment(buf_t *b, const char *key, const cJSON *finished,
                         const cJSON *delta)
{
    if (!cJSON_IsNumber(finished) || !cJSON_IsNumber(delta))
        return buf_appendf(b, ",\"%s\":null", key);
    return buf_appendf(b, ",\"%s\":%.0f", key,
                       finished->valuedouble - delta->valuedouble);
}

static int append_string(buf_t *b, const char *key, const cJSON *item)
{
    int rc = buf_appendf(b, ",\"%s\":", key);
    if (!cJSON_IsString(item))
        return rc | buf_append(b, "null", 4);
    return rc | buf_append_json_str(b, item->valuestring,
                                    strlen(item->valuestring));
}

int records_expand(const char *compact, size_t compact_len, const char *build,
                   size_t build_len, const char *id, const char *queue,
                   buf_t *out, char *err, size_t err_len)
{
    const char *end = NULL;
    cJSON *h = cJSON_ParseWithLengthOpts(compact, compact_len, &end, 0);
    if (h == NULL || !cJSON_IsArray(h) || cJSON_GetArraySize(h) < 10 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(h, 0)) ||
        cJSON_GetArrayItem(h, 0)->valueint != 1) {
        cJSON_Delete(h);
        snprintf(err, err_len,
                 "the record of job %s is not a compact "
                 "record of format 1",
                 id);
        return -1;
    }
    cJSON *bj = NULL;
    if (build && build_len)
        bj = cJSON_ParseWithLength(build, build_len);
    const cJSON *fin = cJSON_GetArrayItem(h, 6);
    int rc = 0;
    buf_reset(out);
    rc |= buf_append(out, "{\"id\":", 6);
    rc |= buf_append_json_str(out, id, strlen(id));
    rc |= buf_append(out, ",\"queue\":", 9);
    rc |= buf_append_json_str(out, queue, strlen(queue));
    rc |= append_string(out, "job", cJSON_GetArrayItem(h, 2));
    rc |= append_number(out, "v", cJSON_GetArrayItem(h, 3));
    rc |= buf_append(out, ",\"status\":\"succeeded\"", 21);
    rc |= append_number(out, "attempts", cJSON_GetArrayItem(h, 4));
    rc |= append_number(out, "deliveries", cJSON_GetArrayItem(h, 5));
    rc |= buf_append(out, ",\"reason\":null,\"result\":", 24);
    size_t rest = (size_t)(compact + compact_len - end);
    if (rest > 0)
        rc |= buf_append(out, end, rest);
    else
        rc |= buf_append(out, "null", 4);
    rc |= buf_append(out, ",\"error\":null", 13);
    if (bj) {
        rc |= append_string(out, "plugin", cJSON_GetObjectItem(bj, "plugin"));
        rc |= append_string(out, "plugin_version",
                            cJSON_GetObjectItem(bj, "plugin_version"));
        rc |= append_string(out, "build_id",
                            cJSON_GetObjectItem(bj, "build_id"));
        rc |= append_string(out, "sha256", cJSON_GetObjectItem(bj, "sha256"));
        rc |= append_number(out, "generation",
                            cJSON_GetObjectItem(bj, "generation"));
    }
    rc |= append_moment(out, "enqueued_at", fin, cJSON_GetArrayItem(h, 7));
    rc |= append_moment(out, "dispatched_at", fin, cJSON_GetArrayItem(h, 8));
    rc |= append_moment(out, "started_at", fin, cJSON_GetArrayItem(h, 9));
    rc |= append_number(out, "finished_at", fin);
    rc |= append_string(out, "worker",
                        bj ? cJSON_GetObjectItem(bj, "worker") : NULL);
    rc |= buf_append(out, "}", 1);
    cJSON_Delete(bj);
    cJSON_Delete(h);
    if (rc) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

static redisReply *command(redisContext *c, const char *what, const char *id,
                           char *err, size_t err_len, int argc,
                           const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_len, "job %s: %s: %s", id, what,
                 r ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        return NULL;
    }
    return r;
}

static int take(char **out, size_t *out_len, const char *p, size_t n,
                char *err, size_t err_len)
{
    *out = malloc(n + 1);
    if (*out == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    memcpy(*out, p, n);
    (*out)[n] = '\0';
    *out_len = n;
    return 1;
}

static int newest_first(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The buckets the index lists, newest first, into starts; their count,
 * or -1. */
static int bucket_starts(redisContext *c, const queue_keys_t *k,
                         const char *id, long long *starts, char *err,
                         size_t err_len)
{
    char stop[24];
    snprintf(stop, sizeof stop, "%d", RECORDS_MAX_BUCKETS - 1);
    const char *argv[] = {"ZRANGE", k->done, "0", stop, "REV"};
    redisReply *r =
        command(c, "ZRANGE of the record buckets", id, err, err_len, 5, argv);
    if (r == NULL)
        return -1;
    int n = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements &&
                       n < RECORDS_MAX_BUCKETS;
         i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            starts[n++] = strtoll(r->element[i]->str, NULL, 10);
    freeReplyObject(r);
    qsort(starts, (size_t)n, sizeof *starts, newest_first);
    return n;
}

/* finished_at of a compact record (header item 6), or -1. */
static double finished_of(const redisReply *r)
{
    cJSON *h = cJSON_ParseWithLengthOpts(r->str, r->len, NULL, 0);
    const cJSON *f = cJSON_GetArrayItem(h, 6);
    double v = cJSON_IsNumber(f) ? f->valuedouble : -1;
    cJSON_Delete(h);
    return v;
}

/* The compact record of id that finished last of those the buckets hold
 * (one, unless the id ran again), pipelined HGETs: 1 (reply in *hit,
 * *start its bucket), 0 none, -1 error. */
static int find_in_buckets(redisContext *c, const queue_keys_t *k,
                           const char *id, redisReply **hit, long long *start,
                           char *err, size_t err_len)
{
    long long *starts = malloc(RECORDS_MAX_BUCKETS * sizeof *starts);
    if (starts == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    int n = bucket_starts(c, k, id, starts, err, err_len);
    int sent = 0;
    for (; sent < n; sent++) {
        char key[600];
        snprintf(key, sizeof key, "%s:%lld", k->done, starts[sent]);
        const char *argv[] = {"HGET", key, id};
        if (redisAppendCommandArgv(c, 3, argv, NULL) != REDIS_OK)
            break;
    }
    int found = n < 0 ? -1 : 0;
    for (int i = 0; i < sent; i++) { /* read every reply sent */
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
            snprintf(err, err_len, "job %s: HGET of its record: %s", id,
                     c->errstr);
            found = -1;
            break;
        }
        if (found >= 0 && r->type == REDIS_REPLY_STRING &&
            (*hit == NULL || finished_of(r) > finished_of(*hit))) {
            if (*hit)
                freeReplyObject(*hit);
            *hit = r;
            *start = starts[i];
            found = 1;
            continue;
        }
        if (found >= 0 && r->type == REDIS_REPLY_ERROR) {
            snprintf(err, err_len, "job %s: HGET of its record: %s", id,
                     r->str);
            found = -1;
        }
        freeReplyObject(r);
    }
    if (found == -1 && *hit) {
        freeReplyObject(*hit);
        *hit = NULL;
    }
    free(starts);
    return found;
}

int records_get(redisContext *c, const queue_keys_t *k, const char *queue,
                const char *id, char **out, size_t *out_len, char *err,
                size_t err_len)
{
    char key[1024];
    snprintf(key, sizeof key, "%s%s", k->job_prefix, id);
    const char *get[] = {"GET", key};
    redisReply *r = command(c, "GET of its record", id, err, err_len, 2, get);
    if (r == NULL)
        return -1;
    redisReply *hit = NULL;
    long long start = 0;
    int found = find_in_buckets(c, k, id, &hit, &start, err, err_len);
    if (found < 0) {
        freeReplyObject(r);
        return -1;
    }
    cJSON *h = found && hit
                   ? cJSON_ParseWithLengthOpts(hit->str, hit->len, NULL, 0)
                   : NULL;
    if (r->type == REDIS_REPLY_STRING) {
        /* both (a dead job retried, or an id used again): the later */
        cJSON *own = found ? cJSON_ParseWithLength(r->str, r->len) : NULL;
        const cJSON *of = cJSON_GetObjectItem(own, "finished_at");
        const cJSON *bf = cJSON_GetArrayItem(h, 6);
        int own_wins =
            !found || !cJSON_IsNumber(bf) ||
            (cJSON_IsNumber(of) && of->valuedouble > bf->valuedouble);
        cJSON_Delete(own);
        if (own_wins) {
            int rc = take(out, out_len, r->str, r->len, err, err_len);
            freeReplyObject(r);
            cJSON_Delete(h);
            if (hit)
                freeReplyObject(hit);
            return rc;
        }
    }
    freeReplyObject(r);
    if (!found || hit == NULL)
        return 0;
    /* the build it names: [1, "key", ...] */
    redisReply *build = NULL;
    const cJSON *bk = cJSON_GetArrayItem(h, 1);
    if (cJSON_IsString(bk) && bk->valuestring[0]) {
        snprintf(key, sizeof key, "%s:%lld:builds", k->done, start);
        const char *argv[] = {"HGET", key, bk->valuestring};
        build = command(c, "HGET of its build", id, err, err_len, 3, argv);
        if (build == NULL) {
            cJSON_Delete(h);
            freeReplyObject(hit);
            return -1;
        }
    }
    cJSON_Delete(h);
    buf_t full = {0};
    int ok = records_expand(
        hit->str, hit->len,
        build && build->type == REDIS_REPLY_STRING ? build->str : NULL,
        build && build->type == REDIS_REPLY_STRING ? build->len : 0, id, queue,
        &full, err, err_len);
    freeReplyObject(hit);
    if (build)
        freeReplyObject(build);
    if (ok != 0) {
        buf_free(&full);
        return -1;
    }
    *out = full.data;
    *out_len = full.len;
    return 1;
}
