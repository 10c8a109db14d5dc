/*
 * progress.h - a running job's progress (the ABI 1.2 host function
 * job_progress) and its publication for `jobrt status`.
 *
 * Each job slot holds one progress_slot_t. The handler thread overwrites
 * it with every report (progress_set): only the latest counts, nothing is
 * queued and nothing is allocated. The loop thread takes the latest report
 * (progress_take) at most every PROGRESS_WRITE_EVERY_MS per job and writes
 * it to Redis as <ns>:{<queue>}:progress:<job id> (queue.h,
 * queue_redis_progress_set), JSON {"percent":N,"message":"...","at":ms,
 * "attempt":A,"delivery":D}, expiring after PROGRESS_TTL_MS; a job that runs on without a new report
 * has its key written again every PROGRESS_REFRESH_MS so that it never
 * expires while the job lives. When the job settles (acked, retried,
 * dead-lettered or handed back) the key is deleted if it was ever
 * written: the outcome record does not carry progress, and the next
 * attempt starts without any. A write that fails or is not sent (the
 * writer is down) never holds up the job. A key a dead or killed worker
 * left behind expires; until then its attempt and delivery tell `jobrt
 * status` it belongs to an earlier run of the job than the one it sees
 * (queue/job_locate.h), so it is not shown for the next one.
 *
 * Threads: progress_set on the thread that runs the handler; everything
 * else on the loop thread. The fields shared by the two are guarded by a
 * spinlock held only for a copy of at most PROGRESS_MESSAGE_MAX bytes.
 */
#ifndef JOBRT_PROGRESS_H
#define JOBRT_PROGRESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define PROGRESS_MESSAGE_MAX 200     /* bytes, cut on a UTF-8 boundary */
#define PROGRESS_WRITE_EVERY_MS 250  /* per job, at most */
#define PROGRESS_TTL_MS 3600000      /* the key's expiry */
#define PROGRESS_REFRESH_MS 1800000  /* rewritten while the job runs */

typedef struct {
    int percent;
    int64_t at_ms; /* wall clock of the report */
    char message[PROGRESS_MESSAGE_MAX + 1]; /* "" when none */
} progress_report_t;

typedef struct {
    /* shared: the handler's latest report, under lock */
    atomic_int lock; /* 0 free, 1 held */
    uint32_t seq;    /* reports so far this attempt (0: none) */
    progress_report_t latest;
    /* loop thread only */
    uint32_t seq_taken;      /* the report last taken */
    int64_t next_write_mono; /* no write before (monotonic ms) */
    int64_t refresh_mono;    /* rewrite the key then, if still running */
    int written;             /* a key may exist: delete it at settle */
} progress_slot_t;

/* Loop thread, before the job's handler runs (the slot is reused). */
void progress_reset(progress_slot_t *s);

/* Handler thread: records a report, replacing the previous one. Returns
 * 0, or -1 for a percent outside 0..100 (nothing recorded). message may
 * be NULL (none); it is copied, cut at PROGRESS_MESSAGE_MAX bytes without
 * splitting a UTF-8 sequence. now_ms: the wall clock. */
int progress_set(progress_slot_t *s, int percent, const char *message,
                 int64_t now_ms);

/* Loop thread: 1 with *out filled when a write is due at now_mono (a new
 * report and PROGRESS_WRITE_EVERY_MS since the last write, or a refresh
 * of a key already written); the next write is then due no sooner than
 * now_mono + PROGRESS_WRITE_EVERY_MS. 0 when nothing is due. */
int progress_take(progress_slot_t *s, int64_t now_mono, progress_report_t *out);

/* Loop thread, when the job settles: 1 when a key may have been written
 * (the caller deletes it), 0 when none was; either way the slot reports
 * nothing more until progress_reset. */
int progress_settle(progress_slot_t *s);

/* The key's value, JSON {"percent":N,"message":"...","at":ms,"attempt":A,
 * "delivery":D} ("message" null when there is none; A and D: the job's
 * attempt and delivery count, which run it is) into b (reset first).
 * Returns 0, or -1 when out of memory. */
int progress_json(const progress_report_t *r, uint32_t attempt,
                  uint32_t delivery, buf_t *b);

struct jobrt_job;
struct queue_redis;

/* Loop thread, from the worker's periodic tick: writes what is due of the
 * n job slots, one SET each, through q's writer (fire and forget; a slot
 * whose write could not be sent is tried again at its next turn), each
 * after the job's started event when that is not out yet (with events
 * on; the job's start_event_sent). scratch is reused for the JSON. */
void progress_flush(struct jobrt_job *slots, size_t n,
                    struct queue_redis *const *queues, size_t n_queues,
                    buf_t *scratch, int64_t now_mono);

/* Loop thread: job settled; deletes its key if one may exist. */
void progress_job_settled(struct jobrt_job *job, struct queue_redis *q);

#endif
