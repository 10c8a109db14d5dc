/*
 * schedule_ctl.c - `jobrt schedule`'s reads and writes; see
 * schedule_ctl.h and, for the scripts, scripts_cli.c.
 */
#include "queue/schedule_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "queue/scripts.h"
#include "schedule/schedule_def.h"

void schedule_row_free(schedule_row_t *r)
{
    free(r->name);
    free(r->def);
    r->name = r->def = NULL;
}

void schedule_rows_free(schedule_row_t *rows, long n)
{
    for (long i = 0; i < n; i++)
        schedule_row_free(&rows[i]);
    free(rows);
}

/* One line for a failed command: NULL reply, an error, or the wrong
 * type. Frees r. Returns -1. */
static int failed(redisContext *c, redisReply *r, const char *what,
                  const char *key, char *err, size_t err_len)
{
    snprintf(err, err_len, "%s %s: %s", what, key,
             r == NULL ? c->errstr
             : r->type == REDIS_REPLY_ERROR ? r->str
                                            : "unexpected reply");
    freeReplyObject(r);
    return -1;
}

/* "<count> <last tick>" as the FIRE script writes it. */
static void parse_fired(const redisReply *v, long long *count, int64_t *last)
{
    *count = 0;
    *last = -1;
    long long a, b;
    if (v && v->type == REDIS_REPLY_STRING &&
        sscanf(v->str, "%lld %lld", &a, &b) == 2) {
        *count = a;
        *last = (int64_t)b;
    }
}

static int64_t parse_due(const redisReply *v)
{
    if (v == NULL || v->type != REDIS_REPLY_STRING)
        return -1;
    double d = strtod(v->str, NULL);
    return d >= 0 && d < 9e15 ? (int64_t)d : -1;
}

int schedule_ctl_get(redisContext *c, const queue_keys_t *keys,
                     const char *name, schedule_row_t *out, char *err,
                     size_t err_len)
{
    memset(out, 0, sizeof *out);
    redisAppendCommand(c, "HGET %s %s", keys->schedules, name);
    redisAppendCommand(c, "ZSCORE %s %s", keys->schedule_due, name);
    redisAppendCommand(c, "HGET %s %s", keys->schedule_fired, name);
    redisReply *r[3] = {NULL, NULL, NULL};
    const char *what[3] = {"HGET", "ZSCORE", "HGET"};
    const char *key[3] = {keys->schedules, keys->schedule_due,
                          keys->schedule_fired};
    int rc = 1;
    for (int i = 0; i < 3; i++) {
        if (redisGetReply(c, (void **)&r[i]) != REDIS_OK)
            r[i] = NULL;
        if (rc == 1 && (r[i] == NULL || r[i]->type == REDIS_REPLY_ERROR)) {
            rc = failed(c, r[i], what[i], key[i], err, err_len);
            r[i] = NULL;
        }
    }
    if (rc == 1 && r[0]->type != REDIS_REPLY_STRING)
        rc = 0;
    if (rc == 1) {
        out->name = strdup(name);
        out->def = malloc(r[0]->len + 1);
        if (out->name == NULL || out->def == NULL) {
            schedule_row_free(out);
            rc = util_fail(err, err_len, "out of memory");
        } else {
            memcpy(out->def, r[0]->str, r[0]->len + 1);
            out->def_len = r[0]->len;
            out->due = parse_due(r[1]);
            parse_fired(r[2], &out->fired, &out->last_tick);
        }
    }
    for (int i = 0; i < 3; i++)
        freeReplyObject(r[i]);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const schedule_row_t *)a)->name,
                  ((const schedule_row_t *)b)->name);
}

/* The value of field name in HGETALL/ZRANGE WITHSCORES reply r. */
static const redisReply *pair_value(const redisReply *r, const char *name,
                                    size_t len)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            r->element[i]->len == len &&
            memcmp(r->element[i]->str, name, len) == 0)
            return r->element[i + 1];
    return NULL;
}

