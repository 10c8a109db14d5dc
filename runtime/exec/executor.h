/*
 * executor.h - runs jobs on up to --concurrency worker threads (started as
 * needed) and hands finished jobs back to the libuv loop thread in batches.
 * Handlers never run on the loop thread, so nothing they do can stall
 * Redis I/O, timers or signals.
 */
#ifndef JOBRT_EXECUTOR_H
#define JOBRT_EXECUTOR_H

#include <stddef.h>
#include <uv.h>

#include "exec/job.h"

typedef struct executor executor_t;

/* Called on the loop thread with a list of finished jobs (linked by
 * job->next, oldest first). */
typedef void (*executor_done_fn)(void *arg, struct jobrt_job *done);

executor_t *executor_create(uv_loop_t *loop, int threads,
                            executor_done_fn on_done, void *arg);
/* Loop thread only. The executor owns job until it comes back. */
void executor_submit(executor_t *ex, struct jobrt_job *job);
/* Jobs submitted and not yet handed back. */
size_t executor_inflight(const executor_t *ex);
/* Sets the cancel flag of every job still queued or running. */
void executor_cancel_all(executor_t *ex);
/* Stops the threads once the jobs they are running return and closes the
 * async handle. Jobs still queued are never run (they stay unacked). Call
 * on the loop thread; when detach_running is set, threads stuck in a
 * handler are left behind instead of joined (the process is exiting). */
void executor_destroy(executor_t *ex, int detach_running);

#endif
