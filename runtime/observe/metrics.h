/*
 * metrics.h - what one worker process counts: jobs by (job, version) and
 * outcome, dead letters by reason, handler duration and pickup lag
 * histograms, and the queue's own counters (fetched, reclaimed, poison,
 * reconnects, reloads). The block lives on the worker's board
 * (supervise/board.h), so the supervisor reads it without asking the
 * worker, and keeps it after the worker has died.
 *
 * One writer, the worker's loop thread; counting is a relaxed load and
 * store, no lock, no syscall, no allocation. Readers (the /metrics
 * endpoint, in the supervisor or on the same loop) take a snapshot with
 * metrics_merge and never trust the block: names are cut to their field
 * and checked, counts are only added up. Label cardinality is bounded:
 * at most METRICS_PAIRS (job, version) rows per process, the last one
 * taking every pair past the others ("_other"). A worker serving several
 * queues keeps a row per (queue, job, version): the queue is its index in
 * the worker's --queue list, which readers turn into the label.
 */
#ifndef JOBRT_METRICS_H
#define JOBRT_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define METRICS_PAIRS 64
#define METRICS_MAX_QUEUES 16 /* queue indexes past it count as 0 */
#define METRICS_OTHER_JOB "_other"     /* the row of pairs past the limit */
#define METRICS_INVALID_JOB "_invalid" /* entries with no valid job name */

/* What became of a job that left this worker. */
typedef enum {
    OUTCOME_SUCCEEDED,
    OUTCOME_RETRIED,      /* failed, re-added for a later attempt */
    OUTCOME_DEAD,         /* dead-lettered (by reason: dead[]) */
    OUTCOME_PARKED,       /* no handler here: parked for one that serves it */
    OUTCOME_RELEASED,     /* handed back unfinished (shutdown, no slot) */
    OUTCOME_N
} metrics_outcome_t;
extern const char *const metrics_outcome_names[OUTCOME_N];

/* Dead-letter reasons (exec/outcome.h REASON_*); unknown ones count as
 * the last. */
#define METRICS_REASONS 14
extern const char *const metrics_reason_names[METRICS_REASONS];

/* Handler duration buckets, upper bounds in microseconds; one more
 * bucket counts the rest (+Inf). */
#define METRICS_DURATION_BUCKETS 17
extern const uint32_t metrics_duration_le_us[METRICS_DURATION_BUCKETS];
/* Pickup lag (enqueued or re-added -> handed to a handler thread),
 * upper bounds in milliseconds. */
#define METRICS_LAG_BUCKETS 16
extern const uint32_t metrics_lag_le_ms[METRICS_LAG_BUCKETS];

typedef _Atomic uint64_t metrics_counter_t;

typedef struct {
    _Atomic uint32_t used; /* set last, once job and version are written */
    uint32_t version;
    uint32_t queue;        /* index in the worker's --queue list */
    char job[ENVELOPE_MAX_NAME + 1];
    metrics_counter_t outcomes[OUTCOME_N];
    metrics_counter_t dead[METRICS_REASONS];
    metrics_counter_t duration[METRICS_DURATION_BUCKETS + 1];
    metrics_counter_t duration_sum_us;
} metrics_pair_t;

typedef struct {
    /* counters */
    metrics_counter_t fetched;     /* entries handed to this worker */
    metrics_counter_t reclaimed;   /* taken over from a silent worker */
    metrics_counter_t poisoned;    /* dead-lettered as poison by reclaim */
    metrics_counter_t reconnects;  /* Redis connections re-established */
    metrics_counter_t reloads;     /* plugin reloads finished */
    metrics_counter_t reload_failures; /* reloads that kept the old set */
    metrics_counter_t lag[METRICS_LAG_BUCKETS + 1];
    metrics_counter_t lag_sum_ms;
    /* gauges, rewritten by the worker's tick */
    _Atomic uint32_t in_flight;
    _Atomic uint32_t plugins_loaded;
    _Atomic uint32_t generations_live;   /* incl. draining old ones */
    _Atomic uint32_t generations_leaked; /* could not be unloaded */
    /* readiness inputs, monotonic ms (0: never), rewritten by the tick */
    _Atomic uint32_t redis_up;   /* both connections up, scripts loaded */
    _Atomic int64_t fetch_ms;    /* the fetch loop last made progress */
    _Atomic int64_t write_ms;    /* Redis last confirmed a write */
    _Atomic int64_t lease_ms;    /* leases last renewed (or none held) */
    _Atomic int64_t lease_every_ms; /* how often they should be */
    _Atomic int64_t fetch_every_ms; /* longest a healthy read blocks */
    /* dead letters Redis scripts wrote for this process for jobs no
     * handler here finished (poison by reclaim, parked past --park-ttl),
     * by reason: they have no (job, version) row */
    metrics_counter_t script_dead[METRICS_REASONS];
    metrics_pair_t pairs[METRICS_PAIRS];
} metrics_t;

