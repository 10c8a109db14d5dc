/*
 * worker_board.c - the worker's side of its board (supervise/board.h):
 * each dispatched job's slot, the loop's heartbeat, readiness, the reason
 * it could not start, reloads, and hard timeouts.
 *
 * Hard timeouts. At a job's deadline its handler sees
 * job_cancel_requested() (soft). A handler still running --timeout-grace
 * later is overrunning. Under a supervisor, the worker then stops taking
 * jobs, keeps the overrunning job's lease (no other worker may start it
 * while it still runs here), lets its other jobs finish within their own
 * deadlines, confirms their acks, and asks the supervisor to kill it
 * (BOARD_KILL_ME): the supervisor records the overrunning job as
 * `timeout`, retries it per its policy, and starts a fresh worker. No
 * thread is ever cancelled inside plugin code, and an innocent job is
 * never killed for another's overrun. This holds while the worker drains
 * for a stop or a recycle too. Without a supervisor (--workers 0)
 * nothing can end the handler: the worker warns and stops renewing its
 * lease, so another worker takes the job over after --lease.
 *
 * The board tick also publishes the running jobs' progress reports
 * (exec/progress.h), and a settled job's progress key is deleted here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/reasons.h"
#include "observe/health.h"
#include "observe/ops.h"
#include "exec/progress.h"
#include "exec/worker_internal.h"
#include "supervise/crash_guard.h"

#define BOARD_TICK_MS 100

static void write_generations(worker_t *w)
{
    char *out = w->board->generations;
    size_t cap = sizeof w->board->generations, n = 0;
    out[0] = '\0';
    for (const struct jobrt_plugin *p = w->gens->active.head; p && n < cap;
         p = p->next) {
        int k = snprintf(out + n, cap - n, "%s%s %s (generation %llu)",
                         n ? ", " : "", p->name,
                         p->build_id ? p->build_id : p->version,
                         p->generation);
        if (k < 0)
            break;
        n += (size_t)k;
    }
}

static void on_board_tick(uv_timer_t *t);

/* Without a supervisor the loop that keeps the health file is the one
 * that may wedge: this thread removes the file when the loop's heartbeat
 * goes stale (observe/health.h), and the loop writes it again once it
 * turns and is ready. */
typedef struct health_watch {
    pthread_t thread;
    const board_t *board;
    const char *path;
    atomic_int stop;
} health_watch_t;

static void *watch_health(void *arg)
{
    health_watch_t *hw = arg;
    int removed = 0;
    while (!atomic_load(&hw->stop)) {
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        int64_t age = util_mono_ms() - atomic_load(&hw->board->heartbeat_ms);
        if (age > HEALTH_LOOP_STALE_MS && !removed) {
            unlink(hw->path);
            removed = 1;
        } else if (age <= HEALTH_LOOP_STALE_MS) {
            removed = 0;
        }
    }
    return NULL;
}

static void start_health_watch(worker_t *w)
{
    health_watch_t *hw = calloc(1, sizeof *hw);
    if (hw == NULL)
        return;
    hw->board = w->board;
    hw->path = w->cfg->health_file;
    if (pthread_create(&hw->thread, NULL, watch_health, hw) != 0) {
        LOGW("worker", "--health-file: cannot start its watchdog thread; "
             "a wedged loop would leave the file in place");
        free(hw);
        return;
    }
    w->health_watch = hw;
}

static void stop_health_watch(worker_t *w)
{
    health_watch_t *hw = w->health_watch;
    if (hw == NULL)
        return;
    atomic_store(&hw->stop, 1);
    pthread_join(hw->thread, NULL);
    free(hw);
    w->health_watch = NULL;
}

static size_t own_board(void *arg, const board_t **v, int *numbers,
                        size_t max)
{
    worker_t *w = arg;
    if (max == 0)
        return 0;
    v[0] = w->board;
    numbers[0] = 1;
    return 1;
}

