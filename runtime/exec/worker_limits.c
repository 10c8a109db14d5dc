/*
 * worker_limits.c - the fleet's limits per (queue, job), the worker's
 * side (docs/flow-control.md, "Rate limits" and "Concurrency limits").
 * A routed job whose (queue, job) has a limit (as the queue last read its
 * :limits hash) keeps its slot and waits here, without running, for the
 * limit's answer: the jobs that wait are asked for in one batch per
 * (queue, job) on the next loop turn, one script call each (a read of k
 * entries of one job is one round trip, not k).
 *
 * Rate: LIMIT_RESERVE gives each job its own slot. A slot within the
 * burst's tolerance of now starts now; a later one goes to the delayed
 * set until its slot (attempt not counted), with field rate_slot, so that
 * when promote brings it back it starts without asking again. Then the
 * concurrency limit, if any: LIMIT_ACQUIRE grants a slot (renewed with
 * the leases, given back when the job settles) or denies it, and a
 * denied job waits in the delayed set 100 ms, doubling to 2 s, with
 * jitter, then asks again. That is the one place limits poll: no one
 * tells a waiting job when a slot frees up, and a wake-up list in Redis
 * would have to survive workers that die. Jobs with no limit never come
 * here and cost no round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "exec/worker_internal.h"

enum { STAGE_RATE = 1, STAGE_CONC = 2 };

/* The most jobs of one (queue, job) asked in one call. */
#define LIMIT_ASK_MAX 1000
/* After a failed call (connection lost, an error reply): try again. */
#define LIMIT_ERROR_DELAY_MS 1000

typedef struct {
    worker_t *w;
    int stage;
    uint32_t queue_index;
    double rate, burst; /* the limit the batch asked under */
    size_t n;
    struct jobrt_job *jobs[];
} limit_batch_t;

static const limit_t *limit_of(worker_t *w, const struct jobrt_job *job)
{
    return queue_redis_limit(worker_job_queue(w, job), job->env.job.ptr,
                             job->env.job.len);
}

/* The value of field name of the job's entry as a number, 0 if none. */
static int64_t field_num(const struct jobrt_job *job, const char *name)
{
    for (size_t i = 0; i + 1 < job->n_fields; i += 2)
        if (strview_is(&job->fields[i], name)) {
            uint64_t v;
            if (util_parse_u64(job->fields[i + 1].ptr,
                               job->fields[i + 1].len, (uint64_t)INT64_MAX,
                               &v) == 0)
                return (int64_t)v;
            return 0;
        }
    return 0;
}

static void on_limit_timer(uv_timer_t *t);

void worker_limits_start(worker_t *w)
{
    uv_timer_init(&w->loop, &w->limit_timer);
    w->limit_timer.data = w;
    w->limit_timer_open = 1;
}

void worker_limits_stop(worker_t *w)
{
    if (!w->limit_timer_open)
        return;
    w->limit_timer_open = 0;
    uv_timer_stop(&w->limit_timer);
    uv_close((uv_handle_t *)&w->limit_timer, NULL);
}

static void wait_for(worker_t *w, struct jobrt_job *job, int stage)
{
    job->limit_stage = stage;
    job->next = NULL;
    if (w->limit_tail)
        w->limit_tail->next = job;
    else
        w->limit_head = job;
    w->limit_tail = job;
    if (w->limit_timer_open && !uv_is_active((uv_handle_t *)&w->limit_timer))
        uv_timer_start(&w->limit_timer, on_limit_timer, 0, 0);
}

int worker_limits_gate(worker_t *w, struct jobrt_job *job)
{
    job->limit_held = 0;
    job->limit_stage = 0;
    job->rate_slot_ms = field_num(job, QUEUE_FIELD_RATE_SLOT);
    const limit_t *l = limit_of(w, job);
    if (l == NULL)
        return 0;
    if (l->rate_per_s > 0 && job->rate_slot_ms == 0) {
        wait_for(w, job, STAGE_RATE);
        return 1;
    }
    if (l->concurrency > 0) {
        wait_for(w, job, STAGE_CONC);
        return 1;
    }
    return 0;
}

/* The job lets go of its slot here without running. */
static void drop(worker_t *w, struct jobrt_job *job)
{
    job->limit_stage = 0;
    router_release(job->handler);
    job->handler = NULL;
    worker_slot_put(w, job);
}

/* Back to the delayed set (attempt not counted), or at once to the tail
 * (delay 0, due 0: a worker that is stopping hands it back). */
static void hold_back(worker_t *w, struct jobrt_job *job, uint32_t delay_ms,
                      int64_t due_ms, uint32_t waits)
{
    queue_redis_requeue_limited(worker_job_queue(w, job), job->stream_id,
                                job->id, job->fields, job->n_fields,
                                delay_ms, due_ms, job->rate_slot_ms, waits);
    drop(w, job);
}

/* Past one stage: the next, or the handler. */
static void go_on(worker_t *w, struct jobrt_job *job, int done)
{
    const limit_t *l = limit_of(w, job);
    if (w->phase != PHASE_RUN || w->overrun_drain) {
        hold_back(w, job, 0, 0, 0); /* stopping: another worker runs it */
        return;
    }
    if (done < STAGE_CONC && l && l->concurrency > 0) {
        wait_for(w, job, STAGE_CONC);
        return;
    }
    job->limit_stage = 0;
    worker_dispatch(w, job);
}

