/*
 * cmd_run.c - `jobrt run`: parses the worker's options into a
 * worker_config_t and runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/log.h"
#include "exec/worker.h"
#include "queue/keys.h"

/* What the options table cannot check alone: names and how the options
 * relate. Returns 0, or 2 after one usage line. */
static int check_usage(const cli_cmd_t *cmd, const worker_config_t *c)
{
    char err[512];
    queue_keys_t keys;
    if (queue_keys_init(&keys, c->ns, c->queue, err, sizeof err) != 0)
        return cli_usage_error(cmd, "%s", err);
    if (c->consumer &&
        strncmp(c->consumer, QUEUE_PARKED_PREFIX,
                strlen(QUEUE_PARKED_PREFIX)) == 0)
        return cli_usage_error(cmd, "--consumer '%s': names starting with "
                               "'" QUEUE_PARKED_PREFIX "' are the group's "
                               "parked jobs, not workers", c->consumer);
    if (c->retry_base_ms > c->retry_cap_ms) {
        char base[32], cap[32];
        cli_format_duration(c->retry_base_ms, base, sizeof base);
        cli_format_duration(c->retry_cap_ms, cap, sizeof cap);
        return cli_usage_error(cmd, "--retry-base (%s) is longer than "
                               "--retry-cap (%s): no retry may wait longer "
                               "than the cap", base, cap);
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT; /* url, password file */
    redis_target_t target;
    worker_config_t c = {
        .redis = &target,
        .queue = DEFAULT_QUEUE,
        .ns = DEFAULT_NAMESPACE,
        .group = "jobrt",
        .shutdown_timeout_ms = 30000,
        .shutdown_grace_ms = 5000,
        .job_timeout_ms = 300000,
        .result_ttl_ms = 3600 * 1000LL,
        .failure_ttl_ms = 7 * 86400 * 1000LL,
        .max_attempts = 5,
        .max_payload = 1 << 20,
        .dlq_max_len = 100000,
        .lease_ms = 30000,
        .max_deliveries = 5,
        .retry_base_ms = 1000,
        .retry_cap_ms = 3600 * 1000,
        .park_ttl_ms = 7 * 86400 * 1000LL,
    };
    long concurrency = 8;
    const char *log_level = "info";
    const cli_opt_t opts[] = {
        {"plugin-dir", 'p', "JOBRT_PLUGIN_DIR", OPT_STRING, &c.plugin_dir,
         "DIR", "Load every *.so in DIR (required).", 0, 0},
        REDIS_CLI_LOGIN_ROWS(ro),
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &c.queue, "NAME",
         "Queue to work (default " DEFAULT_QUEUE ").", 0, 0},
        {"namespace", 0, "JOBRT_NAMESPACE", OPT_STRING, &c.ns, "NS",
         "Key prefix, so environments can share a Redis (default "
         DEFAULT_NAMESPACE ").", 0, 0},
        {"concurrency", 'c', "JOBRT_CONCURRENCY", OPT_INT, &concurrency, "N",
         "Jobs held and run at once, each on its own thread (threads "
         "start as needed; default 8).", 1, 4096},
        {"group", 0, "JOBRT_GROUP", OPT_STRING, &c.group, "NAME",
         "Redis consumer group shared by the fleet (default jobrt).", 0, 0},
        {"consumer", 0, "JOBRT_CONSUMER", OPT_STRING, &c.consumer, "NAME",
         "This worker's consumer name, unique in the fleet: two workers "
         "under one name hand back each other's jobs (default "
         "<hostname>-<pid>).", 0, 0},
        {"watch", 0, "JOBRT_WATCH", OPT_FLAG, &c.watch, NULL,
         "Reload when a plugin file is installed, replaced or removed in "
         "DIR (inotify; install by rename: a file still being written is "
         "never loaded). SIGHUP and `jobrt reload` reload without it.",
         0, 0},
        {"park-ttl", 0, "JOBRT_PARK_TTL", OPT_DURATION, &c.park_ttl_ms, "DUR",
         "A job whose job name or schema version no plugin here serves is "
         "parked until a worker that serves it takes it; after DUR parked "
         "it is dead-lettered (no_handler or schema_unsupported). 0 "
         "dead-letters such jobs at once. Give every worker of a queue the "
         "same value: each expires parked jobs with its own, so the "
         "smallest wins (default 7d).", 0,
         365 * 86400000LL},
        {"strict", 0, "JOBRT_STRICT", OPT_FLAG, &c.strict, NULL,
         "Refuse to start if any plugin file is rejected (a reload that "
         "rejects one keeps the old build serving either way).", 0, 0},
        {"insecure-plugin-dir", 0, "JOBRT_INSECURE_PLUGIN_DIR", OPT_FLAG,
         &c.insecure_plugin_dir, NULL,
         "Development only: load plugin files and directories that are "
         "writable by group or others or owned by another user, with a "
         "WARN line each (refused by default).", 0, 0},
        {"shutdown-timeout", 0, "JOBRT_SHUTDOWN_TIMEOUT", OPT_DURATION,
         &c.shutdown_timeout_ms, "DUR",
         "On SIGTERM/SIGINT, wait this long for running jobs, then hand "
         "back the unfinished ones for redelivery (default 30s).",
         0, 86400000},
        {"shutdown-grace", 0, "JOBRT_SHUTDOWN_GRACE", OPT_DURATION,
         &c.shutdown_grace_ms, "DUR",
         "The last DUR of --shutdown-timeout: handlers still running see "
         "job_cancel_requested() and can stop cleanly (default 5s).",
         0, 86400000},
        {"job-timeout", 0, "JOBRT_JOB_TIMEOUT", OPT_DURATION, &c.job_timeout_ms,
         "DUR", "Deadline for handlers that set none (default 5m).", 1,
         86400000},
        {"max-attempts", 0, "JOBRT_MAX_ATTEMPTS", OPT_INT, &c.max_attempts, "N",
         "Attempts for handlers that set none (default 5).", 1, 1000},
        {"max-payload", 0, "JOBRT_MAX_PAYLOAD", OPT_SIZE, &c.max_payload,
         "SIZE", "Larger payloads are dead-lettered (default 1m).", 1,
         512L << 20},
        {"retry-base", 0, "JOBRT_RETRY_BASE", OPT_DURATION, &c.retry_base_ms,
         "DUR", "Retry backoff: the first retry waits up to DUR, doubling "
         "per attempt, full jitter (default 1s).", 1, 86400000},
        {"retry-cap", 0, "JOBRT_RETRY_CAP", OPT_DURATION, &c.retry_cap_ms,
         "DUR", "No retry waits longer than DUR (default 1h).", 1,
         7 * 86400000LL},
        {"lease", 0, "JOBRT_LEASE", OPT_DURATION, &c.lease_ms, "DUR",
         "A job whose worker stops renewing it (died, or its handler ran "
         "past its deadline) is redelivered after DUR (default 30s).", 1000,
         86400000},
        {"max-deliveries", 0, "JOBRT_MAX_DELIVERIES", OPT_INT,
         &c.max_deliveries, "N", "A job delivered N times without finishing "
         "is dead-lettered as poison (default 5).", 1, 1000},
        {"result-ttl", 0, "JOBRT_RESULT_TTL", OPT_DURATION, &c.result_ttl_ms,
         "DUR", "Keep success records this long; 0 keeps none (default 1h).",
         0, 365 * 86400000LL},
        {"failure-ttl", 0, "JOBRT_FAILURE_TTL", OPT_DURATION,
         &c.failure_ttl_ms, "DUR",
         "Keep failure records this long; 0 keeps none (default 7d).", 0,
         365 * 86400000LL},
        {"dlq-max-len", 0, "JOBRT_DLQ_MAX_LEN", OPT_INT, &c.dlq_max_len, "N",
         "Approximate cap on dead-letter stream length (default 100000).", 1,
         100000000},
        {"run-dir", 0, "JOBRT_RUN_DIR", OPT_STRING, &c.run_dir, "DIR",
         "Where private plugin copies are loaded from: made 0700 if "
         "missing; an existing one must be a directory of this user that "
         "group and others cannot write (default a new directory in "
         "$TMPDIR, where those of workers that died are removed at start; "
         "must not be mounted noexec).", 0, 0},
        {"log-level", 0, "JOBRT_LOG_LEVEL", OPT_STRING, &log_level, "LEVEL",
         "error, warn, info or debug (default info).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "run", "jobrt run --plugin-dir DIR [options]",
        "Runs the worker: loads the plugins in DIR, takes jobs from the "
        "queue's Redis stream,\nruns each with the handler for its job name "
        "and schema version, and acks,\nretries or dead-letters it. SIGTERM "
        "or SIGINT stops it gracefully (exit 0). SIGHUP reloads the "
        "plugins:\nchanged files are loaded as new generations and take new "
        "jobs at once, while\nrunning jobs finish on the old code, which is "
        "then unloaded (docs/rollout.md).\nBad usage is found before "
        "any plugin is loaded or Redis is contacted.\nExit codes: 0 stopped "
        "by signal, 1 could not start, 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 0, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = cli_set_log_level(&cmd, log_level)) != 0)
        return rc;
    if (c.plugin_dir == NULL)
        return cli_usage_error(&cmd, "--plugin-dir is required");
    c.concurrency = (int)concurrency;
    if ((rc = check_usage(&cmd, &c)) != 0)
        return rc;
    /* Redis usage errors before any plugin is loaded */
    if ((rc = redis_cli_target(&cmd, &ro, &target)) != 0)
        return rc;
    rc = worker_run(&c);
    redis_target_free(&target);
    return rc;
}
