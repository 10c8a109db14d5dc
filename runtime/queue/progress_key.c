/*
 * progress_key.c - a running job's progress key, <ns>:{<queue>}:progress:
 * <job id> (exec/progress.h writes it; `jobrt status` reads it). Plain
 * SET ... PX and DEL on the writer connection, fire and forget: not ops,
 * so never kept in the outbox, resent or waited for. Progress is advisory:
 * a lost write is overtaken by the next one or expires with its key. An
 * error reply is logged when it first appears or changes, and once more
 * when a write works again, never once a write.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static void on_progress_written(redisAsyncContext *ac, void *reply,
                                void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (r == NULL)
        return; /* the connection is lost: its own line says so */
    char *last = q->progress_error;
    if (r->type != REDIS_REPLY_ERROR) {
        if (last[0]) {
            LOGI("queue", "writing job progress to %s works again",
                 q->keys.progress_prefix);
            last[0] = '\0';
        }
        return;
    }
    if (strncmp(last, r->str, sizeof q->progress_error - 1) != 0) {
        LOGW("queue", "writing job progress to %s<job id> failed: %s; jobs "
             "run on, `jobrt status` shows no progress for them (logged "
             "again when the error changes or a write works)",
             q->keys.progress_prefix, r->str);
        util_copy_str(last, sizeof q->progress_error, r->str);
    }
}

static int progress_key(const queue_redis_t *q, const char *job_id,
                        char *key, size_t cap)
{
    int n = snprintf(key, cap, "%s%s", q->keys.progress_prefix, job_id);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int queue_redis_progress_set(queue_redis_t *q, const char *job_id,
                             const char *json, size_t len, int64_t ttl_ms)
{
    char key[1024], px[24];
    if (!outbox_ready(q) || q->writer.ac == NULL ||
        progress_key(q, job_id, key, sizeof key) != 0)
        return -1;
    snprintf(px, sizeof px, "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
    const char *argv[] = {"SET", key, json, "PX", px};
    size_t lens[] = {3, strlen(key), len, 2, strlen(px)};
    if (redisAsyncCommandArgv(q->writer.ac, on_progress_written, q, 5, argv,
                              lens) != REDIS_OK)
        return -1;
    if (queue_events_on(q)) {
        /* a progress event too (docs/events.md): as advisory as the key,
         * fire and forget, at most one per job per 250 ms; the job's
         * batched started event goes out first, on the same connection */
        ops_flush_started(q);
        outbox_pump(q);
        char at[24];
        snprintf(at, sizeof at, "%lld", (long long)util_now_ms());
        const char *ev[] = {"XADD", q->keys.events, "MAXLEN", "~",
                            q->events_max_len_s, "*", "type", "progress",
                            "id", job_id, "at", at, "progress", json,
                            "worker", q->o.consumer};
        size_t evl[16];
        for (size_t i = 0; i < 16; i++)
            evl[i] = i == 13 ? len : strlen(ev[i]);
        redisAsyncCommandArgv(q->writer.ac, on_progress_written, q, 16, ev,
                              evl);
    }
    return 0;
}

int queue_redis_progress_del(queue_redis_t *q, const char *job_id)
{
    char key[1024];
    if (!outbox_ready(q) || q->writer.ac == NULL ||
        progress_key(q, job_id, key, sizeof key) != 0)
        return -1;
    const char *argv[] = {"DEL", key};
    return redisAsyncCommandArgv(q->writer.ac, on_progress_written, q, 2,
                                 argv, NULL) == REDIS_OK
               ? 0
               : -1;
}
