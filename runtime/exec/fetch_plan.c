/*
 * fetch_plan.c - sharing free slots among a worker's queues; see
 * fetch_plan.h.
 */
#include "exec/fetch_plan.h"

#include <math.h>
#include <string.h>

void fetch_plan_init(fetch_plan_t *p, size_t n, const uint32_t *weights,
                     int strict, size_t slots)
{
    memset(p, 0, sizeof *p);
    p->n = n > FETCH_PLAN_MAX_QUEUES ? FETCH_PLAN_MAX_QUEUES : n;
    p->strict = strict;
    p->slots = slots ? slots : 1;
    for (size_t i = 0; i < p->n; i++) {
        uint32_t w = weights ? weights[i] : 1;
        p->q[i].weight = w < 1 ? 1 : w > FETCH_PLAN_MAX_WEIGHT
                                             ? FETCH_PLAN_MAX_WEIGHT : w;
    }
}

size_t fetch_plan_unreserved(const fetch_plan_t *p, size_t free_slots)
{
    size_t held = 0;
    for (size_t i = 0; i < p->n; i++)
        held += p->q[i].reserved;
    return free_slots > held ? free_slots - held : 0;
}

size_t fetch_plan_room_for(const fetch_plan_t *p, size_t i,
                           size_t free_slots)
{
    size_t held = 0;
    for (size_t j = 0; j < p->n; j++)
        if (j != i)
            held += p->q[j].reserved;
    return free_slots > held ? free_slots - held : 0;
}

/* The lowest virtual time (entries charged per unit of weight) among the
 * busy queues other than skip (SIZE_MAX: none skipped); -1 if none. */
static double min_vtime(const fetch_plan_t *p, size_t skip)
{
    double v = -1;
    for (size_t j = 0; j < p->n; j++) {
        if (j == skip || !p->q[j].busy)
            continue;
        double t = p->q[j].charged / p->q[j].weight;
        if (v < 0 || t < v)
            v = t;
    }
    return v;
}

/* How far, in entries per unit of weight, a busy queue may run ahead of
 * the slowest: at least one entry for the lightest queue, and enough
 * that the reads of the others carry batches of the worker's size. */
static double quantum(const fetch_plan_t *p)
{
    uint32_t wmin = 0, wsum = 0;
    for (size_t j = 0; j < p->n; j++) {
        if (!p->q[j].busy)
            continue;
        wsum += p->q[j].weight;
        if (wmin == 0 || p->q[j].weight < wmin)
            wmin = p->q[j].weight;
    }
    if (wsum == 0)
        return 1;
    double a = 1.0 / wmin, b = (double)p->slots / wsum;
    return a > b ? a : b;
}

static size_t start_read(fetch_plan_queue_t *q, size_t asked, int reserve,
                         int charge)
{
    q->reading = 1;
    q->asked = asked;
    q->reserved = reserve ? asked : 0;
    q->charged_read = charge;
    if (charge)
        q->charged += (double)asked;
    return asked;
}

size_t fetch_plan_grant(fetch_plan_t *p, size_t i, size_t free_slots,
                        int *block)
{
    if (i >= p->n || p->q[i].reading)
        return 0;
    fetch_plan_queue_t *q = &p->q[i];
    q->refused = 0;
    size_t avail = fetch_plan_unreserved(p, free_slots);
    *block = 1;
    if (p->n == 1)
        return avail ? start_read(q, avail, 1, 0) : 0;
    if (!q->known) {
        *block = 0; /* the first look */
        return start_read(q, 1, 0, 0);
    }
    if (!q->busy)
        return start_read(q, 1, 0, 0); /* the idle probe: holds no slot */
    q->refused = 1; /* unless granted below */
    if (avail == 0)
        return 0;
    *block = 0;
    if (p->strict) {
        for (size_t j = 0; j < i; j++)
            if (p->q[j].busy || !p->q[j].known)
                return 0;
        q->refused = 0;
        return start_read(q, avail, 1, 1);
    }
    double v = min_vtime(p, (size_t)-1);
    double limit = (v + quantum(p)) * q->weight - q->charged;
    /* the slowest queue always gets one, whatever the rounding */
    if (q->charged / q->weight <= v + 1e-9 && limit < 1)
        limit = 1;
    if (limit < 1 - 1e-9)
        return 0;
    size_t g = (size_t)floor(limit + 1e-9);
    if (g == 0)
        g = 1;
    if (g > avail)
        g = avail;
    q->refused = 0;
    return start_read(q, g, 1, 1);
}

void fetch_plan_read_done(fetch_plan_t *p, size_t i, size_t asked,
                          size_t got, int sent)
{
    if (i >= p->n)
        return;
    fetch_plan_queue_t *q = &p->q[i];
    if (sent == FETCH_PLAN_CANNOT_READ) {
        if (q->reading && q->charged_read)
            q->charged -= (double)q->asked;
        q->reading = 0;
        q->reserved = 0;
        q->charged_read = 0;
        q->refused = 0;
        q->known = 1;
        q->busy = 0;
        return;
    }
    if (!q->reading)
        return;
    if (asked != q->asked)
        asked = q->asked;
    if (got > asked)
        got = asked;
    int charged = q->charged_read;
    q->reading = 0;
    q->reserved = 0;
    q->charged_read = 0;
    if (charged)
        q->charged -= (double)(asked - got);
    if (!sent)
        return;
    q->known = 1;
    q->taken += got;
    if (got == 0) {
        q->busy = 0;
        return;
    }
    if (!q->busy) {
        /* level with the busy ones: no catch-up for the idle time */
        double v = min_vtime(p, i);
        if (v >= 0 && q->charged < v * q->weight)
            q->charged = v * q->weight;
        q->busy = 1;
    }
    if (!charged)
        q->charged += (double)got;
}
