/*
 * worker.c - the `run` command; see worker.h.
 *
 * A job's path: queue_redis fetches an entry -> on_entry() copies it into a
 * free job slot and validates the envelope -> the router picks the handler
 * (or the entry is dead-lettered: invalid_envelope, no_handler,
 * schema_unsupported) -> the executor runs it on a worker thread ->
 * on_done() applies outcome_decide(): ack + record, requeue, or
 * dead-letter. Slots are bounded by --concurrency and fetching asks only
 * for as many entries as there are free slots.
 *
 * Shutdown (SIGTERM/SIGINT): stop fetching; let running jobs finish for
 * up to --shutdown-timeout. For the last --shutdown-grace of that time
 * (all of it when the grace is longer) the jobs still running have their
 * cancel flag set, so handlers see job_cancel_requested() and can stop
 * cleanly: what a handler returns then is applied as usual (a JOBRT_RETRY
 * after the flag hands the job back at once without counting an attempt).
 * At the end of the timeout, acks are flushed and every entry still
 * pending for this worker is released back to the stream so another
 * worker picks it up at once. A second signal skips the wait.
 */
#include "exec/worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "exec/outcome.h"
#include "exec/worker_internal.h"
#include "plugin/host_api.h"
#include "plugin/probe.h"
#include "queue/scripts.h"

static void check_shutdown(worker_t *w);

/* Slot buffers keep their memory for reuse, but not after an unusually
 * large entry: one huge payload must not pin memory for the worker's life. */
#define SLOT_KEEP_BYTES (256 * 1024)

void worker_slot_put(worker_t *w, struct jobrt_job *job)
{
    if (job->raw.cap > SLOT_KEEP_BYTES)
        buf_free(&job->raw);
    if (job->result.cap > SLOT_KEEP_BYTES)
        buf_free(&job->result);
    job->next = w->free_list;
    w->free_list = job;
    w->n_free++;
}

static struct jobrt_job *slot_get(worker_t *w)
{
    struct jobrt_job *job = w->free_list;
    if (job) {
        w->free_list = job->next;
        w->n_free--;
    }
    return job;
}

/* ---- queue callbacks ---------------------------------------------------- */

static void on_entry(void *arg, const char *stream_id, const strview_t *fv,
                     size_t n, uint32_t deliveries)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    w->n_fetched++;
    if (w->phase != PHASE_RUN)
        return; /* stays pending; released before exit */
    struct jobrt_job *job =
        w->overrun_drain || worker_jobs_left(w) == 0 ? NULL : slot_get(w);
    if (job == NULL) {
        /* More entries than slots (a reclaim and an unpark answered for
         * the same free slots), or a read that was out when a handler
         * overran (worker_board.c): hand it back at once rather than leave
         * it pending here, unrenewed, until its lease runs out. */
        log_job_t lj = {.stream_id = stream_id, .queue = wq->name};
        LOGJD("worker", &lj, "entry %s arrived with no free slot; handed "
              "back", stream_id);
        queue_redis_give_back(wq->q, stream_id, stream_id, fv, n, deliveries);
        return;
    }
    job->queue = wq->name;
    job->queue_index = wq->index;
    char why[512];
    if (worker_over_limits(w, job, stream_id, fv, n, deliveries)) {
        worker_slot_put(w, job);
        return;
    }
    int rc = job_load_entry(job, stream_id, fv, n, why, sizeof why);
    if (rc == -2) {
        log_job_t lj = {.stream_id = stream_id, .queue = wq->name};
        LOGJE("worker", &lj, "out of memory copying entry %s; it stays "
              "pending", stream_id);
        worker_slot_put(w, job);
        return;
    }
    if (rc == -1) {
        job->deliveries = deliveries;
        worker_dead_letter(w, job, REASON_INVALID_ENVELOPE, why);
        worker_slot_put(w, job);
        return;
    }
    job->deliveries = deliveries;
    if (worker_dispatch_checks(w, job))
        return;
    if (queue_redis_job_disabled(wq->q, job->env.job.ptr, job->env.job.len)) {
        worker_park_disabled(w, job);
        worker_slot_put(w, job);
        return;
    }
    const plugin_handler_t *h;
    route_status_t st = router_acquire(w->gens->router, job->env.job.ptr,
                                       job->env.job.len, job->env.version, &h);
    if (st != ROUTE_OK) {
        worker_unserved(w, job, st);
        worker_slot_put(w, job);
        return;
    }
    job->handler = h;
    job->max_attempts = h->max_attempts ? h->max_attempts
                                        : (uint32_t)w->cfg->max_attempts;
    if (job->env.max_attempts && job->env.max_attempts < job->max_attempts)
        job->max_attempts = job->env.max_attempts;
    job->timeout_ms = h->timeout_ms ? h->timeout_ms
                                    : (uint32_t)w->cfg->job_timeout_ms;
    if (job->env.timeout_ms) /* the producer's, for this job */
        job->timeout_ms = job->env.timeout_ms;
    if (job->timeout_ms > w->cfg->max_timeout_ms)
        job->timeout_ms = (uint32_t)w->cfg->max_timeout_ms;
    job->max_payload = (size_t)w->cfg->max_payload;
    if (worker_limits_gate(w, job))
        return; /* a limit holds it: dispatched, or requeued, later */
    worker_dispatch(w, job);
}