/* Relaxed single-writer updates. */
static inline void metrics_add(metrics_counter_t *c, uint64_t n)
{
    atomic_store_explicit(
        c, atomic_load_explicit(c, memory_order_relaxed) + n,
        memory_order_relaxed);
}
static inline uint64_t metrics_get(const metrics_counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* The writer's private index from (job, version) to a row, so finding a
 * row is a hash and one compare. */
#define METRICS_INDEX_SLOTS 128
typedef struct {
    metrics_t *m;
    int16_t index[METRICS_INDEX_SLOTS]; /* row + 1; 0 = empty */
    uint32_t n_rows;
} metrics_writer_t;

void metrics_writer_init(metrics_writer_t *w, metrics_t *m);
/* The row of (job, version), created on first use; job NULL or invalid
 * (the envelope had none): METRICS_INVALID_JOB. Never NULL. */
metrics_pair_t *metrics_row(metrics_writer_t *w, const char *job, size_t len,
                            uint32_t version);
/* The same for a job of the worker's queue number `queue` (metrics_row:
 * queue 0). */
metrics_pair_t *metrics_row_in(metrics_writer_t *w, uint32_t queue,
                               const char *job, size_t len, uint32_t version);
/* Counts one job leaving the worker. reason: for OUTCOME_DEAD; run_us: the
 * handler's run time, or -1 when it did not run. */
void metrics_count(metrics_writer_t *w, const char *job, size_t len,
                   uint32_t version, metrics_outcome_t outcome,
                   const char *reason, int64_t run_us);
void metrics_count_in(metrics_writer_t *w, uint32_t queue, const char *job,
                      size_t len, uint32_t version, metrics_outcome_t outcome,
                      const char *reason, int64_t run_us);
/* The index of a dead-letter reason in metrics_reason_names (unknown
 * ones: the last, "other"). */
int metrics_reason_index(const char *reason);
/* Pickup lag of one job handed to a handler thread. */
void metrics_count_lag(metrics_t *m, int64_t lag_ms);

/* ---- reading ------------------------------------------------------------- */

/* A plain copy for rendering, rows checked and merged by (job, version). */
typedef struct {
    uint32_t version;
    uint32_t queue; /* < METRICS_MAX_QUEUES */
    char job[ENVELOPE_MAX_NAME + 1];
    uint64_t outcomes[OUTCOME_N];
    uint64_t dead[METRICS_REASONS];
    uint64_t duration[METRICS_DURATION_BUCKETS + 1];
    uint64_t duration_sum_us;
} metrics_pair_sum_t;

/* Rows merged over processes: up to METRICS_SUM_PAIRS (job, version)
 * pairs; more land in the METRICS_OTHER_JOB row. */
#define METRICS_SUM_PAIRS 256
typedef struct {
    uint64_t fetched, reclaimed, poisoned, reconnects, reloads,
        reload_failures, lag_sum_ms;
    uint64_t lag[METRICS_LAG_BUCKETS + 1];
    uint64_t script_dead[METRICS_REASONS];
    uint64_t in_flight, plugins_loaded, generations_live,
        generations_leaked;
    size_t n_pairs;
    metrics_pair_sum_t pairs[METRICS_SUM_PAIRS];
} metrics_sum_t;

void metrics_sum_init(metrics_sum_t *s);
/* Adds m's counters; with_gauges: also its gauges (a live process, not
 * one that has died). */
void metrics_merge(metrics_sum_t *s, const metrics_t *m, int with_gauges);
/* Rows of a queue index >= n_queues (only plugin code writing the board
 * makes one) are added to the queue 0 row of their (job, version), so no
 * two rows render with the same labels. */
void metrics_sum_clamp_queues(metrics_sum_t *s, size_t n_queues);
/* Adds another sum's counters (not gauges): a dead worker's, kept. */
void metrics_sum_add(metrics_sum_t *s, const metrics_sum_t *add);

#endif
