/*
 * host_api.h - the jobrt_host_api table the runtime hands to plugins, and
 * the one function that runs a job through its handler.
 */
#ifndef JOBRT_HOST_API_H
#define JOBRT_HOST_API_H

#include "exec/job.h"
#include "jobrt/plugin.h"

/* The runtime's table (static storage, never changes). */
const jobrt_host_api *host_api_get(void);

/* Validates the payload, then calls the handler with the job's deadline
 * set (job->deadline_ms if the caller set it, else now + timeout_ms); fills disposition, outcome, result, error and timestamps. Runs on
 * whichever thread calls it (a worker thread, or main for `jobrt exec`). */
void host_run_job(struct jobrt_job *job);

#endif