void worker_dispatch(worker_t *w, struct jobrt_job *job)
{
    /* Set here, on the loop thread, which reads it for leases. */
    job->dispatched_ms = util_now_ms();
    job->deadline_ms = job->timeout_ms ? job->dispatched_ms + job->timeout_ms
                                       : 0;
    /* hard timeouts go by the monotonic clock: a clock step stops nobody */
    job->dispatched_mono_ms = util_mono_ms();
    job->deadline_mono_ms = job->timeout_ms
                                ? job->dispatched_mono_ms + job->timeout_ms
                                : 0;
    worker_board_dispatch(w, job);
    /* pickup lag: from when the entry was added (its id, Redis's clock) */
    metrics_count_lag(&w->board->metrics,
                      job->dispatched_ms - strtoll(job->stream_id, NULL, 10));
    /* lifecycle events (queue/events.h): its `started` event is written at
     * the first board tick after it has run for 100 ms (worker_board.c); a
     * job done sooner has its completed, retried or dead_lettered event only,
     * which keeps a drain with events on at one event per job */
    job->start_event_sent = 0;
    executor_submit(w->ex, job);
    w->n_dispatched++;
}

static int is_inflight(void *arg, const char *stream_id)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    for (int i = 0; i < w->cfg->concurrency; i++) {
        const struct jobrt_job *j = &w->slots[i];
        if (j->handler && j->queue_index == wq->index &&
            strcmp(j->stream_id, stream_id) == 0)
            return 1;
    }
    return 0;
}

/* Every queue's writer is up (the worker takes jobs from all). */
static int writers_up(const worker_t *w)
{
    if (w->n_queues == 0)
        return 0;
    for (size_t i = 0; i < w->n_queues; i++)
        if (!queue_redis_writer_up(w->queues[i].q))
            return 0;
    return 1;
}

/* Every queue has confirmed what it was asked to write. */
static int queues_idle(const worker_t *w)
{
    for (size_t i = 0; i < w->n_queues; i++)
        if (!queue_redis_idle(w->queues[i].q))
            return 0;
    return 1;
}

static void flush_all(worker_t *w)
{
    for (size_t i = 0; i < w->n_queues; i++)
        queue_redis_flush(w->queues[i].q);
}

static void on_progress(void *arg)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    if (writers_up(w))
        worker_board_ready(w);
    check_shutdown(w);
}

static void on_cancelled(void *arg, const char *job_id)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    if (idset_add(wq->cancelled, job_id) != 1)
        return;
    for (int i = 0; i < w->cfg->concurrency; i++) {
        struct jobrt_job *j = &w->slots[i];
        if (j->handler && j->queue_index == wq->index &&
            strcmp(j->id, job_id) == 0) {
            atomic_store(&j->cancel, JOB_CANCEL_USER);
            log_job_t lj;
            job_log_fields(j, 0, &lj);
            LOGJI("worker", &lj, "job %s: cancel requested while running; "
                  "its handler sees job_cancel_requested()", job_id);
        }
    }
}

