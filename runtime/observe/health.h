/*
 * health.h - whether a worker process is ready to take jobs, judged from
 * what it last wrote on its board (supervise/board.h): its state, its
 * loop's heartbeat, the plugins it serves, and when Redis last answered
 * its fetch loop, confirmed a write and renewed its leases. Pure: the
 * supervisor judges each of its workers with it, the single process
 * judges itself, and tests judge made-up boards.
 */
#ifndef JOBRT_HEALTH_H
#define JOBRT_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "supervise/board.h"

/* How stale each input may be before the worker is not ready (ms). */
#define HEALTH_LOOP_STALE_MS 2000  /* the board's heartbeat (100 ms tick) */
#define HEALTH_WRITE_STALE_MS 3000 /* the registry write is every 1 s */
#define HEALTH_SLACK_MS 3000       /* past a read's block or the lease
                                      renewal interval */

typedef struct {
    int ready;
    char why[192]; /* when not ready: the first check that failed */
} health_verdict_t;

/* Judges the worker of b at monotonic time now. */
void health_judge(const board_t *b, int64_t now, health_verdict_t *v);

#endif
