/*
 * pause_ctl.c - sets and clears a queue's pause; see pause_ctl.h.
 */
#include "queue/pause_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"

int pause_reason_ok(const char *reason)
{
    size_t n = strlen(reason);
    if (n > PAUSE_REASON_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)reason[i] < 0x20 || (unsigned char)reason[i] > 0x7e)
            return 0;
    return 1;
}

static void copy_prev(const redisReply *r, char *prev, size_t prev_len)
{
    if (prev_len == 0)
        return;
    size_t n = r->len < prev_len - 1 ? r->len : prev_len - 1;
    memcpy(prev, r->str, n);
    prev[n] = '\0';
}

/* The reply of a command whose answer is the old value (or nil). */
static int old_value(redisContext *c, redisReply *r, const char *what,
                     const char *key, char *prev, size_t prev_len, char *err,
                     size_t err_len)
{
    if (prev_len)
        prev[0] = '\0';
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_len, "%s %s failed: %s", what, key,
                 r ? r->str : c->errstr);
        freeReplyObject(r);
        return -1;
    }
    int had = r->type == REDIS_REPLY_STRING;
    if (had)
        copy_prev(r, prev, prev_len);
    freeReplyObject(r);
    return had;
}

int pause_ctl_set(redisContext *c, const queue_keys_t *keys, const char *by,
                  const char *reason, char *prev, size_t prev_len, char *err,
                  size_t err_len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "at", (double)util_now_ms());
    cJSON_AddStringToObject(o, "by", by);
    cJSON_AddStringToObject(o, "reason", reason);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    /* SET NX GET (Redis 7): nil when it set the key, else the pause that
     * was there, which stays. */
    redisReply *r = redisCommand(c, "SET %s %s NX GET", keys->paused, json);
    free(json);
    int had = old_value(c, r, "SET", keys->paused, prev, prev_len, err,
                        err_len);
    return had < 0 ? -1 : !had;
}

int pause_ctl_clear(redisContext *c, const queue_keys_t *keys, char *prev,
                    size_t prev_len, char *err, size_t err_len)
{
    redisReply *r = redisCommand(c, "GETDEL %s", keys->paused);
    return old_value(c, r, "GETDEL", keys->paused, prev, prev_len, err,
                     err_len);
}