/* Running jobs whose leases to renew: a job keeps its lease until its
 * deadline; a handler stuck past it stops renewing, so after one more
 * lease another worker takes the job over (and counts the delivery). */
static size_t lease_ids(void *arg, const char **ids, size_t max)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    size_t n = 0;
    int64_t now = util_now_ms();
    for (int i = 0; i < w->cfg->concurrency; i++) {
        struct jobrt_job *j = &w->slots[i];
        if (j->handler == NULL || j->queue_index != wq->index)
            continue;
        /* Under a supervisor a handler past its deadline is ended by a
         * hard stop (worker_board.c): until then nobody else may start
         * it. */
        if (j->deadline_ms == 0 || now < j->deadline_ms || w->supervised) {
            if (n < max)
                ids[n++] = j->stream_id;
        } else if (!j->overdue_logged && !w->supervised) {
            j->overdue_logged = 1;
            log_job_t lj;
            job_log_fields(j, 0, &lj);
            LOGJW("worker", &lj, "job %s (%s v%u) is still running %lld ms "
                  "past its deadline (timeout %u ms) and ignores "
                  "job_cancel_requested(); its lease is no longer renewed, "
                  "so another worker may take it over after --lease", j->id,
                  j->env.job.ptr, j->env.version,
                  (long long)(now - j->deadline_ms), j->timeout_ms);
        }
    }
    return n;
}

/* ---- executor callback -------------------------------------------------- */

static void on_done(void *arg, struct jobrt_job *done)
{
    worker_t *w = arg;
    while (done) {
        struct jobrt_job *job = done;
        done = job->next;
        const char *reason;
        queue_redis_t *q = worker_job_queue(w, job);
        log_job_t lj; /* filled only for a line that is written */
        if (w->phase == PHASE_RELEASE || w->phase == PHASE_DONE) {
            /* Its entry was already released for redelivery. */
            job_log_fields(job, 0, &lj);
            LOGJI("worker", &lj, "job %s finished after shutdown released "
                  "it; it will run again elsewhere", job->id);
        } else {
            switch (outcome_decide(job, &reason)) {
            case ACTION_ACK:
                /* before the ack: it goes out in the same batch */
                queue_redis_completed(q, job->id, job->env.job.ptr,
                                      job->env.job.len, job->env.version,
                                      job->env.attempt);
                if (w->cfg->result_ttl_ms > 0) {
                    const outcome_build_t *bd =
                        job->handler
                            ? outcome_build_of(&w->builds,
                                               job->handler->plugin,
                                               w->consumer)
                            : NULL;
                    /* out of memory: acked without a record */
                    int rec = outcome_success_record(&w->record, job,
                                                     bd ? bd->key : "") == 0;
                    queue_build_t qb = {0};
                    if (bd)
                        qb = (queue_build_t){bd->key, bd->json.data,
                                             bd->json.len};
                    queue_redis_complete(q, job->stream_id, job->id,
                                         rec ? w->record.data : NULL,
                                         w->record.len, bd ? &qb : NULL);
                } else { /* --result-ttl 0: no record to build */
                    queue_redis_complete(q, job->stream_id, job->id, NULL,
                                         0, NULL);
                }
                w->n_ok++;
                w->queues[job->queue_index].n_ok++;
                worker_count(w, job, OUTCOME_SUCCEEDED, NULL);
                if (log_enabled(JOBRT_LOG_DEBUG)) { /* the hot path */
                    job_log_fields(job, 0, &lj);
                    log_job(JOBRT_LOG_DEBUG, "worker", &lj, "job %s (%s v%u) "
                            "succeeded in %lld ms", job->id, job->env.job.ptr,
                            job->env.version,
                            (long long)(job->finished_ms - job->started_ms));
                }
                break;
            case ACTION_RETRY: {
                uint32_t delay = job->retry_after_ms;
                if (delay == 0) {
                    const plugin_handler_t *h = job->handler;
                    uint32_t base = h->backoff_base_ms
                                        ? h->backoff_base_ms
                                        : (uint32_t)w->cfg->retry_base_ms;
                    uint32_t cap = h->backoff_cap_ms
                                       ? h->backoff_cap_ms
                                       : (uint32_t)w->cfg->retry_cap_ms;
                    delay = job_backoff_ms(job->env.attempt, base, cap,
                                           &w->rng);
                }
                job_log_fields(job, 1, &lj);
                LOGJI("worker", &lj, "job %s (%s v%u) attempt %u/%u failed, "
                      "retry in %u ms: %s", job->id, job->env.job.ptr,
                      job->env.version, job->env.attempt, job->max_attempts,
                      delay, job->error);
                queue_redis_requeue(q, job->stream_id, job->id,
                                    job->fields, job->n_fields,
                                    job->env.attempt + 1, job->error, delay,
                                    0);
                w->n_retry++;
                w->queues[job->queue_index].n_retry++;
                worker_count(w, job, OUTCOME_RETRIED, NULL);
                break;
            }
            case ACTION_DEAD:
                worker_dead_letter(w, job, reason, job->error);
                break;
            case ACTION_RELEASE:
                job_log_fields(job, 0, &lj);
                LOGJI("worker", &lj, "job %s (%s v%u) stopped for shutdown; "
                      "handed back for redelivery, attempt %u not counted",
                      job->id, job->env.job.ptr, job->env.version,
                      job->env.attempt);
                queue_redis_requeue(q, job->stream_id, job->id,
                                    job->fields, job->n_fields, 0, NULL, 0,
                                    0);
                worker_count(w, job, OUTCOME_RELEASED, NULL);
                break;
            }
        }
        worker_limits_settled(w, job);
        router_release(job->handler);
        job->handler = NULL;
        worker_board_settled(w, job);
        worker_slot_put(w, job);
    }
    if (w->gens->retired.head)
        worker_reap(w); /* a drained generation unloads now */
    flush_all(w);
    worker_poke_all(w);
    check_shutdown(w);
}

