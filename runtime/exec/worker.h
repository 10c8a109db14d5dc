/*
 * worker.h - `jobrt run`: the long-running worker. It loads the plugins,
 * then on one libuv loop thread fetches entries from the queue backend,
 * routes each to its handler, hands it to the executor, and turns each
 * finished job into an ack, a retry or a dead-letter.
 */
#ifndef JOBRT_WORKER_H
#define JOBRT_WORKER_H

#include <stdint.h>

#include "queue/queue.h"
#include "queue/redis_target.h"

/* The most queues one worker serves (--queue, repeated). */
#define WORKER_MAX_QUEUES 16

typedef struct {
    const char *plugin_dir;
    const redis_target_t *redis; /* where Redis is and how to log in */
    const char *queue;   /* the first of queues[], for log lines */
    const char *queues[WORKER_MAX_QUEUES]; /* in priority order */
    uint32_t weights[WORKER_MAX_QUEUES];   /* each >= 1 */
    int n_queues;        /* >= 1 */
    int strict_priority; /* drain queues in order, not by weight */
    char names[WORKER_MAX_QUEUES][129]; /* storage for queues[], if the
                                           caller needs it */
    const char *ns;
    const char *group;
    const char *consumer; /* NULL = <hostname>-<pid> */
    const char *run_dir;  /* NULL = fresh dir under $TMPDIR */
    int concurrency;
    int strict;
    int insecure_plugin_dir; /* owner/mode problems only warn (dev) */
    int64_t shutdown_timeout_ms; /* the whole wait for running jobs */
    int64_t shutdown_grace_ms;   /* its last part: cancel flags set */
    int64_t job_timeout_ms;
    int64_t result_ttl_ms;
    int64_t failure_ttl_ms;
    long max_attempts;
    long max_payload;
    long dlq_max_len;
    int64_t lease_ms;       /* reclaim a silent worker's jobs after this */
    long max_deliveries;    /* then quarantine the job as poison */
    int64_t retry_base_ms;  /* backoff for handlers that set none */
    int64_t retry_cap_ms;
    int64_t park_ttl_ms;    /* unserved jobs park this long; 0 = DLQ now */
    long wait_replicas;     /* --wait-replicas: WAIT after writes; 0 none */
    int64_t wait_timeout_ms;
    int watch;              /* reload on inotify changes of plugin_dir */
    int64_t max_timeout_ms; /* no job's deadline is longer */
    int64_t timeout_grace_ms; /* after a deadline, before the hard stop */
    int64_t probe_timeout_ms; /* the plugin probe's limit; 0 = no probe */
    int board_fd;           /* from the supervisor; -1 = none */
    long long max_jobs;     /* under a supervisor: take no more than this
                               many jobs, then be recycled; 0 = no limit */
    /* Operations (observe/ops.h), served by the supervisor, or by this
     * process without one: --http ADDR:PORT, --http-token-file,
     * --http-public-read, --health-file; NULL / 0 for none. */
    const char *http, *http_token_file, *health_file;
    int http_public_read;
    int64_t log_summary_ms; /* an info summary line this often; 0 = none */
    /* --rate JOB=R and --limit JOB=N: written to the :limits hash of
     * every queue served, at start (docs/flow-control.md) */
    const queue_limit_flag_t *limit_flags;
    size_t n_limit_flags;
} worker_config_t;

/* Runs until SIGTERM/SIGINT; SIGHUP (and --watch, `jobrt reload`) reload
 * the plugins (exec/reload.c). Returns the process exit code. */
int worker_run(const worker_config_t *cfg);

#endif