/* Without a supervisor this process serves the operations endpoint. */
static int start_ops(worker_t *w)
{
    const worker_config_t *cfg = w->cfg;
    ops_config_t oc = {
        .listen = cfg->http,
        .token_file = cfg->http_token_file,
        .public_read = cfg->http_public_read,
        .health_file = cfg->health_file,
        .redis = cfg->redis,
        .ns = cfg->ns,
        .queue = cfg->queue,
        .queues = cfg->queues,
        .n_queues = cfg->n_queues,
        .group = cfg->group,
        .mode = "single",
        .api = api_handle,
    };
    ops_source_t src = {.boards = own_board, .arg = w};
    char err[512];
    w->ops = ops_start(&w->loop, &oc, &src, err, sizeof err);
    if (w->ops == NULL) {
        LOGE("worker", "%s", err);
        return 1;
    }
    if (cfg->health_file)
        start_health_watch(w);
    return 0;
}

int worker_board_start(worker_t *w)
{
    const worker_config_t *cfg = w->cfg;
    char err[256];
    if (cfg->board_fd >= 0) {
        w->board = board_attach(cfg->board_fd, (uint32_t)cfg->concurrency,
                                err, sizeof err);
        if (w->board == NULL) {
            LOGE("worker", "%s", err);
            return 1;
        }
        w->supervised = 1;
    } else {
        w->board = board_create_private((uint32_t)cfg->concurrency);
        if (w->board == NULL) {
            LOGE("worker", "out of memory");
            return 1;
        }
    }
    metrics_writer_init(&w->metrics, &w->board->metrics);
    atomic_store(&w->board->pid, (int32_t)getpid());
    atomic_store(&w->board->heartbeat_ms, util_mono_ms());
    util_copy_str(w->board->consumer, sizeof w->board->consumer, w->consumer);
    util_copy_str(w->board->host, sizeof w->board->host, w->host);
    if (crash_guard_install(w->board) != 0)
        LOGW("worker", "cannot install the crash report handlers; a crash "
             "is still contained, but not attributed to its job");
    uv_timer_init(&w->loop, &w->board_timer);
    w->board_timer.data = w;
    uv_timer_start(&w->board_timer, on_board_tick, BOARD_TICK_MS,
                   BOARD_TICK_MS);
    return w->supervised ? 0 : start_ops(w);
}

void worker_board_link_slots(worker_t *w)
{
    for (int i = 0; i < w->cfg->concurrency; i++) {
        w->slots[i].board = w->board;
        w->slots[i].board_index = i;
    }
}

void worker_board_stop(worker_t *w)
{
    if (w->board_timer.data && !uv_is_closing((uv_handle_t *)&w->board_timer)) {
        uv_timer_stop(&w->board_timer);
        uv_close((uv_handle_t *)&w->board_timer, NULL);
    }
    buf_free(&w->progress_json);
    stop_health_watch(w);
    ops_close(w->ops);
    w->ops = NULL;
}

void worker_board_fatal(worker_t *w, const char *line)
{
    if (w->board)
        util_copy_str(w->board->fatal, sizeof w->board->fatal, line);
}

void worker_board_ready(worker_t *w)
{
    uint32_t starting = BOARD_STARTING;
    if (w->board && atomic_compare_exchange_strong(&w->board->state,
                                                   &starting, BOARD_READY))
        write_generations(w);
}

void worker_board_draining(worker_t *w)
{
    ops_stopping(w->ops);
    if (w->board && atomic_load(&w->board->state) != BOARD_KILL_ME)
        atomic_store(&w->board->state, BOARD_DRAINING);
}

void worker_board_reloaded(worker_t *w, int restart_wanted)
{
    if (w->board == NULL)
        return;
    write_generations(w);
    if (restart_wanted && w->supervised &&
        !atomic_exchange(&w->board->restart_wanted, 1))
        LOGI("worker", "this worker serves a plugin build it cannot unload "
             "in place; the supervisor replaces it with a fresh worker "
             "(drained first) to deploy the new build");
    atomic_fetch_add(&w->board->reloads, 1);
}

