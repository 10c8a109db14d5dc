/*
 * settle.h - what a dead worker process costs its jobs: from its board
 * and how it died, which job is to blame (charged a delivery, and
 * dead-lettered as poison once it has used them up), which ran out of
 * time (recorded as timeout and retried per its policy), and which were
 * only beside it (released for immediate redelivery, not charged). A pure
 * function of the board, so the rules are testable without processes.
 *
 *   crash report names a slot   that job is charged (crash: its signal,
 *                               or exit() from the handler)
 *   killed for an overrun       each OVERRUN slot is a timeout
 *   killed past --max-memory    a job running then is charged if it was
 *                               running at an earlier memory kill too
 *   other death, no report      every job running then is charged
 *   wedged loop, hard stop      nothing is charged
 * Everything else the worker held is released (the script does that for
 * every entry of the consumer not listed).
 */
#ifndef JOBRT_SETTLE_H
#define JOBRT_SETTLE_H

#include <stddef.h>

#include "core/util.h"
#include "queue/queue.h"
#include "supervise/board.h"

/* Why the supervisor killed the process, if it did. */
typedef enum {
    KILL_NONE = 0,
    KILL_OVERRUN, /* the worker asked: only overrunning handlers left */
    KILL_MEMORY,  /* its RSS passed the ceiling */
    KILL_WEDGED,  /* its loop stopped turning */
    KILL_STOP,    /* still running at the end of the shutdown budget */
} kill_reason_t;

typedef struct {
    kill_reason_t killed;
    int64_t exit_status; /* from waitpid, when it exited */
    int term_signal;     /* when a signal ended it; 0 if it exited */
    const char *const *queues; /* the worker's --queue, for the records */
    uint32_t n_queues;
    long long rss_bytes, ceiling_bytes; /* KILL_MEMORY */
    int64_t grace_ms;    /* --timeout-grace, for the timeout's error */
    /* KILL_MEMORY: whether job id was running at an earlier memory kill
     * too (and remember it for the next): only such a job is charged; the
     * first time, every job running is released. NULL: every one is. */
    int (*at_earlier_kill)(void *arg, const char *job_id);
    void *arg;
} settle_death_t;

typedef struct {
    queue_lost_job_t *jobs;
    uint32_t *job_queues; /* the index in settle_death_t.queues of each */
    size_t n;
    board_slot_t *slots; /* copies of the board's, NUL-terminated: the
                            strings jobs[] point into */
    buf_t *records;      /* one per job */
    char (*errors)[512]; /* one per job */
    int attributed;      /* a crash report named the job to blame */
    unsigned n_running;  /* jobs inside their handler at the death */
    int crash_slot;      /* its slot, or -1 */
    char cause[1024];    /* "SIGSEGV (Segmentation fault) in the handler of
                            job X (...)", "exit status 3", ... */
} settle_t;

/* Fills s (zeroed before the first call) from board b, made for n_slots
 * slots; consumer is the dead worker's name (both as the supervisor knows
 * them: plugin code may have written anything into the board). Returns
 * 0, or -1 when out of memory (s then lists nothing: every entry is
 * released). */
int settle_build(settle_t *s, const board_t *b, uint32_t n_slots,
                 const char *consumer, const settle_death_t *d);
void settle_free(settle_t *s);

#endif
