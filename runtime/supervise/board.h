/*
 * board.h - the page a worker process shares with its supervisor: what the
 * worker is doing, job slot by job slot, kept in memory the supervisor can
 * read after the worker has died.
 *
 * The supervisor creates one board per worker process (a memfd, mapped
 * shared) and hands its descriptor to the worker it spawns. The worker
 * fills a slot on the loop thread when it dispatches a job, its executor
 * thread marks it running around the handler call, and the loop frees it
 * when the job is settled; a crash handler in the worker names the slot
 * whose handler faulted (supervise/crash_guard.h). After the worker exits
 * the supervisor reads which jobs were in flight and which one crashed,
 * and settles them in Redis. Nothing here is a lock: fields read while
 * the other side may write them are atomics, and the rest is written
 * before the slot's state says it is valid.
 *
 * A worker started without a supervisor (--workers 0) keeps a private
 * board of its own, so one code path serves both modes.
 */
#ifndef JOBRT_BOARD_H
#define JOBRT_BOARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"
#include "observe/metrics.h"

#define BOARD_MAGIC 0x6472616f62726a6aULL /* "jjrboard" */
#define BOARD_LAYOUT 2

/* A job slot's state. */
enum {
    BOARD_SLOT_FREE = 0,
    BOARD_SLOT_QUEUED,  /* dispatched, waiting for a thread */
    BOARD_SLOT_RUNNING, /* inside its handler */
    BOARD_SLOT_OVERRUN, /* still in its handler past deadline + grace: the
                           worker waits to be killed for it */
};

/* The worker process's state. */
enum {
    BOARD_STARTING = 0, /* loading plugins, connecting */
    BOARD_READY,        /* taking jobs */
    BOARD_DRAINING,     /* stopping: takes no more jobs */
    BOARD_KILL_ME,      /* only overrunning handlers are left: the
                           supervisor kills the process for them (or, if
                           one returns first, the worker takes it back:
                           KILL_ME -> DRAINING) */
    BOARD_KILLING,      /* the supervisor took KILL_ME (compare and swap)
                           and is killing the process */
};

typedef struct {
    _Atomic uint32_t state;
    uint32_t version, attempt, max_attempts, deliveries;
    uint32_t timeout_ms;
    uint32_t retry_delay_ms; /* the backoff if this attempt times out */
    uint32_t queue_index;    /* which of the worker's --queue it is from */
    _Atomic int64_t started_ms; /* wall clock, set by the executor thread */
    int64_t dispatched_ms, deadline_ms, enqueued_ms; /* wall clock */
    uint64_t generation;
    char stream_id[48];
    char id[ENVELOPE_MAX_ID + 1];
    char job[ENVELOPE_MAX_NAME + 1];
    char plugin[ENVELOPE_MAX_NAME + 1]; /* plugin names follow job names */
    char plugin_version[64];            /* longer ones are cut */
    char build_id[128];
    char sha12[13];
} board_slot_t;

typedef struct {
    uint64_t magic;
    uint32_t layout, n_slots;
    _Atomic int32_t pid;
    _Atomic uint32_t state;
    _Atomic int64_t heartbeat_ms; /* monotonic: the loop last turned */
    _Atomic uint64_t jobs_done;   /* settled by this process */
    _Atomic uint64_t reloads;     /* reloads finished (SIGHUP, ...) */
    _Atomic uint32_t restart_wanted; /* a plugin it cannot unload changed,
                                        or a generation leaked */
    _Atomic uint32_t hurry;   /* the supervisor got a second SIGTERM: stop
                                 waiting for running jobs */
    _Atomic uint32_t stopped_clean; /* it handed back what it held and is
                                       exiting: nothing to settle */
    /* The crash report, written by the crash guard before the process
     * dies: the slot whose handler faulted (-1: none, or not in a
     * handler), and the signal, or 0 with exit_status for exit(). */
    _Atomic int32_t crash_slot;
    _Atomic int32_t crash_signal;
    _Atomic int32_t crash_exit_status;
    _Atomic int32_t crash_sender; /* pid that sent the signal (kill(2)) */
    _Atomic uint32_t crash_claimed;  /* one thread writes the report */
    _Atomic uint32_t crash_reported; /* ... and sets this last */
    char consumer[256]; /* for logs; the supervisor names it itself */
    char host[256];
    char fatal[512];      /* why the worker could not start, if so */
    char generations[1024]; /* "plugin build (generation N), ..." */
    metrics_t metrics;      /* what it counted (observe/metrics.h) */
    board_slot_t slots[];
} board_t;

size_t board_size(uint32_t n_slots);
/* Fills a fresh board's header (the memory must be zeroed). */
void board_init(board_t *b, uint32_t n_slots);
/* Maps an anonymous private board (no supervisor). NULL if out of
 * memory. */
board_t *board_create_private(uint32_t n_slots);
/* Creates a board in a new memfd: *fd is the descriptor to hand to the
 * worker (close-on-exec; the spawner maps it into the child). NULL with
 * err set on failure. */
board_t *board_create_shared(uint32_t n_slots, int *fd, char *err,
                             size_t err_len);
/* The worker's side: maps the board in fd (then closes fd). NULL with err
 * set if it is not a board for n_slots slots. */
board_t *board_attach(int fd, uint32_t n_slots, char *err, size_t err_len);
/* n_slots as the board was made with: the supervisor never trusts the
 * copy in shared memory, which plugin code in the worker can overwrite. */
void board_unmap(board_t *b, uint32_t n_slots);

/* Copies a string into a fixed field, cut at a character boundary. */
void board_copy(char *dst, size_t cap, const char *src, size_t len);

#endif
