/*
 * scripts.h - the Lua scripts that make each state change of a job
 * atomic in Redis. A script that moves an entry first XACKs it and does
 * nothing more if the ack finds it already acknowledged, so resending one
 * after a lost reply can never duplicate or drop a job. Any number of
 * workers may run any of them at once.
 *
 * Delayed jobs (retry backoff, `enqueue --delay/--at`, a future
 * `not_before`) wait in a sorted set, scored by due time in ms of the
 * Redis server's clock, as cmsgpack.pack({token, {field, value, ...}});
 * PROMOTE moves due ones into the stream.
 */
#ifndef JOBRT_QUEUE_SCRIPTS_H
#define JOBRT_QUEUE_SCRIPTS_H

enum {
    SCRIPT_COMPLETE, /* ack a batch and write its result records */
    SCRIPT_REQUEUE,  /* re-add one entry (new attempt) now or delayed */
    SCRIPT_DLQ,      /* copy one entry to the DLQ with a reason, ack + del */
    SCRIPT_RELEASE,  /* requeue everything pending for one consumer */
    SCRIPT_PROMOTE,  /* move due delayed jobs into the stream */
    SCRIPT_RECLAIM,  /* claim expired leases; dead-letter poison jobs */
    SCRIPT_TRIM,     /* cut the stream below what is still unfinished */
    SCRIPT_COUNT
};

extern const char *const queue_scripts[SCRIPT_COUNT];

/* Used by the CLI (EVAL), not by workers. */
extern const char *const queue_script_schedule;  /* enqueue delayed */
extern const char *const queue_script_enqueue;   /* delay and/or dedupe */
extern const char *const queue_script_dlq_retry; /* DLQ -> stream */

#endif