/* ---- shutdown ----------------------------------------------------------- */

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void finish(worker_t *w)
{
    if (w->phase == PHASE_RELEASE && w->n_queues && queues_idle(w))
        worker_board_stopped_clean(w); /* everything is handed back */
    w->phase = PHASE_DONE;
    size_t running = executor_inflight(w->ex);
    if (w->exit_code == 0) /* else the one line saying why is out */
        LOGI("worker", "stopped: %llu succeeded, %llu retried, %llu "
             "dead-lettered%s", w->n_ok, w->n_retry, w->n_dead,
             running ? "; exiting with handlers still running" : "");
    /* the last first: queue 0 holds the queue index's connection the
     * others share (opts.index_of) */
    for (size_t i = w->n_queues; i-- > 0;) {
        queue_redis_destroy(w->queues[i].q);
        w->queues[i].q = NULL;
    }
    w->n_queues = 0;
    executor_destroy(w->ex, running > 0);
    w->ex = NULL;
    uv_signal_stop(&w->sigterm);
    uv_signal_stop(&w->sigint);
    close_handle((uv_handle_t *)&w->sigterm);
    close_handle((uv_handle_t *)&w->sigint);
    worker_reload_triggers_stop(w);
    worker_board_stop(w);
    worker_summary_stop(w);
    worker_limits_stop(w);
    uv_timer_stop(&w->stop_timer);
    close_handle((uv_handle_t *)&w->stop_timer);
    if (w->poke_timer.data) {
        uv_timer_stop(&w->poke_timer);
        close_handle((uv_handle_t *)&w->poke_timer);
    }
}

static void check_shutdown(worker_t *w)
{
    int64_t now = util_mono_ms();
    if (w->phase == PHASE_DRAIN) {
        size_t running = executor_inflight(w->ex);
        if (running > 0 && now >= w->cancel_at && !w->cancel_sent) {
            w->cancel_sent = 1;
            LOGI("worker", "shutdown: %zu job(s) still running; their "
                 "handlers see job_cancel_requested() now and have %lld ms "
                 "to return", running,
                 (long long)(w->stop_at > now ? w->stop_at - now : 0));
            executor_cancel_all(w->ex);
        }
        if (running > 0 && now < w->stop_at)
            return;
        if (running > 0)
            LOGW("worker", "%s: %zu job(s) still running; releasing their "
                 "entries for redelivery", w->second_signal ? "second signal"
                 : "shutdown timeout", running);
        if (w->n_fetched == 0 && !writers_up(w)) {
            /* Never held a job (Redis was never reached): nothing to
             * confirm or hand back. */
            finish(w);
            return;
        }
        flush_all(w);
        w->phase = PHASE_RELEASE;
        w->release_deadline = now + 5000;
        for (size_t i = 0; i < w->n_queues; i++)
            queue_redis_release_pending(w->queues[i].q);
    }
    if (w->phase == PHASE_RELEASE) {
        if (queues_idle(w)) {
            finish(w);
        } else if (now >= w->release_deadline) {
            LOGW("worker", "could not confirm acks/releases with Redis before "
                 "exiting; unconfirmed jobs stay pending in Redis and will be "
                 "redelivered");
            finish(w);
        }
    }
}

