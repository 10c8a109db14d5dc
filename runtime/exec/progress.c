/*
 * progress.c - a running job's latest progress report, coalesced in its
 * slot, and its publication to Redis; see progress.h.
 */
#include "exec/progress.h"

#include <string.h>

#include "exec/job.h"
#include "queue/queue.h"

static void lock(progress_slot_t *s)
{
    int free_ = 0;
    while (!atomic_compare_exchange_weak_explicit(&s->lock, &free_, 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
        free_ = 0; /* held for a copy of a few hundred bytes: spin */
}

static void unlock(progress_slot_t *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

void progress_reset(progress_slot_t *s)
{
    lock(s);
    s->seq = 0;
    s->latest.percent = 0;
    s->latest.at_ms = 0;
    s->latest.message[0] = '\0';
    unlock(s);
    s->seq_taken = 0;
    s->next_write_mono = 0;
    s->refresh_mono = 0;
    s->written = 0;
}

int progress_set(progress_slot_t *s, int percent, const char *message,
                 int64_t now_ms)
{
    if (percent < 0 || percent > 100)
        return -1;
    /* cut outside the lock: the handler's string may be long. The copy
     * keeps the UTF-8 sequence that straddles the limit whole (at most 4
     * bytes), so the cut drops it rather than keeping half of it. */
    char msg[PROGRESS_MESSAGE_MAX + 4 + 1];
    size_t n = message ? strnlen(message, sizeof msg - 1) : 0;
    if (n)
        memcpy(msg, message, n);
    msg[n] = '\0';
    if (n > PROGRESS_MESSAGE_MAX)
        utf8_truncate(msg, PROGRESS_MESSAGE_MAX);
    lock(s);
    s->latest.percent = percent;
    s->latest.at_ms = now_ms;
    memcpy(s->latest.message, msg, strlen(msg) + 1);
    s->seq++;
    if (s->seq == 0)
        s->seq = 1; /* 0 means "never reported" */
    unlock(s);
    return 0;
}

int progress_take(progress_slot_t *s, int64_t now_mono, progress_report_t *out)
{
    if (now_mono < s->next_write_mono)
        return 0;
    int refresh = s->written && now_mono >= s->refresh_mono;
    lock(s);
    uint32_t seq = s->seq;
    int fresh = seq != 0 && seq != s->seq_taken;
    if (fresh || (refresh && seq != 0))
        *out = s->latest;
    unlock(s);
    if (!fresh && !(refresh && seq != 0))
        return 0;
    s->seq_taken = seq;
    s->next_write_mono = now_mono + PROGRESS_WRITE_EVERY_MS;
    s->refresh_mono = now_mono + PROGRESS_REFRESH_MS;
    return 1;
}

int progress_settle(progress_slot_t *s)
{
    lock(s);
    s->seq_taken = s->seq;
    unlock(s);
    s->next_write_mono = INT64_MAX; /* nothing more until a reset */
    int had = s->written;
    s->written = 0;
    return had;
}

int progress_json(const progress_report_t *r, uint32_t attempt,
                  uint32_t delivery, buf_t *b)
{
    buf_reset(b);
    if (buf_appendf(b, "{\"percent\":%d,\"message\":", r->percent) != 0)
        return -1;
    if (r->message[0]) {
        if (buf_append_json_str(b, r->message, strlen(r->message)) != 0)
            return -1;
    } else if (buf_append(b, "null", 4) != 0) {
        return -1;
    }
    return buf_appendf(b, ",\"at\":%lld,\"attempt\":%u,\"delivery\":%u}",
                       (long long)r->at_ms, attempt, delivery);
}

void progress_flush(struct jobrt_job *slots, size_t n,
                    struct queue_redis *const *queues, size_t n_queues,
                    buf_t *scratch, int64_t now_mono)
{
    if (slots == NULL || queues == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        struct jobrt_job *job = &slots[i];
        progress_report_t r;
        struct queue_redis *q = job->queue_index < n_queues
                                    ? queues[job->queue_index] : NULL;
        /* reports wait in their slots: the latest goes out later */
        if (job->handler == NULL || q == NULL || !queue_redis_writer_up(q) ||
            !progress_take(&job->progress, now_mono, &r))
            continue;
        if (progress_json(&r, job->env.attempt, job->deliveries, scratch) !=
            0)
            continue;
        /* a job's started event goes before its first progress event
         * (docs/events.md); queue_redis_started does nothing when events
         * are off */
        if (!job->start_event_sent) {
            job->start_event_sent = 1;
            queue_redis_started(q, job->id, job->env.job.ptr, job->env.job.len,
                                job->env.version, job->env.attempt);
        }
        if (queue_redis_progress_set(q, job->id, scratch->data, scratch->len,
                                     PROGRESS_TTL_MS) == 0)
            job->progress.written = 1;
        else
            job->progress.seq_taken = 0; /* not sent: again next turn */
    }
}

void progress_job_settled(struct jobrt_job *job, struct queue_redis *q)
{
    if (progress_settle(&job->progress) && q)
        queue_redis_progress_del(q, job->id);
}
