/*
 * supervisor_internal.h - the supervisor's state, shared by the files
 * that implement it (not for use elsewhere):
 *
 *   supervisor.c  spawning, the tick, deaths, recycling, stopping
 *   rolling.c     SIGHUP's rolling reload and SIGUSR1's status lines
 *
 * All of it runs on the supervisor's one loop thread.
 */
#ifndef JOBRT_SUPERVISOR_INTERNAL_H
#define JOBRT_SUPERVISOR_INTERNAL_H

#include <stdint.h>
#include <uv.h>

#include "core/idset.h"
#include "queue/queue.h"
#include "observe/metrics.h"
#include "supervise/board.h"
#include "supervise/settle.h"
#include "supervise/supervisor.h"

#define TICK_MS 100
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define CRASH_LOOP_MAX 5           /* unexplained deaths of one worker */
#define CRASH_LOOP_WINDOW_MS 60000 /* ... within this: give up */
#define STABLE_MS 30000            /* ready this long: backoff resets */
#define WEDGED_MS 15000            /* a loop silent this long is killed */
#define ABORT_TO_KILL_MS 3000      /* SIGABRT, then SIGKILL after */
#define STOP_MARGIN_MS 10000       /* past --shutdown-timeout: SIGKILL */
#define SETTLE_WAIT_MS 5000        /* at exit, for the last settlements */
#define ROLL_STEP_MS 60000         /* one worker's reload, at most */

enum { CAUSE_CRASH, CAUSE_TIMEOUT, CAUSE_MEMORY, CAUSE_WEDGED,
       CAUSE_RECYCLED, CAUSE_EXITED, CAUSE_N };
extern const char *const supervisor_cause_names[CAUSE_N];

typedef struct supervisor supervisor_t;

typedef struct child {
    supervisor_t *sup;
    int number; /* 1..K */
    uv_process_t proc;
    board_t *board;
    int pid;
    int64_t spawned_at;
    kill_reason_t killed;
    int64_t sigkill_at; /* 0: none scheduled */
    long long rss;
    long long rss_ready; /* its RSS when first seen ready */
    int ready_seen;
    int retiring; /* replaced: not restarted when it exits */
    int exited;
    struct child *next;
} child_t;

typedef struct {
    child_t *current;
    int64_t restart_at; /* 0: nothing scheduled */
    int64_t backoff_ms;
    int64_t crashes[CRASH_LOOP_MAX]; /* times of unexplained deaths */
    int n_crashes;
    unsigned restarts;
    unsigned by_cause[CAUSE_N];
    unsigned long long jobs_done; /* by its earlier processes */
    char last_cause[1024];
} worker_slot_t;

struct supervisor {
    const supervisor_config_t *cfg;
    const worker_config_t *wc;
    uv_loop_t loop;
    uv_timer_t tick;
    uv_signal_t sigterm, sigint, sighup, sigusr1;
    /* writer-only, one per --queue, made on first use: they settle the
     * jobs of a dead worker (queue_redis_worker_lost) */
    queue_redis_t *qs[WORKER_MAX_QUEUES];
    char exe[PATH_MAX];
    char consumer[320];
    worker_slot_t *slots;
    child_t *children;
    int first_ready;
    int recycle_wait; /* a recycled worker's replacement is not ready yet:
                         worker number, 0 = none (one recycle at a time) */
    char host[256];
    idset_t *memory_kills; /* job ids running at a memory kill */
    int stopping;
    int64_t stop_deadline, settle_deadline;
    int exit_code;
    int closing;
    long long ceiling;
    int rolling, roll_index, roll_again;
    int roll_pid; /* the worker process reloading now */
    uint64_t roll_seen;
    int64_t roll_deadline;
    struct ops *ops;      /* --http, --health-file, systemd (sup_ops.c) */
    metrics_sum_t *gone;  /* what workers that exited had counted */
    metrics_sum_t *gone_view; /* ... plus the supervisor's own dead
                                 letters, rebuilt per scrape */
};

/* rolling.c */
/* SIGHUP: reload the workers one at a time (another SIGHUP meanwhile
 * follows the one in progress). */
void supervisor_roll_start(supervisor_t *s);
/* From the tick: the next step once the current worker's reload is done. */
void supervisor_roll_check(supervisor_t *s, int64_t now);
/* SIGUSR1: one line per worker. */
void supervisor_log_workers(supervisor_t *s);

/* sup_ops.c */
/* Starts the operations endpoint; 1 after a line saying why not. */
int supervisor_ops_start(supervisor_t *s);
/* A worker exited: its counters stay in the totals. */
void supervisor_keep_counts(supervisor_t *s, const board_t *b);

#endif