static void on_stop_timer(uv_timer_t *t) { check_shutdown(t->data); }

void worker_stop_waiting(worker_t *w)
{
    if (w->phase != PHASE_DRAIN || w->second_signal)
        return;
    LOGW("worker", "told to stop now: not waiting for running jobs");
    w->second_signal = 1;
    w->cancel_at = w->stop_at = util_mono_ms();
    check_shutdown(w);
}

/* Stop taking jobs; wait for the running ones (check_shutdown). */
static void start_drain(worker_t *w, const char *why)
{
    int64_t now = util_mono_ms(), grace = w->cfg->shutdown_grace_ms;
    if (grace > w->cfg->shutdown_timeout_ms)
        grace = w->cfg->shutdown_timeout_ms;
    LOGI("worker", "%s: stopping; waiting up to %lld ms for %zu running "
         "job(s), cancelling those still running for the last %lld ms",
         why, (long long)w->cfg->shutdown_timeout_ms,
         executor_inflight(w->ex), (long long)grace);
    w->phase = PHASE_DRAIN;
    worker_board_draining(w);
    w->stop_at = now + w->cfg->shutdown_timeout_ms;
    w->cancel_at = w->stop_at - grace;
    for (size_t i = 0; i < w->n_queues; i++)
        queue_redis_stop_fetching(w->queues[i].q);
    uv_timer_start(&w->stop_timer, on_stop_timer, 100, 100);
}

static void on_signal(uv_signal_t *s, int signum)
{
    worker_t *w = s->data;
    const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (w->supervised && w->phase != PHASE_RUN) {
        /* systemd's SIGTERM and the supervisor's both reach a worker:
         * one drain. A second signal to the supervisor is what hurries
         * (the board's hurry flag). */
        LOGD("worker", "%s: already stopping", name);
        return;
    }
    if (w->phase == PHASE_RUN) {
        start_drain(w, name);
    } else if (w->phase == PHASE_DRAIN) {
        LOGW("worker", "second %s: not waiting for running jobs", name);
        w->second_signal = 1;
        w->cancel_at = w->stop_at = util_mono_ms();
    } else if (w->phase == PHASE_RELEASE) {
        LOGW("worker", "%s while handing jobs back: exiting now; what was "
             "not confirmed stays leased and is reclaimed after --lease",
             name);
        finish(w);
        return;
    }
    check_shutdown(w);
}

/* The queue met an error retrying cannot fix before it was ever fully up
 * (a wrong password, an unknown db, a missing ACL permission): nothing was
 * fetched. One line, then exit 1. */
static void on_queue_fatal(void *arg, const char *line)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    if (w->phase == PHASE_DONE)
        return; /* another queue said it first */
    LOGE("worker", "cannot start: %s", line);
    worker_board_fatal(w, line);
    w->exit_code = 1;
    if (w->n_fetched > 0 && w->phase == PHASE_RUN) {
        /* another queue of this worker already took jobs: hand them back
         * as at a stop, do not drop them */
        start_drain(w, "a queue cannot start");
        check_shutdown(w);
        return;
    }
    if (w->phase == PHASE_RUN)
        finish(w);
}

/* ---- start -------------------------------------------------------------- */

