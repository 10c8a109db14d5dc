/*
 * worker_internal.h - the state of one running worker, shared by the
 * files that implement `jobrt run` (not for use elsewhere):
 *
 *   worker.c   start, the job path (fetch -> route -> run -> outcome),
 *              shutdown
 *   reload.c   the plugins as generations: the first load, reloads
 *              (SIGHUP, --watch, `jobrt reload`), what the worker serves
 *              (for unparking) and its registry heartbeat record
 *   worker_admit.c  before a handler may run a job: limits, cancel,
 *              expiry, parking, dead letters
 *   worker_board.c  the board shared with the supervisor: job slots,
 *              heartbeat, readiness, hard timeouts; its tick publishes
 *              the running jobs' progress (progress.c)
 *   worker_summary.c  the --log-summary line
 *   worker_fetch.c  sharing the free slots among the queues' reads
 *   worker_limits.c  the fleet's rate and concurrency limits per (queue,
 *              job): holding a routed job until a limit lets it start
 *
 * All of it runs on the loop thread.
 */
#ifndef JOBRT_WORKER_INTERNAL_H
#define JOBRT_WORKER_INTERNAL_H

#include <stdint.h>
#include <uv.h>

#include "core/idset.h"
#include "core/rate_window.h"
#include "core/util.h"
#include "exec/executor.h"
#include "exec/fetch_plan.h"
#include "exec/outcome.h"
#include "exec/worker.h"
#include "plugin/generations.h"
#include "plugin/loader.h"
#include "plugin/watch.h"
#include "queue/queue.h"
#include "observe/metrics.h"
#include "supervise/board.h"

typedef enum { PHASE_RUN, PHASE_DRAIN, PHASE_RELEASE, PHASE_DONE } phase_t;

/* (job, version) pairs this worker parked jobs of since its last reload,
 * so that the log says so once per pair, not once per job. */
#define PARKED_PAIRS_LOGGED 64
/* `jobrt reload` requests answered by one reload at most (more that came
 * while one ran are answered by the next). */
#define RELOAD_REQUESTS_MERGED 16

struct worker;

/* One of the queues the worker serves (--queue, in the order given): its
 * own queue backend, whose callbacks get this as their argument. */
typedef struct {
    struct worker *w;
    uint32_t index;
    const char *name;
    queue_redis_t *q;
    /* its jobs settled here, and their rate (the registry record) */
    unsigned long long n_ok, n_retry, n_dead;
    rate_window_t settle_rate;
    idset_t *cancelled;  /* ids `jobrt cancel` named on this queue (ids
                            are unique within a queue only) */
} worker_queue_t;

typedef struct worker {
    const worker_config_t *cfg;
    uv_loop_t loop;
    redis_target_t target;
    loader_t *loader;
    generations_t *gens; /* the plugins, by generation; gens->router */
    executor_t *ex;
    worker_queue_t queues[WORKER_MAX_QUEUES];
    size_t n_queues;     /* 0 until they are created */
    fetch_plan_t plan;   /* how their reads share the free slots */
    uv_timer_t poke_timer; /* pokes the queues after this turn */
    int poke_pending;

    struct jobrt_job *slots;
    struct jobrt_job *free_list;
    size_t n_free;

    buf_t record;
    outcome_builds_t builds; /* what succeeded records name */
    char consumer[256];
    char host[256];
    int64_t started_ms;
    uint64_t rng;        /* backoff jitter */

    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t stop_timer;
    plugin_watch_t *watch; /* --watch, or NULL */
    phase_t phase;
    int64_t cancel_at, stop_at, release_deadline; /* monotonic ms */
    int cancel_sent; /* the running jobs' cancel flags are set */
    int second_signal;
    unsigned long long n_fetched; /* entries handed to this worker */
    int exit_code;

    unsigned long long n_ok, n_retry, n_dead, n_parked;

    char parked_logged[PARKED_PAIRS_LOGGED][160];
    size_t n_parked_logged;

    buf_t heartbeat; /* the registry record, rebuilt each heartbeat */
    buf_t outcome;   /* a reload's outcome for `jobrt reload` */

    /* Reloads and unloads run plugin code and file work on libuv's thread
     * pool (reload.c), never on the loop. One reload at a time: triggers
     * that come meanwhile are merged into the next one. */
    struct reload_job *reloading;
    int reload_again;
    char reload_again_source[96];
    char reload_again_ids[RELOAD_REQUESTS_MERGED][32];
    uint32_t reload_again_queues[RELOAD_REQUESTS_MERGED];
    size_t n_reload_again_ids;
    unsigned unloads_running;

    board_t *board;      /* shared with the supervisor, or private */
    int supervised;      /* a supervisor reads the board (--workers K) */
    uv_timer_t board_timer;
    buf_t progress_json; /* scratch of the progress writes (progress.h) */
    unsigned long long board_done; /* settled since the last tick */
    int overrun_drain;   /* a handler overran: take no more jobs */
    unsigned long long n_dispatched; /* handed to the executor */
    metrics_writer_t metrics; /* counts into board->metrics */
    struct ops *ops; /* --http, --health-file, systemd: without a
                        supervisor only (observe/ops.h) */
    struct health_watch *health_watch; /* --health-file without one */
    /* --log-summary: the timer, and the counts at the last line */
    uv_timer_t summary_timer;
    int summary_on;
    int64_t summary_at; /* monotonic ms */
    unsigned long long summary_ok, summary_retry, summary_dead,
        summary_parked;
    /* worker_limits.c: routed jobs waiting to ask a limit (linked by
     * next), asked in one batch per (queue, job) when the timer fires */
    struct jobrt_job *limit_head, *limit_tail;
    uv_timer_t limit_timer;
    int limit_timer_open;
} worker_t;