long schedule_ctl_list(redisContext *c, const queue_keys_t *keys,
                       schedule_row_t **out, char *err, size_t err_len)
{
    *out = NULL;
    redisReply *h = redisCommand(c, "HGETALL %s", keys->schedules);
    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return failed(c, h, "HGETALL", keys->schedules, err, err_len);
    redisReply *z = redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES",
                                 keys->schedule_due);
    redisReply *f = redisCommand(c, "HGETALL %s", keys->schedule_fired);
    if (z == NULL || z->type != REDIS_REPLY_ARRAY || f == NULL ||
        f->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(h);
        int bad_z = z == NULL || z->type != REDIS_REPLY_ARRAY;
        if (!bad_z)
            freeReplyObject(z);
        else
            freeReplyObject(f);
        return bad_z ? failed(c, z, "ZRANGE", keys->schedule_due, err,
                              err_len)
                     : failed(c, f, "HGETALL", keys->schedule_fired, err,
                              err_len);
    }
    size_t n = h->elements / 2;
    if (n > SCHEDULE_MAX_PER_QUEUE)
        n = SCHEDULE_MAX_PER_QUEUE;
    schedule_row_t *rows = calloc(n ? n : 1, sizeof *rows);
    long k = 0;
    int oom = rows == NULL;
    for (size_t i = 0; !oom && i < n; i++) {
        const redisReply *name = h->element[2 * i],
                         *def = h->element[2 * i + 1];
        if (name->type != REDIS_REPLY_STRING ||
            def->type != REDIS_REPLY_STRING ||
            memchr(name->str, '\0', name->len))
            continue;
        schedule_row_t *r = &rows[k];
        r->name = strndup(name->str, name->len);
        r->def = malloc(def->len + 1);
        if (r->name == NULL || r->def == NULL) {
            schedule_row_free(r);
            oom = 1;
            break;
        }
        memcpy(r->def, def->str, def->len + 1);
        r->def_len = def->len;
        r->due = parse_due(pair_value(z, name->str, name->len));
        parse_fired(pair_value(f, name->str, name->len), &r->fired,
                    &r->last_tick);
        k++;
    }
    freeReplyObject(h);
    freeReplyObject(z);
    freeReplyObject(f);
    if (oom) {
        schedule_rows_free(rows, k);
        return util_fail(err, err_len, "out of memory");
    }
    qsort(rows, (size_t)k, sizeof *rows, by_name);
    *out = rows;
    return k;
}

int schedule_ctl_put(redisContext *c, const queue_keys_t *keys,
                     const char *name, const char *old, const char *def,
                     int64_t due, char *err, size_t err_len)
{
    char due_s[24], max[16];
    if (due == SCHEDULE_DUE_KEEP)
        snprintf(due_s, sizeof due_s, "keep");
    else if (due < 0)
        due_s[0] = '\0';
    else
        snprintf(due_s, sizeof due_s, "%lld", (long long)due);
    snprintf(max, sizeof max, "%d", SCHEDULE_MAX_PER_QUEUE);
    const char *argv[] = {"EVAL", queue_script_schedule_put, "3",
                          keys->schedules, keys->schedule_due,
                          keys->schedule_fired, name, old ? old : "", def,
                          due_s, max};
    redisReply *r = redisCommandArgv(c, 11, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return failed(c, r, "writing the schedule to", keys->schedules, err,
                      err_len);
    long long v = r->integer;
    freeReplyObject(r);
    if (v < 0)
        return util_fail(err, err_len, "%s holds %d schedules, the most a "
                         "queue may have; remove some first",
                         keys->schedules, SCHEDULE_MAX_PER_QUEUE);
    return (int)v;
}

int schedule_ctl_remove(redisContext *c, const queue_keys_t *keys,
                        const char *name, char *err, size_t err_len)
{
    const char *argv[] = {"EVAL", queue_script_schedule_remove, "3",
                          keys->schedules, keys->schedule_due,
                          keys->schedule_fired, name};
    redisReply *r = redisCommandArgv(c, 7, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return failed(c, r, "removing the schedule from", keys->schedules,
                      err, err_len);
    int v = r->integer > 0;
    freeReplyObject(r);
    return v;
}

int schedule_ctl_index_queue(redisContext *c, const queue_keys_t *keys,
                             const char *queue, int64_t now, char *err,
                             size_t err_len)
{
    char score[24];
    snprintf(score, sizeof score, "%lld", (long long)now);
    const char *argv[] = {"ZADD", keys->queues, "NX", score, queue};
    redisReply *r = redisCommandArgv(c, 5, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        return failed(c, r, "ZADD", keys->queues, err, err_len);
    freeReplyObject(r);
    return 0;
}
