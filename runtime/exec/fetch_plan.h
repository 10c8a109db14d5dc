/*
 * fetch_plan.h - how a worker that serves several queues shares its free
 * job slots among them (`--queue critical:10 --queue default:3`).
 *
 * Each queue has its own reader, and before each read the worker asks the
 * plan how many entries that queue may take and whether the read may
 * block. A queue is busy while its last read found work, idle after a
 * read came back empty.
 *
 *   - One queue: every read asks for all free slots and blocks, as a
 *     worker with one queue always did.
 *   - Several, weighted (the default): busy queues read without blocking,
 *     and each may run ahead of the others by a small quantum only, in
 *     entries per unit of weight, so that over time the entries taken
 *     follow the weights (a weight-10 queue takes ten for a weight-1
 *     queue's one while both have work). A queue that turns busy again
 *     starts level with the others: being idle earns no catch-up burst.
 *   - Several, --strict-priority: the first busy queue in --queue order
 *     gets every free slot; one below it reads only once each above it
 *     came back empty.
 *   - Until a queue's first read is answered its state is unknown: that
 *     read does not block (an empty queue must not hold the ones below
 *     it for a whole BLOCK), and the queues below it wait for it.
 *   - An idle queue (several queues) keeps one blocking read of COUNT 1
 *     that holds no slot, so work arriving there is seen at once while the
 *     slots serve the busy queues. When such a read brings an entry and no
 *     slot is free, the worker hands it back (queue_redis_give_back).
 *
 * Slots promised to an outstanding non-blocking read are reserved and not
 * promised again. Pure logic, no I/O; all calls on the loop thread.
 */
#ifndef JOBRT_FETCH_PLAN_H
#define JOBRT_FETCH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define FETCH_PLAN_MAX_QUEUES 16
#define FETCH_PLAN_MAX_WEIGHT 1000

typedef struct {
    uint32_t weight;
    int busy;
    int known;           /* a read of it was answered: busy is true */
    double charged;      /* entries granted (less refunds) since start */
    size_t reserved;     /* slots the outstanding read holds */
    size_t asked;        /* COUNT of the outstanding read */
    int charged_read;    /* the outstanding read was charged */
    int reading;         /* a read is outstanding */
    int refused;         /* its last ask was refused: it waits for its
                            share (not a stalled read) */
    unsigned long long taken; /* entries its reads brought */
} fetch_plan_queue_t;

typedef struct {
    size_t n;
    int strict;
    size_t slots;        /* the worker's job slots (--concurrency) */
    fetch_plan_queue_t q[FETCH_PLAN_MAX_QUEUES];
} fetch_plan_t;

/* weights[i] >= 1 (FETCH_PLAN_MAX_WEIGHT at most); n >= 1. */
void fetch_plan_init(fetch_plan_t *p, size_t n, const uint32_t *weights,
                     int strict, size_t slots);
/* Queue i is about to read and free_slots are free now: returns the COUNT
 * it may ask for (0: no read now), and whether the read may block. */
size_t fetch_plan_grant(fetch_plan_t *p, size_t i, size_t free_slots,
                        int *block);
/* Queue i's read, granted `asked`, came back with got entries. sent 1:
 * it was answered; 0: it was never sent, which only returns the grant;
 * FETCH_PLAN_CANNOT_READ: the queue cannot read now (paused, stopping,
 * disconnected, its reads fail): it counts as known and idle, so that it
 * holds back no other queue (asked may be 0: no grant to return). */
#define FETCH_PLAN_CANNOT_READ (-1)
void fetch_plan_read_done(fetch_plan_t *p, size_t i, size_t asked,
                          size_t got, int sent);
/* Free slots no outstanding read was promised. */
size_t fetch_plan_unreserved(const fetch_plan_t *p, size_t free_slots);
/* The same, but counting queue i's own outstanding read as free: its
 * reclaims and unparks subtract what that read may bring themselves
 * (runtime/queue/fleet_tick.c). */
size_t fetch_plan_room_for(const fetch_plan_t *p, size_t i,
                           size_t free_slots);

#endif