void worker_board_dispatch(worker_t *w, struct jobrt_job *job)
{
    board_slot_t *s = &w->board->slots[job->board_index];
    const struct jobrt_plugin *p = job->handler->plugin;
    s->version = job->env.version;
    s->attempt = job->env.attempt;
    s->max_attempts = job->max_attempts;
    s->deliveries = job->deliveries;
    s->timeout_ms = job->timeout_ms;
    s->retry_delay_ms = 0;
    s->queue_index = job->queue_index;
    atomic_store_explicit(&s->started_ms, 0, memory_order_relaxed);
    s->dispatched_ms = job->dispatched_ms;
    s->deadline_ms = job->deadline_ms;
    s->enqueued_ms = job->env.enqueued_at_ms;
    s->generation = p->generation;
    board_copy(s->stream_id, sizeof s->stream_id, job->stream_id,
               strlen(job->stream_id));
    board_copy(s->id, sizeof s->id, job->id, strlen(job->id));
    board_copy(s->job, sizeof s->job, job->env.job.ptr, job->env.job.len);
    board_copy(s->plugin, sizeof s->plugin, p->name, strlen(p->name));
    board_copy(s->plugin_version, sizeof s->plugin_version, p->version,
               strlen(p->version));
    const char *build = p->build_id ? p->build_id : "";
    board_copy(s->build_id, sizeof s->build_id, build, strlen(build));
    board_copy(s->sha12, sizeof s->sha12, p->sha256, 12);
    atomic_store_explicit(&s->state, BOARD_SLOT_QUEUED, memory_order_release);
}

void worker_board_settled(worker_t *w, struct jobrt_job *job)
{
    if (job->board == NULL)
        return;
    progress_job_settled(job, worker_job_queue(w, job));
    uint32_t was = atomic_exchange_explicit(
        &w->board->slots[job->board_index].state, BOARD_SLOT_FREE,
        memory_order_acq_rel);
    w->board_done++;
    uint32_t kill_me = BOARD_KILL_ME;
    if (was == BOARD_SLOT_OVERRUN &&
        atomic_compare_exchange_strong(&w->board->state, &kill_me,
                                       BOARD_DRAINING)) {
        log_job_t lj;
        job_log_fields(job, 0, &lj);
        LOGJI("worker", &lj, "job %s returned after all, before the "
              "supervisor stopped this worker", job->id);
    }
}

void worker_count(worker_t *w, const struct jobrt_job *job,
                  metrics_outcome_t outcome, const char *reason)
{
    metrics_count_in(&w->metrics, job->queue_index, job->env.job.ptr,
                     job->env.job.len, job->env.version, outcome, reason,
                     job->run_us);
}

/* The gauges and readiness inputs of the board's metrics, and the
 * counters that exist elsewhere anyway (copied, not counted twice). */