static void batch_answered(void *ctx, int ok, int64_t now,
                           const long long *v, size_t n)
{
    limit_batch_t *b = ctx;
    worker_t *w = b->w;
    int gone = w->phase == PHASE_RELEASE || w->phase == PHASE_DONE;
    int64_t tol = limit_tolerance_ms(b->rate, b->burst);
    for (size_t i = 0; i < b->n; i++) {
        struct jobrt_job *job = b->jobs[i];
        uint32_t waits = (uint32_t)field_num(job, QUEUE_FIELD_LIMIT_WAITS);
        if (gone) {
            /* released with everything pending for us: nothing to do
             * but let go (a granted slot goes back with its lease) */
            drop(w, job);
        } else if (!ok || i >= n) {
            hold_back(w, job, LIMIT_ERROR_DELAY_MS, 0, waits);
        } else if (b->stage == STAGE_RATE) {
            int64_t slot = (int64_t)v[i];
            if (slot - now <= tol) {
                go_on(w, job, STAGE_RATE);
            } else {
                job->rate_slot_ms = slot;
                log_job_t lj;
                job_log_fields(job, 0, &lj);
                LOGJD("worker", &lj, "job %s waits %lld ms for its rate slot",
                      job->id, (long long)(slot - now));
                hold_back(w, job, 0, slot, waits);
            }
        } else if (v[i] == 1) {
            job->limit_held = 1;
            if (w->phase != PHASE_RUN || w->overrun_drain) {
                worker_limits_settled(w, job);
                hold_back(w, job, 0, 0, 0);
            } else {
                job->limit_stage = 0;
                worker_dispatch(w, job);
            }
        } else {
            uint32_t d = limit_deny_backoff_ms(waits, &w->rng);
            log_job_t lj;
            job_log_fields(job, 0, &lj);
            LOGJD("worker", &lj, "job %s: no concurrency slot free (denied "
                  "%u time(s)); asks again in %u ms", job->id, waits + 1, d);
            hold_back(w, job, d, 0, waits + 1);
        }
    }
    if (!gone) {
        queue_redis_flush(w->queues[b->queue_index].q);
        worker_poke_all(w);
    }
    free(b);
}

/* Sends the batch of jobs[0..n), all of one (queue, job, stage). */
static void ask(worker_t *w, struct jobrt_job **jobs, size_t n, int stage)
{
    struct jobrt_job *first = jobs[0];
    queue_redis_t *q = worker_job_queue(w, first);
    const limit_t *l = limit_of(w, first);
    int still = l && (stage == STAGE_RATE ? l->rate_per_s > 0
                                          : l->concurrency > 0);
    if (!still) { /* the limit went meanwhile */
        for (size_t i = 0; i < n; i++)
            go_on(w, jobs[i], stage);
        return;
    }
    limit_batch_t *b = malloc(sizeof *b + n * sizeof b->jobs[0]);
    if (b == NULL) {
        for (size_t i = 0; i < n; i++)
            hold_back(w, jobs[i], LIMIT_ERROR_DELAY_MS, 0, 0);
        return;
    }
    b->w = w;
    b->stage = stage;
    b->queue_index = first->queue_index;
    b->rate = l->rate_per_s;
    b->burst = limit_burst(l);
    b->n = n;
    memcpy(b->jobs, jobs, n * sizeof jobs[0]);
    int rc;
    if (stage == STAGE_RATE) {
        rc = queue_redis_rate_reserve(q, first->env.job.ptr, n, b->rate,
                                      batch_answered, b);
    } else {
        const char *ids[LIMIT_ASK_MAX];
        for (size_t i = 0; i < n; i++)
            ids[i] = jobs[i]->stream_id;
        rc = queue_redis_conc_acquire(q, first->env.job.ptr, l->concurrency,
                                      ids, n, batch_answered, b);
    }
    if (rc != 0)
        batch_answered(b, 0, 0, NULL, 0);
}

static int same(const struct jobrt_job *a, const struct jobrt_job *b)
{
    return a->queue_index == b->queue_index &&
           a->limit_stage == b->limit_stage &&
           a->env.job.len == b->env.job.len &&
           memcmp(a->env.job.ptr, b->env.job.ptr, a->env.job.len) == 0;
}

static void on_limit_timer(uv_timer_t *t)
{
    worker_t *w = t->data;
    struct jobrt_job *list = w->limit_head;
    w->limit_head = w->limit_tail = NULL;
    struct jobrt_job *group[LIMIT_ASK_MAX];
    while (list) {
        /* take the first job and every later one like it */
        struct jobrt_job *first = list;
        list = list->next;
        size_t n = 0;
        group[n++] = first;
        struct jobrt_job *rest = NULL, **rest_tail = &rest;
        for (struct jobrt_job *j = list; j;) {
            struct jobrt_job *nx = j->next;
            if (n < LIMIT_ASK_MAX && same(first, j)) {
                group[n++] = j;
            } else {
                *rest_tail = j;
                rest_tail = &j->next;
            }
            j = nx;
        }
        *rest_tail = NULL;
        list = rest;
        ask(w, group, n, first->limit_stage);
    }
}

void worker_limits_settled(worker_t *w, struct jobrt_job *job)
{
    if (!job->limit_held)
        return;
    job->limit_held = 0;
    if (w->n_queues == 0)
        return;
    queue_redis_conc_release(worker_job_queue(w, job), job->env.job.ptr,
                             job->stream_id);
}

size_t worker_limits_held(void *arg, const char **jobs, const char **ids,
                          size_t max)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    size_t n = 0;
    for (int i = 0; i < w->cfg->concurrency && n < max; i++) {
        struct jobrt_job *j = &w->slots[i];
        if (j->handler && j->limit_held && j->queue_index == wq->index) {
            jobs[n] = j->env.job.ptr;
            ids[n++] = j->stream_id;
        }
    }
    return n;
}