/* reload.c */

/* The first load of the plugin directory, with one line per file. Returns
 * 0, or 1 after the line saying why the worker must not start. */
int worker_load_plugins(worker_t *w);
/* Starts a reload of the plugin directory (or, if one runs, merges this
 * one into the next): source names the trigger for the log ("SIGHUP",
 * "--watch", "jobrt reload"); request_id, if not NULL, is the `jobrt
 * reload` request to answer when it is done. */
void worker_reload(worker_t *w, const char *source, const char *request_id,
                   uint32_t queue_index);
/* Unloads, off the loop, every retired generation whose last job has
 * returned. */
void worker_reap(worker_t *w);
/* SIGHUP and --watch: start and stop listening. */
int worker_reload_triggers_start(worker_t *w);
void worker_reload_triggers_stop(worker_t *w);
/* Tells the queue what this worker serves (for unparking). */
void worker_publish_served(worker_t *w);
/* worker_board.c */
/* Attaches (or creates) the board and installs the crash guard; then,
 * once the job slots exist, link_slots ties each to its board slot. */
int worker_board_start(worker_t *w);
void worker_board_link_slots(worker_t *w);
void worker_board_stop(worker_t *w);
void worker_board_fatal(worker_t *w, const char *line);
void worker_board_ready(worker_t *w);
void worker_board_draining(worker_t *w);
/* A reload finished; restart_wanted: it could not deploy everything in
 * place (a pinned plugin changed, a generation leaked). */
void worker_board_reloaded(worker_t *w, int restart_wanted);
/* Before executor_submit: the job's slot on the board. */
void worker_board_dispatch(worker_t *w, struct jobrt_job *job);
/* The job is settled (acked, requeued, dead-lettered or released). */
void worker_board_settled(worker_t *w, struct jobrt_job *job);
/* The worker released what it held and is exiting cleanly. */
void worker_board_stopped_clean(worker_t *w);
/* Counts a job leaving the worker (observe/metrics.h); for a job that
 * never reached a handler, run_us is -1. */
void worker_count(worker_t *w, const struct jobrt_job *job,
                  metrics_outcome_t outcome, const char *reason);

/* worker_summary.c: the info line every --log-summary (nothing when it
 * is 0 or the level is above info); stop closes the timer. */
void worker_summary_start(worker_t *w);
void worker_summary_stop(worker_t *w);

/* worker.c: the supervisor's second signal (the board's hurry flag): stop
 * waiting for running jobs, as a second SIGTERM does without one. */
void worker_stop_waiting(worker_t *w);
/* worker_fetch.c: jobs this process may still take (--max-jobs-per-worker
 * under a supervisor); the queue callbacks of the fetch plan. */
size_t worker_jobs_left(const worker_t *w);
size_t worker_fetch_capacity(void *arg);
size_t worker_fetch_grant(void *arg, int *block);
void worker_fetch_done(void *arg, size_t asked, size_t got, int sent);
/* worker.c: a job slot goes back to the free list. */
void worker_slot_put(worker_t *w, struct jobrt_job *job);
/* The queue backend a job came from. */
static inline queue_redis_t *worker_job_queue(const worker_t *w,
                                              const struct jobrt_job *job)
{
    return w->queues[job->queue_index].q;
}
/* worker_fetch.c: every queue may read again (slots were freed, a plan's
 * state changed). worker_poke_later does it from a timer, outside the reader's
 * callbacks (a poke from one queue's read must not recurse into
 * another's). */
void worker_poke_all(worker_t *w);
void worker_poke_later(worker_t *w);

/* worker_admit.c: before a handler may run a job */
/* Dead-letters job (its record, the queue op, the count, one line). */
void worker_dead_letter(worker_t *w, struct jobrt_job *job,
                        const char *reason, const char *error);
/* The entry's field count and sizes, checked before it is copied into
 * job: 1 if it was dead-lettered for them (the slot is still the
 * caller's to put back). */
int worker_over_limits(worker_t *w, struct jobrt_job *job,
                       const char *stream_id, const strview_t *fv, size_t n,
                       uint32_t deliveries);
/* Cancelled, expired, or not due yet: 1 if the job was taken care of
 * (and its slot put back). */
int worker_dispatch_checks(worker_t *w, struct jobrt_job *job);
/* No handler here serves the job (st): parked for one that does, or with
 * --park-ttl 0 dead-lettered. */
void worker_unserved(worker_t *w, struct jobrt_job *job, route_status_t st);
/* `jobrt disable` holds the job: parks it (worker_admit.c). */
void worker_park_disabled(worker_t *w, struct jobrt_job *job);

/* worker.c: hands a routed job that may start now to the executor. */
void worker_dispatch(worker_t *w, struct jobrt_job *job);

/* worker_limits.c */
void worker_limits_start(worker_t *w);
void worker_limits_stop(worker_t *w);
/* After routing: 1 if a limit of the job's (queue, job) holds it (it
 * is asked, and dispatched, requeued or dropped later), 0 if it may
 * start now. */
int worker_limits_gate(worker_t *w, struct jobrt_job *job);
/* The job is settled: its concurrency slot, if any, goes back. */
void worker_limits_settled(worker_t *w, struct jobrt_job *job);
/* queue callback: the concurrency slots held on a queue */
size_t worker_limits_held(void *arg, const char **jobs, const char **ids,
                          size_t max);

/* queue callbacks */
const char *worker_heartbeat_record(void *arg, size_t *len);
void worker_on_reload_request(void *arg, const char *request_id);

#endif