static int setup(worker_t *w)
{
    const worker_config_t *cfg = w->cfg;
    char err[512];
    if (redis_target_copy(&w->target, cfg->redis) != 0) {
        LOGE("worker", "out of memory");
        return 1;
    }
    snprintf(w->host, sizeof w->host, "host");
    gethostname(w->host, sizeof w->host - 1);
    w->started_ms = util_now_ms();
    if (cfg->consumer && cfg->board_fd >= 0) {
        /* one of a supervisor's workers: each needs its own name */
        snprintf(w->consumer, sizeof w->consumer, "%.200s-%d", cfg->consumer,
                 (int)getpid());
    } else if (cfg->consumer) {
        snprintf(w->consumer, sizeof w->consumer, "%s", cfg->consumer);
    } else {
        snprintf(w->consumer, sizeof w->consumer, "%.200s-%d", w->host,
                 (int)getpid());
    }
    if (worker_board_start(w) != 0)
        return 1;
    w->loader = loader_create(cfg->run_dir, host_api_get(), err, sizeof err);
    if (w->loader == NULL) {
        LOGE("loader", "%s", err);
        return 1;
    }
    if (cfg->insecure_plugin_dir)
        loader_set_insecure(w->loader);
    if (cfg->probe_timeout_ms > 0) {
        /* each new or changed file is first tried in a child process */
        char exe[4096];
        if (probe_self_exe(exe, sizeof exe, err, sizeof err) != 0 ||
            loader_set_probe(w->loader, exe, cfg->probe_timeout_ms) != 0) {
            LOGE("loader", "cannot set up the plugin probe: %s", err);
            return 1;
        }
    }
    if (worker_load_plugins(w) != 0)
        return 1;
    w->slots = calloc((size_t)cfg->concurrency, sizeof *w->slots);
    if (w->slots == NULL) {
        LOGE("worker", "out of memory");
        return 1;
    }
    for (int i = cfg->concurrency - 1; i >= 0; i--) {
        w->slots[i].queue = cfg->queues[0];
        worker_slot_put(w, &w->slots[i]);
    }
    worker_board_link_slots(w);

    w->ex = executor_create(&w->loop, cfg->concurrency, on_done, w);
    if (w->ex == NULL)
        return 1;
    queue_redis_opts_t qo = {
        .target = &w->target,
        .ns = cfg->ns,
        .group = cfg->group,
        .consumer = w->consumer,
        .result_ttl_s = (cfg->result_ttl_ms + 999) / 1000,
        .failure_ttl_s = (cfg->failure_ttl_ms + 999) / 1000,
        .dlq_max_len = cfg->dlq_max_len,
        .block_ms = 5000,
        .lease_ms = cfg->lease_ms,
        .max_deliveries = cfg->max_deliveries,
        .slots = cfg->concurrency,
        .park_ttl_ms = cfg->park_ttl_ms,
        .wait_replicas = (int)cfg->wait_replicas,
        .wait_timeout_ms = cfg->wait_timeout_ms,
        .limit_flags = cfg->limit_flags,
        .n_limit_flags = cfg->n_limit_flags,
    };
    queue_callbacks_t cb = {
        .on_entry = on_entry,
        .capacity = worker_fetch_capacity,
        .is_inflight = is_inflight,
        .on_progress = on_progress,
        .on_cancelled = on_cancelled,
        .lease_ids = lease_ids,
        .on_fatal = on_queue_fatal,
        .heartbeat_record = worker_heartbeat_record,
        .on_reload_request = worker_on_reload_request,
        .read_grant = worker_fetch_grant,
        .read_done = worker_fetch_done,
        .held_limits = worker_limits_held,
    };
    w->rng = (uint64_t)util_now_ms() ^ ((uint64_t)getpid() << 32);
    uv_timer_init(&w->loop, &w->poke_timer);
    w->poke_timer.data = w;
    fetch_plan_init(&w->plan, (size_t)cfg->n_queues, cfg->weights,
                    cfg->strict_priority, (size_t)cfg->concurrency);
    for (int i = 0; i < cfg->n_queues; i++) {
        worker_queue_t *wq = &w->queues[i];
        wq->w = w;
        wq->index = (uint32_t)i;
        wq->name = cfg->queues[i];
        wq->cancelled = idset_create(QUEUE_CANCELS_REMEMBERED);
        if (wq->cancelled == NULL) {
            LOGE("worker", "out of memory");
            return 1;
        }
        rate_window_add(&wq->settle_rate, (int64_t)uv_now(&w->loop), 0);
        qo.queue = wq->name;
        qo.index_of = i > 0 ? w->queues[0].q : NULL;
        cb.arg = wq;
        wq->q = queue_redis_create(&w->loop, &qo, &cb, err, sizeof err);
        if (wq->q == NULL) {
            LOGE("worker", "%s", err);
            return 2;
        }
        w->n_queues++;
    }
    return 0;
}

