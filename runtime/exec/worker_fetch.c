/*
 * worker_fetch.c - how a worker's queues share its free job slots: the
 * queue callbacks that ask the fetch plan (exec/fetch_plan.h) before each
 * read and tell it how the read went, and the pokes that let the other
 * queues read again afterwards (from a timer, never from inside another
 * queue's reader callback).
 */
#include "exec/worker_internal.h"

/* Jobs this process may still take: --max-jobs-per-worker under a
 * supervisor, which recycles it once they are done. */
size_t worker_jobs_left(const worker_t *w)
{
    if (!w->supervised || w->cfg->max_jobs <= 0)
        return (size_t)-1;
    unsigned long long max = (unsigned long long)w->cfg->max_jobs;
    return w->n_dispatched >= max ? 0 : (size_t)(max - w->n_dispatched);
}

/* Free slots this worker may fill now. */
static size_t free_slots(const worker_t *w)
{
    if (w->phase != PHASE_RUN || w->overrun_drain)
        return 0;
    size_t left = worker_jobs_left(w);
    return left < w->n_free ? left : w->n_free;
}

/* For reclaims and unparks: the free slots no other queue's read was
 * promised (the queue itself allows for its own read). */
size_t worker_fetch_capacity(void *arg)
{
    worker_queue_t *wq = arg;
    return fetch_plan_room_for(&wq->w->plan, wq->index, free_slots(wq->w));
}

size_t worker_fetch_grant(void *arg, int *block)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    size_t avail = free_slots(w);
    if (avail == 0 && (w->phase != PHASE_RUN || w->overrun_drain ||
                       worker_jobs_left(w) == 0))
        return 0; /* stopping: not even an idle queue's probe */
    return fetch_plan_grant(&w->plan, wq->index, avail, block);
}

void worker_fetch_done(void *arg, size_t asked, size_t got, int sent)
{
    worker_queue_t *wq = arg;
    worker_t *w = wq->w;
    const fetch_plan_queue_t *pq = &w->plan.q[wq->index];
    int was_busy = pq->busy, was_known = pq->known;
    fetch_plan_read_done(&w->plan, wq->index, asked, got, sent);
    /* Slots it held are free for the others again; entries it brought
     * may have freed theirs at once (parked, delayed, cancelled); a queue
     * that went idle or cannot read lets the others read. The caller
     * reads again for this queue itself. */
    if (w->n_queues > 1 && (asked > got || got > 0 || was_busy != pq->busy ||
                            was_known != pq->known))
        worker_poke_later(w);
}

void worker_poke_all(worker_t *w)
{
    for (size_t i = 0; i < w->n_queues; i++)
        queue_redis_poke(w->queues[i].q);
}

static void on_poke_timer(uv_timer_t *t)
{
    worker_t *w = t->data;
    w->poke_pending = 0;
    worker_poke_all(w);
}

void worker_poke_later(worker_t *w)
{
    if (w->poke_pending || w->phase == PHASE_DONE)
        return;
    w->poke_pending = 1;
    uv_timer_start(&w->poke_timer, on_poke_timer, 0, 0);
}

