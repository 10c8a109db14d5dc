/*
 * queue_scripts.h - the Lua scripts that make each state change of a job
 * atomic in Redis. Each one first XACKs the entry and does nothing more if
 * the ack finds it already acknowledged, so resending a script after a lost
 * reply can never duplicate or drop a job.
 */
#ifndef JOBRT_QUEUE_SCRIPTS_H
#define JOBRT_QUEUE_SCRIPTS_H

enum {
    SCRIPT_COMPLETE, /* ack + delete a batch, write result records */
    SCRIPT_REQUEUE,  /* re-add one entry (attempt N) at the tail, ack + del */
    SCRIPT_DLQ,      /* copy one entry to the DLQ with a reason, ack + del */
    SCRIPT_RELEASE,  /* requeue everything pending for one consumer */
    SCRIPT_COUNT
};

extern const char *const queue_scripts[SCRIPT_COUNT];

#endif