int worker_run(const worker_config_t *cfg)
{
    worker_t w;
    memset(&w, 0, sizeof w);
    w.cfg = cfg;
    /* SIGHUP means "reload" to a worker: one that arrives while the plugins
     * load at start must not kill it (the handler comes later). */
    signal(SIGHUP, SIG_IGN);
    uv_loop_init(&w.loop);
    int rc = setup(&w);
    if (rc == 0)
        rc = worker_reload_triggers_start(&w); /* --watch may fail */
    if (rc != 0) {
        char line[512];
        log_last_error(line, sizeof line);
        worker_board_fatal(&w, line[0] ? line : "see the lines above");
    }
    if (rc == 0) {
        uv_signal_init(&w.loop, &w.sigterm);
        uv_signal_init(&w.loop, &w.sigint);
        w.sigterm.data = w.sigint.data = &w;
        uv_signal_start(&w.sigterm, on_signal, SIGTERM);
        uv_signal_start(&w.sigint, on_signal, SIGINT);
        uv_timer_init(&w.loop, &w.stop_timer);
        w.stop_timer.data = &w;
        worker_limits_start(&w);
        char queues[WORKER_MAX_QUEUES * 140] = "";
        size_t at = 0;
        for (int i = 0; i < cfg->n_queues && at < sizeof queues; i++)
            at += (size_t)snprintf(queues + at, sizeof queues - at,
                                   cfg->n_queues == 1 ? "%s" : "%s%s:%u",
                                   i ? ", " : "", cfg->queues[i],
                                   cfg->weights[i]);
        if (cfg->n_queues == 1)
            snprintf(queues, sizeof queues, "%s", cfg->queues[0]);
        LOGI("worker", "jobrt worker %s: %s %s%s on %s, %d slot(s), %u "
             "plugin(s)%s", w.consumer, cfg->n_queues > 1 ? "queues"
             : "queue", queues, cfg->strict_priority && cfg->n_queues > 1
             ? " (strict priority)" : "", w.target.display,
             cfg->concurrency, w.gens->active.count,
             cfg->watch ? ", watching the plugin dir" : "");
        worker_publish_served(&w);
        worker_summary_start(&w);
        for (size_t i = 0; i < w.n_queues; i++)
            queue_redis_start(w.queues[i].q);
        uv_run(&w.loop, UV_RUN_DEFAULT);
    } else {
        worker_reload_triggers_stop(&w);
        worker_board_stop(&w);
        if (w.ex)
            executor_destroy(w.ex, 0);
        w.ex = NULL;
        for (size_t i = w.n_queues; i-- > 0;)
            queue_redis_destroy(w.queues[i].q);
        w.n_queues = 0;
        if (w.poke_timer.data)
            close_handle((uv_handle_t *)&w.poke_timer);
        uv_run(&w.loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&w.loop) != 0)
        LOGD("worker", "event loop closed with handles still open");
    /* Unload plugins only if no handler can still be running. */
    int handlers_running = w.gens && generations_inflight(w.gens) != 0;
    if (!handlers_running) {
        generations_destroy(w.gens);
        for (int i = 0; w.slots && i < cfg->concurrency; i++)
            job_free_buffers(&w.slots[i]);
        free(w.slots);
        buf_free(&w.record);
        outcome_builds_free(&w.builds);
        buf_free(&w.heartbeat);
        buf_free(&w.outcome);
    }
    if (handlers_running) {
        /* A handler is still inside plugin code on a detached thread:
         * returning would run exit handlers and unmap plugins under it.
         * Everything that matters is in Redis already. */
        _exit(rc ? rc : w.exit_code); /* finish() said so */
    }
    loader_destroy(w.loader);
    for (int i = 0; i < WORKER_MAX_QUEUES; i++)
        idset_destroy(w.queues[i].cancelled);
    redis_target_free(&w.target);
    return rc ? rc : w.exit_code;
}
