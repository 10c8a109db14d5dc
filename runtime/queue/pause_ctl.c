/*
 * pause_ctl.c - sets and clears a queue's pause; see pause_ctl.h.
 */
#include "queue/pause_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "queue/queue.h"

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

/* {"at": now, "by": by, "reason": reason}, malloc'd, or NULL. */
static char *control_record(const char *by, const char *reason)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "at", (double)util_now_ms());
    cJSON_AddStringToObject(o, "by", by);
    cJSON_AddStringToObject(o, "reason", reason);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

int pause_ctl_set(redisContext *c, const queue_keys_t *keys, const char *by,
                  const char *reason, char *prev, size_t prev_len, char *err,
                  size_t err_len)
{
    char *json = control_record(by, reason);
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

/* One round trip: the old record (or false) and, when there was none and
 * the hash has room, the new one written. Returns {old or false, 1 set /
 * 0 not, HLEN}. */
static const char disable_script[] =
    "local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if old then return {old, 0, 0} end\n"
    "local n = redis.call('HLEN', KEYS[1])\n"
    "if n >= tonumber(ARGV[3]) then return {false, 0, n} end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "return {false, 1, n + 1}\n";

int pause_ctl_disable(redisContext *c, const queue_keys_t *keys,
                      const char *job, const char *by, const char *reason,
                      char *prev, size_t prev_len, char *err, size_t err_len)
{
    if (prev_len)
        prev[0] = '\0';
    char *json = control_record(by, reason);
    if (json == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    char max[16];
    snprintf(max, sizeof max, "%d", QUEUE_DISABLED_MAX);
    const char *argv[] = {"EVAL", disable_script, "1", keys->disabled, job,
                          json, max};
    redisReply *r = redisCommandArgv(c, 7, argv, NULL);
    free(json);
    int rc = -1;
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        snprintf(err, err_len, "disabling %s in %s failed: %s", job,
                 keys->disabled, r ? r->str : c->errstr);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        snprintf(err, err_len, "disabling %s in %s: unexpected reply", job,
                 keys->disabled);
    else if (r->element[0]->type == REDIS_REPLY_STRING) {
        copy_prev(r->element[0], prev, prev_len);
        rc = 0;
    } else if (r->element[1]->integer == 1)
        rc = 1;
    else
        snprintf(err, err_len, "%s already holds %lld disabled jobs, the "
                 "most a queue may have; enable one first", keys->disabled,
                 r->element[2]->integer);
    freeReplyObject(r);
    return rc;
}

static const char enable_script[] =
    "local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if old then redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
    "return old\n";

int pause_ctl_enable(redisContext *c, const queue_keys_t *keys,
                     const char *job, char *prev, size_t prev_len, char *err,
                     size_t err_len)
{
    const char *argv[] = {"EVAL", enable_script, "1", keys->disabled, job};
    redisReply *r = redisCommandArgv(c, 5, argv, NULL);
    return old_value(c, r, "enabling job in", keys->disabled, prev, prev_len,
                     err, err_len);
}
