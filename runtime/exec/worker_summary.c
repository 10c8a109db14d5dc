/*
 * worker_summary.c - the worker's summary line (--log-summary): once per
 * interval, at info level, what this worker process did since the last
 * one (jobs succeeded, retried, dead-lettered, parked), its rate and what
 * it runs now, so an info log is never silent while jobs flow (issue 11).
 * A libuv timer on the worker's loop; the counts are worker_t's own.
 */
#include <stdio.h>

#include "core/log.h"
#include "exec/worker_internal.h"

static void on_summary(uv_timer_t *t)
{
    worker_t *w = t->data;
    int64_t now = util_mono_ms();
    double secs = (double)(now - w->summary_at) / 1000.0;
    if (secs <= 0)
        secs = 0.001;
    unsigned long long ok = w->n_ok - w->summary_ok;
    unsigned long long retried = w->n_retry - w->summary_retry;
    unsigned long long dead = w->n_dead - w->summary_dead;
    unsigned long long parked = w->n_parked - w->summary_parked;
    size_t in_flight = w->ex ? executor_inflight(w->ex) : 0;
    double rate = (double)(ok + retried + dead) / secs;
    w->summary_at = now;
    w->summary_ok = w->n_ok;
    w->summary_retry = w->n_retry;
    w->summary_dead = w->n_dead;
    w->summary_parked = w->n_parked;
    const log_num_t nums[] = {
        {"succeeded", (double)ok, 0},
        {"retried", (double)retried, 0},
        {"dead_lettered", (double)dead, 0},
        {"parked", (double)parked, 0},
        {"rate", rate, 2},
        {"in_flight", (double)in_flight, 0},
        {"interval_s", secs, 3},
    };
    log_nums(JOBRT_LOG_INFO, "worker", nums, sizeof nums / sizeof nums[0],
             "summary: last %.1fs: %llu succeeded, %llu retried, %llu "
             "dead-lettered, %llu parked, %.2f jobs/s, %zu in flight", secs,
             ok, retried, dead, parked, rate, in_flight);
}

void worker_summary_start(worker_t *w)
{
    if (w->cfg->log_summary_ms <= 0 || !log_enabled(JOBRT_LOG_INFO))
        return;
    uv_timer_init(&w->loop, &w->summary_timer);
    w->summary_timer.data = w;
    w->summary_at = util_mono_ms();
    w->summary_ok = w->n_ok;
    w->summary_retry = w->n_retry;
    w->summary_dead = w->n_dead;
    w->summary_parked = w->n_parked;
    uint64_t every = (uint64_t)w->cfg->log_summary_ms;
    uv_timer_start(&w->summary_timer, on_summary, every, every);
    w->summary_on = 1;
}

void worker_summary_stop(worker_t *w)
{
    if (!w->summary_on)
        return;
    w->summary_on = 0;
    uv_timer_stop(&w->summary_timer);
    uv_close((uv_handle_t *)&w->summary_timer, NULL);
}
