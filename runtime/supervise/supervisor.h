/*
 * supervisor.h - `jobrt run --workers K`: a process that maps no plugin
 * code and runs K worker processes (each a whole `jobrt run` with its own
 * loop, Redis connections and --concurrency threads), like a postmaster
 * or gunicorn's arbiter.
 *
 *  - It restarts a worker that dies, after settling its jobs in Redis
 *    from the board they shared (supervise/settle.h): the job whose
 *    handler crashed is charged, the others are released at once. A
 *    death a crash report blames on a job restarts the worker at once;
 *    one it does not is a crash of the worker itself: restarts back off
 *    (100 ms doubling to 10 s) and five within a minute stop the
 *    supervisor (exit 1) rather than loop.
 *  - A worker that cannot start (bad credentials, no plugin, bad flags)
 *    stops the supervisor with exit 1 and the worker's own line: a
 *    restart cannot fix it. The first worker starts alone; the others once
 *    it is ready.
 *  - It ends a handler overrun (the worker asks, BOARD_KILL_ME: SIGABRT,
 *    then SIGKILL), a memory ceiling, or a wedged loop by killing the
 *    worker, and recycles (drains, then replaces) one over --max-memory,
 *    past --max-jobs-per-worker, or unable to deploy a plugin in place.
 *  - SIGTERM/SIGINT drain every worker within the shutdown budget (exit
 *    0); SIGHUP reloads them one at a time; SIGUSR1 logs each worker.
 */
#ifndef JOBRT_SUPERVISOR_H
#define JOBRT_SUPERVISOR_H

#include "exec/worker.h"

/* Fewer than 2 workers gives no containment (a crash or a reload of the
 * one stops all service); more than the CPUs buys no parallelism that
 * --concurrency threads do not already give, and costs memory and two
 * Redis connections each. */
#define SUPERVISOR_MIN_DEFAULT_WORKERS 2
#define SUPERVISOR_MAX_DEFAULT_WORKERS 8
#define SUPERVISOR_MAX_WORKERS 256

typedef struct {
    const worker_config_t *worker; /* what each worker runs with */
    int workers;
    long long max_memory;   /* RSS bytes: recycle above; 0 = no limit */
    long long memory_ceiling; /* RSS bytes: kill above; 0 = 1.5 x max */
    long long max_jobs;     /* recycle after; 0 = never */
    int argc;               /* the `run` command line, re-executed */
    char **argv;
} supervisor_config_t;

/* online CPUs, within [MIN_DEFAULT, MAX_DEFAULT] */
int supervisor_default_workers(void);

/* Runs until stopped; returns the process exit code. */
int supervisor_run(const supervisor_config_t *cfg);

#endif
