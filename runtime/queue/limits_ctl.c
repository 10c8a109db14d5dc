/*
 * limits_ctl.c - `jobrt limit`'s access to a queue's :limits hash; see
 * limits_ctl.h.
 */
#include "queue/limits_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "queue/scripts.h"

#define LIMITS_LIST_MAX 1024

static void copy_reply(const redisReply *r, char *out, size_t len)
{
    size_t n = r->len < len - 1 ? r->len : len - 1;
    memcpy(out, r->str, n);
    out[n] = '\0';
}

int limits_ctl_set(redisContext *c, const queue_keys_t *keys,
                   const char *job, const char *const *pairs, size_t n_pairs,
                   char *old, size_t old_len, char *now, size_t now_len,
                   char *err, size_t err_len)
{
    const char *argv[16];
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = queue_scripts[SCRIPT_LIMIT_SET];
    argv[argc++] = "1";
    argv[argc++] = keys->limits;
    argv[argc++] = job;
    if (n_pairs == 0) {
        argv[argc++] = "clear";
        argv[argc++] = "";
    }
    for (size_t i = 0; i < n_pairs && argc + 2 <= 16; i++) {
        argv[argc++] = pairs[2 * i];
        argv[argc++] = pairs[2 * i + 1];
    }
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        snprintf(err, err_len, "writing the limits of job %s to %s: %s", job,
                 keys->limits,
                 r == NULL ? c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                                                : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    copy_reply(r->element[0], old, old_len);
    copy_reply(r->element[1], now, now_len);
    int changed = r->element[2]->integer == 1;
    freeReplyObject(r);
    return changed;
}

static int by_job(const void *a, const void *b)
{
    return strcmp(((const limit_row_t *)a)->job, ((const limit_row_t *)b)->job);
}

long limits_ctl_list(redisContext *c, const queue_keys_t *keys,
                     limit_row_t **rows, char *err, size_t err_len)
{
    *rows = NULL;
    redisReply *r = redisCommand(c, "HGETALL %s", keys->limits);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, err_len, "HGETALL %s: %s", keys->limits,
                 r == NULL ? c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                                                : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    size_t pairs = r->elements / 2;
    if (pairs > LIMITS_LIST_MAX)
        pairs = LIMITS_LIST_MAX;
    limit_row_t *v = calloc(pairs ? pairs : 1, sizeof *v);
    if (v == NULL) {
        freeReplyObject(r);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    long n = 0;
    for (size_t i = 0; i + 1 < r->elements && (size_t)n < pairs; i += 2) {
        const redisReply *k = r->element[i], *val = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING ||
            !envelope_valid_name(k->str, k->len))
            continue;
        limit_row_t *row = &v[n++];
        copy_reply(k, row->job, sizeof row->job);
        copy_reply(val, row->raw, sizeof row->raw);
        char why[128];
        row->valid = val->len <= LIMIT_JSON_MAX &&
                     limit_parse_json(val->str, val->len, &row->l, why,
                                      sizeof why) == 0;
    }
    freeReplyObject(r);
    qsort(v, (size_t)n, sizeof *v, by_job);
    /* the slots held now: members whose lease has not run out */
    redisReply *t = redisCommand(c, "TIME");
    long long now = 0;
    if (t && t->type == REDIS_REPLY_ARRAY && t->elements == 2)
        now = atoll(t->element[0]->str) * 1000 +
              atoll(t->element[1]->str) / 1000;
    freeReplyObject(t);
    for (long i = 0; i < n; i++) {
        if (v[i].l.concurrency <= 0)
            continue;
        redisReply *z = redisCommand(c, "ZCOUNT %s%s (%lld +inf",
                                     keys->running_prefix, v[i].job, now);
        if (z && z->type == REDIS_REPLY_INTEGER)
            v[i].running = z->integer;
        freeReplyObject(z);
    }
    *rows = v;
    return n;
}
