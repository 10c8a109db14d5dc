/*
 * job.h - one job as the runtime holds it from fetch to ack. Jobs live in a
 * fixed pool of --concurrency slots that are reused, so the hot path copies
 * a stream entry into memory it already owns instead of allocating.
 *
 * Ownership: the loop thread fills a job and hands it to the executor; from
 * then until it comes back in a completion batch, only the worker thread
 * running it touches it (except the atomic cancel flag and the progress
 * slot, which has its own lock: exec/progress.h).
 */
#ifndef JOBRT_JOB_H
#define JOBRT_JOB_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/envelope.h"
#include "core/log.h"
#include "core/util.h"
#include "exec/progress.h"
#include "plugin/plugin_set.h"
#include "supervise/board.h"

/* Why a job did not end with its handler's own outcome. */
typedef enum {
    JOB_RAN = 0,         /* the handler ran; see outcome */
    JOB_INVALID_PAYLOAD, /* payload failed validation; handler not called */
    JOB_PAYLOAD_TOO_LARGE, /* over --max-payload; handler not called */
} job_disposition_t;

struct jobrt_job {
    /* Copy of the entry: every field and value NUL-terminated, in order. */
    buf_t raw;
    strview_t *fields;
    size_t n_fields, fields_cap;
    jobrt_envelope env; /* views into raw */
    char stream_id[48];
    char id[ENVELOPE_MAX_ID + 1]; /* env.id, or the stream id */

    const plugin_handler_t *handler;
    uint32_t deliveries;     /* times this entry was delivered; 1 normally */
    uint32_t retry_after_ms; /* set by the handler with JOBRT_RETRY */
    uint32_t max_attempts;
    uint32_t timeout_ms;
    size_t max_payload;

    int64_t started_ms, finished_ms, deadline_ms; /* wall clock */
    int64_t dispatched_ms; /* wall clock: routed and handed to the executor */
    int64_t deadline_mono_ms; /* the deadline on the monotonic clock */
    int64_t dispatched_mono_ms; /* dispatched_ms on the monotonic clock */
    int64_t run_us; /* the handler's run time (monotonic); -1: did not run */
    int overdue_logged; /* loop thread: "past its deadline" line is out */
    int start_event_sent; /* loop thread: its `started` event is out (one
                             is written only for a job that has run for
                             a board tick, 100 ms: queue/events.h) */
    atomic_int cancel; /* 0, or why the handler should stop: */
#define JOB_CANCEL_SHUTDOWN 1 /* the worker is stopping */
#define JOB_CANCEL_USER 2     /* `jobrt cancel` named this job */

    job_disposition_t disposition;
    int outcome;      /* jobrt_outcome */
    buf_t result;     /* JSON set by the handler, if has_result */
    int has_result;
    char error[1024];
    progress_slot_t progress; /* job_progress (ABI 1.2), exec/progress.h */

    /* Its slot on the worker's board (supervise/board.h), where the
     * supervisor finds it if the process dies; NULL outside a worker. */
    board_t *board;
    int board_index;
    const char *queue; /* its queue's name, for log lines; NULL outside */
    uint32_t queue_index; /* which of the worker's queues it came from */
    /* the fleet's limits (exec/worker_limits.c), loop thread only */
    int limit_stage;      /* waiting for a rate (1) or concurrency (2)
                             answer; 0: not waiting */
    int limit_held;       /* holds a concurrency slot of its job */
    int64_t rate_slot_ms; /* the rate slot it was given, 0: none */

    struct jobrt_job *next; /* intrusive list link (pool, queues) */
};

/* Copies an entry (n field/value pairs as views) into job and parses its
 * envelope. Returns 0; -1 with why set if the envelope is invalid (job->raw
 * and fields still hold the copy); -2 on out of memory. */
int job_load_entry(struct jobrt_job *job, const char *stream_id,
                   const strview_t *fv, size_t n, char *why, size_t why_len);

/* Sets job->id to the entry's own valid "id" field, else the stream id. */
void job_set_id(struct jobrt_job *job, const char *stream_id,
                const strview_t *fv, size_t n);

/* Full-jitter exponential backoff before attempt `attempt + 1`:
 * uniform in [0, min(cap, base * 2^(attempt-1))], using *seed. */
uint32_t job_backoff_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms,
                        uint64_t *seed);

/* The fields of job's log lines (core/log.h), as far as they are known:
 * views into job, valid while it holds this entry; with_payload for the
 * lines about a failure (shown only with --log-payloads). For an entry
 * whose envelope is invalid, its raw "job" and "payload" fields (the log
 * escapes them). */
void job_log_fields(const struct jobrt_job *job, int with_payload,
                    log_job_t *out);

void job_free_buffers(struct jobrt_job *job);

#endif