static void publish_metrics(worker_t *w, int64_t now)
{
    metrics_t *m = &w->board->metrics;
    atomic_store_explicit(&m->fetched, w->n_fetched, memory_order_relaxed);
    if (w->gens) {
        atomic_store(&m->plugins_loaded, w->gens->active.count);
        atomic_store(&m->generations_live,
                     w->gens->active.count + w->gens->retired.count);
        atomic_store(&m->generations_leaked, (uint32_t)w->gens->leaked);
        atomic_store_explicit(&m->reloads, w->gens->reloads,
                              memory_order_relaxed);
        atomic_store_explicit(&m->reload_failures, w->gens->reload_failures,
                              memory_order_relaxed);
    }
    if (w->ex)
        atomic_store(&m->in_flight, (uint32_t)executor_inflight(w->ex));
    if (w->n_queues == 0)
        return;
    /* Over the queues: counts add up; the worker is as healthy as its
     * least healthy queue (the oldest progress of each kind). */
    unsigned long long reclaimed = 0, poisoned = 0, no_handler = 0,
                       unsupported = 0, reconnects = 0;
    int64_t fetch = now, write = now, lease = now, fetch_every = 0,
            lease_every = 0;
    int up = 1;
    for (size_t i = 0; i < w->n_queues; i++) {
        queue_redis_t *q = w->queues[i].q;
        const queue_health_t *h = queue_redis_health(q);
        reclaimed += h->reclaimed;
        poisoned += h->poisoned;
        no_handler += h->park_no_handler;
        unsupported += h->park_unsupported;
        reconnects += queue_redis_reconnects(q);
        up &= queue_redis_writer_up(q) && queue_redis_reader_up(q);
        /* No free slot (or no job left to take) is not a stalled fetch:
         * the loop waits for a handler, as it should; nor is a queue of
         * several that waits for its share of the slots. */
        int64_t f = h->fetch_ms;
        if (w->phase == PHASE_RUN &&
            (w->n_free == 0 ||
             (w->n_queues > 1 && !w->plan.q[i].reading &&
              w->plan.q[i].refused)))
            f = now;
        if (f < fetch)
            fetch = f;
        if (h->write_ms < write)
            write = h->write_ms;
        if (h->lease_ms < lease)
            lease = h->lease_ms;
        if (queue_redis_fetch_every_ms(q) > fetch_every)
            fetch_every = queue_redis_fetch_every_ms(q);
        if (queue_redis_lease_every_ms(q) > lease_every)
            lease_every = queue_redis_lease_every_ms(q);
    }
    atomic_store_explicit(&m->reclaimed, reclaimed, memory_order_relaxed);
    atomic_store_explicit(&m->poisoned, poisoned, memory_order_relaxed);
    atomic_store_explicit(&m->script_dead[metrics_reason_index(REASON_POISON)],
                          poisoned, memory_order_relaxed);
    atomic_store_explicit(
        &m->script_dead[metrics_reason_index(REASON_NO_HANDLER)], no_handler,
        memory_order_relaxed);
    atomic_store_explicit(
        &m->script_dead[metrics_reason_index(REASON_SCHEMA_UNSUPPORTED)],
        unsupported, memory_order_relaxed);
    atomic_store_explicit(&m->reconnects, reconnects, memory_order_relaxed);
    atomic_store(&m->redis_up, (uint32_t)up);
    atomic_store(&m->fetch_ms, fetch);
    atomic_store(&m->write_ms, write);
    atomic_store(&m->lease_ms, lease);
    atomic_store(&m->fetch_every_ms, fetch_every);
    atomic_store(&m->lease_every_ms, lease_every);
}

void worker_board_stopped_clean(worker_t *w)
{
    if (w->board)
        atomic_store(&w->board->stopped_clean, 1);
}

/* Marks the handlers running past deadline + grace; returns how many
 * slots are overrunning now. */
static int mark_overruns(worker_t *w, int64_t now)
{
    int n = 0;
    for (int i = 0; i < w->cfg->concurrency; i++) {
        struct jobrt_job *j = &w->slots[i];
        board_slot_t *s = &w->board->slots[i];
        if (j->handler == NULL || j->deadline_mono_ms == 0)
            continue;
        uint32_t st = atomic_load(&s->state);
        if (st == BOARD_SLOT_OVERRUN) {
            n++;
            continue;
        }
        if (st != BOARD_SLOT_RUNNING ||
            now < j->deadline_mono_ms + w->cfg->timeout_grace_ms)
            continue;
        uint32_t running = BOARD_SLOT_RUNNING;
        if (!atomic_compare_exchange_strong(&s->state, &running,
                                            BOARD_SLOT_OVERRUN))
            continue; /* it just returned */
        const plugin_handler_t *h = j->handler;
        uint32_t base = h->backoff_base_ms ? h->backoff_base_ms
                                           : (uint32_t)w->cfg->retry_base_ms;
        uint32_t cap = h->backoff_cap_ms ? h->backoff_cap_ms
                                         : (uint32_t)w->cfg->retry_cap_ms;
        s->retry_delay_ms = job_backoff_ms(j->env.attempt, base, cap, &w->rng);
        n++;
        log_job_t lj;
        job_log_fields(j, 0, &lj);
        LOGJW("worker", &lj, "job %s (%s v%u) still runs %lld ms past its "
              "deadline (timeout %u ms) and --timeout-grace %lld ms: this "
              "worker takes no more jobs, lets its other jobs finish, then "
              "the supervisor stops it and the job is recorded as timed out",
              j->id, j->env.job.ptr, j->env.version,
              (long long)(now - j->deadline_mono_ms), j->timeout_ms,
              (long long)w->cfg->timeout_grace_ms);
    }
    return n;
}

static void on_board_tick(uv_timer_t *t)
{
    worker_t *w = t->data;
    board_t *b = w->board;
    int64_t now = util_mono_ms();
    atomic_store_explicit(&b->heartbeat_ms, now, memory_order_relaxed);
    publish_metrics(w, now);
    /* `started` events of the jobs that have run for a tick (nothing when
     * events are off): a job dispatched just before this tick waits for
     * the next one, so a quick job never has one, however the ticks fall;
     * a job still waiting for a limit's answer has not started at all. A
     * job with progress to write has its started event written first, by
     * progress_flush. */
    for (int i = 0; w->n_queues && i < w->cfg->concurrency; i++) {
        struct jobrt_job *j = &w->slots[i];
        if (j->handler == NULL || j->start_event_sent ||
            j->dispatched_mono_ms == 0 ||
            now - j->dispatched_mono_ms < BOARD_TICK_MS)
            continue;
        j->start_event_sent = 1;
        queue_redis_started(worker_job_queue(w, j), j->id, j->env.job.ptr,
                            j->env.job.len, j->env.version, j->env.attempt);
    }
    queue_redis_t *qs[WORKER_MAX_QUEUES];
    for (size_t i = 0; i < w->n_queues; i++)
        qs[i] = w->queues[i].q;
    progress_flush(w->slots, (size_t)w->cfg->concurrency, qs, w->n_queues,
                   &w->progress_json, now);
    if (w->board_done) {
        atomic_fetch_add_explicit(&b->jobs_done, w->board_done,
                                  memory_order_relaxed);
        w->board_done = 0;
    }
    if (w->supervised && atomic_load(&b->hurry))
        worker_stop_waiting(w);
    /* Hard timeouts hold while the worker drains for a stop or a recycle
     * too: a hung handler must not hold up a deploy for the whole
     * --shutdown-timeout and then go back uncharged. */
    if (!w->supervised || w->n_queues == 0 ||
        (w->phase != PHASE_RUN && w->phase != PHASE_DRAIN))
        return;
    if (w->phase == PHASE_RUN && w->gens && w->gens->leaked &&
        !atomic_exchange(&b->restart_wanted, 1))
        LOGI("worker", "a plugin generation leaked on unload (it stays "
             "mapped); the supervisor replaces this worker with a fresh "
             "one, drained first");
    int overrun = mark_overruns(w, util_mono_ms());
    if (w->phase == PHASE_RUN && overrun == 0 && w->overrun_drain &&
        atomic_load(&b->state) == BOARD_DRAINING) {
        /* the overrunning handler returned after all: back to work */
        LOGI("worker", "the overrunning job(s) returned; taking jobs again");
        w->overrun_drain = 0;
        atomic_store(&b->state, BOARD_READY);
        for (size_t i = 0; i < w->n_queues; i++)
            queue_redis_resume_fetching(w->queues[i].q);
    }
    if (overrun == 0)
        return;
    if (!w->overrun_drain) {
        w->overrun_drain = 1;
        atomic_store(&b->state, BOARD_DRAINING);
        for (size_t i = 0; w->phase == PHASE_RUN && i < w->n_queues; i++)
            queue_redis_stop_fetching(w->queues[i].q);
    }
    size_t others = executor_inflight(w->ex) - (size_t)overrun;
    int idle = 1;
    for (size_t i = 0; i < w->n_queues; i++)
        idle &= queue_redis_idle(w->queues[i].q);
    if (others == 0 && idle &&
        atomic_load(&b->state) != BOARD_KILL_ME) {
        LOGW("worker", "%d overrunning job(s) left and nothing else running: "
             "asking the supervisor to stop this worker", overrun);
        atomic_store(&b->state, BOARD_KILL_ME);
    }
}
