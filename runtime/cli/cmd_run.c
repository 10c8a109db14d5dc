/*
 * cmd_run.c - `jobrt run`: parses the worker's options into a
 * worker_config_t and runs it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/probe_opts.h"
#include "cli/redis_opts.h"
#include "core/log.h"
#include "core/util.h"
#include "exec/fetch_plan.h"
#include "core/envelope.h"
#include "core/limit_spec.h"
#include "exec/worker.h"
#include "http/server.h"
#include "queue/keys.h"
#include "supervise/supervisor.h"

/* --queue NAME[:W], repeated: names in c->queues (pointing into the
 * option's values, which are cut at the weight), weights in c->weights.
 * Returns 0, or 2 after one usage line. */
static int parse_queues(const cli_cmd_t *cmd, cli_list_t *l,
                        worker_config_t *c)
{
    int weighted = 0;
    if (l->n == 0) {
        c->queues[0] = DEFAULT_QUEUE;
        c->weights[0] = 1;
        c->n_queues = 1;
    }
    for (int i = 0; i < l->n; i++) {
        const char *v = l->v[i];
        const char *colon = strrchr(v, ':');
        size_t name_len = strlen(v);
        uint32_t weight = 1;
        if (colon && colon[1] && strspn(colon + 1, "0123456789") ==
                                     strlen(colon + 1)) {
            uint64_t n;
            if (util_parse_u64(colon + 1, strlen(colon + 1), 1000000, &n) ||
                n < 1 || n > FETCH_PLAN_MAX_WEIGHT)
                return cli_usage_error(cmd, "--queue %s: the weight after "
                                       "the last ':' must be 1-%d", v,
                                       FETCH_PLAN_MAX_WEIGHT);
            weight = (uint32_t)n;
            name_len = (size_t)(colon - v);
            weighted = 1;
        }
        if (name_len == 0 || name_len >= sizeof c->names[0])
            return cli_usage_error(cmd, "--queue %s: the queue name must "
                                   "be 1-128 characters", v);
        memcpy(c->names[i], v, name_len);
        c->names[i][name_len] = '\0';
        for (int j = 0; j < i; j++)
            if (strcmp(c->names[j], c->names[i]) == 0)
                return cli_usage_error(cmd, "--queue %s: queue %s is given "
                                       "twice", v, c->names[i]);
        c->queues[i] = c->names[i];
        c->weights[i] = weight;
    }
    if (l->n)
        c->n_queues = l->n;
    c->queue = c->queues[0];
    if (c->strict_priority && weighted)
        return cli_usage_error(cmd, "--strict-priority takes the queues in "
                               "the order given: drop the :W weights, or "
                               "drop --strict-priority");
    return 0;
}

/* --rate JOB=R and --limit JOB=N, repeated: one flag per job (a job
 * given to both gets one with both). Returns 0, or 2 after one usage
 * line. */
static int parse_limits(const cli_cmd_t *cmd, const cli_list_t *rates,
                        const cli_list_t *limits, queue_limit_flag_t *out,
                        char (*jobs)[ENVELOPE_MAX_NAME + 1], size_t *n_out)
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        const cli_list_t *l = pass == 0 ? rates : limits;
        for (int i = 0; i < l->n; i++) {
            char job[ENVELOPE_MAX_NAME + 1], err[256];
            const char *value;
            double rate = 0;
            long conc = 0;
            if (limit_split_flag(l->v[i], job, sizeof job, &value, err,
                                 sizeof err) != 0 ||
                (pass == 0 ? limit_parse_rate(value, &rate, err, sizeof err)
                           : limit_parse_concurrency(value, &conc, err,
                                                     sizeof err)) != 0)
                return cli_usage_error(cmd, "%s %s: %s",
                                       pass == 0 ? "--rate" : "--limit",
                                       l->v[i], err);
            size_t k = 0;
            while (k < n && strcmp(jobs[k], job) != 0)
                k++;
            if (k < n && (pass == 0 ? out[k].rate_per_s > 0
                                    : out[k].concurrency > 0))
                return cli_usage_error(cmd, "%s %s: job %s is given twice",
                                       pass == 0 ? "--rate" : "--limit",
                                       l->v[i], job);
            if (k == n) {
                snprintf(jobs[n], sizeof jobs[n], "%s", job);
                out[n] = (queue_limit_flag_t){.job = jobs[n]};
                n++;
            }
            if (pass == 0)
                out[k].rate_per_s = rate;
            else
                out[k].concurrency = conc;
        }
    }
    *n_out = n;
    return 0;
}

/* What the options table cannot check alone: names and how the options
 * relate. Returns 0, or 2 after one usage line. */
static int check_usage(const cli_cmd_t *cmd, const worker_config_t *c,
                       const supervisor_config_t *sc)
{
    if (sc->workers == 0 && (sc->max_memory || sc->max_jobs))
        return cli_usage_error(cmd, "%s needs worker processes under a "
                               "supervisor (--workers 1 or more)",
                               sc->max_memory ? "--max-memory"
                                              : "--max-jobs-per-worker");
    if (c->job_timeout_ms > c->max_timeout_ms) {
        char t[32], m[32];
        cli_format_duration(c->job_timeout_ms, t, sizeof t);
        cli_format_duration(c->max_timeout_ms, m, sizeof m);
        return cli_usage_error(cmd, "--job-timeout (%s) is longer than "
                               "--max-timeout (%s)", t, m);
    }
    char err[512];
    queue_keys_t keys;
    for (int i = 0; i < c->n_queues; i++)
        if (queue_keys_init(&keys, c->ns, c->queues[i], err, sizeof err))
            return cli_usage_error(cmd, "%s", err);
    if (c->consumer &&
        strncmp(c->consumer, QUEUE_PARKED_PREFIX,
                strlen(QUEUE_PARKED_PREFIX)) == 0)
        return cli_usage_error(cmd, "--consumer '%s': names starting with "
                               "'" QUEUE_PARKED_PREFIX "' are the group's "
                               "parked jobs, not workers", c->consumer);
    if (c->consumer && strncmp(c->consumer, QUEUE_LOST_PREFIX,
                               strlen(QUEUE_LOST_PREFIX)) == 0)
        return cli_usage_error(cmd, "--consumer '%s': names starting with "
                               "'" QUEUE_LOST_PREFIX "' hold the jobs of "
                               "dead workers, not workers", c->consumer);
    if ((c->http_token_file || c->http_public_read) && c->http == NULL)
        return cli_usage_error(cmd, "%s needs --http",
                               c->http_token_file ? "--http-token-file"
                                                  : "--http-public-read");
    if (c->health_file) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", c->health_file);
        char *slash = strrchr(dir, '/');
        const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir))
                              : ".";
        struct stat st;
        if (c->health_file[0] == '\0' ||
            c->health_file[strlen(c->health_file) - 1] == '/')
            return cli_usage_error(cmd, "--health-file '%s': give a file "
                                   "name", c->health_file);
        if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
            return cli_usage_error(cmd, "--health-file %s: directory %s does "
                                   "not exist", c->health_file, d);
    }
    if (c->http) {
        char host[64];
        int port;
        if (http_parse_listen(c->http, host, sizeof host, &port, err,
                              sizeof err) != 0)
            return cli_usage_error(cmd, "--http %s", err);
    }
    if (sc->max_memory && sc->max_memory < (32L << 20))
        return cli_usage_error(cmd, "--max-memory %ld: at least 32m (a "
                               "worker with its plugins loaded takes more "
                               "than that; it would be recycled forever)",
                               (long)sc->max_memory);
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
        .wait_timeout_ms = 1000,
        .max_timeout_ms = 3600 * 1000LL,
        .timeout_grace_ms = 10000,
        .probe_timeout_ms = PROBE_DEFAULT_TIMEOUT_MS,
        .board_fd = -1,
    };
    long concurrency = 8;
    cli_list_t queue_list = {.n = 0}, rate_list = {.n = 0},
               limit_list = {.n = 0};
    queue_limit_flag_t limit_flags[2 * CLI_LIST_MAX];
    char limit_jobs[2 * CLI_LIST_MAX][ENVELOPE_MAX_NAME + 1];
    size_t n_limit_flags = 0;
    long workers = supervisor_default_workers();
    long max_memory = 0, max_jobs = 0;
    char workers_help[512];
    snprintf(workers_help, sizeof workers_help,
             "Worker processes, run by a supervisor that maps no plugin code: "
             "a handler that crashes, hangs past its deadline or bloats "
             "takes down only its own worker, which is replaced "
             "(docs/isolation.md). 0 runs one process and no supervisor, "
             "for development and debuggers (default: the CPUs, at least "
             "%d and at most %d; the supervisor's start line says how many "
             "it runs).", SUPERVISOR_MIN_DEFAULT_WORKERS,
             SUPERVISOR_MAX_DEFAULT_WORKERS);
    const char *log_level = "info", *log_format = "text";
    int log_payloads = 0;
    int64_t log_summary_ms = 60000;
    const cli_opt_t opts[] = {
        {"plugin-dir", 'p', "JOBRT_PLUGIN_DIR", OPT_STRING, &c.plugin_dir,
         "DIR", "Load every *.so in DIR (required).", 0, 0},
        REDIS_CLI_LOGIN_ROWS(ro),
        {"queue", 'q', "JOBRT_QUEUE", OPT_LIST, &queue_list, "NAME[:W]",
         "Queue to work (default " DEFAULT_QUEUE "). Repeat it to serve "
         "several, up to 16: free slots go to those with work in "
         "proportion to their weights W (1-1000, default 1; a name may "
         "not end in :digits), e.g. -q critical:10 -q default:3 -q low:1 "
         "(docs/flow-control.md).", 0, WORKER_MAX_QUEUES},
        {"strict-priority", 0, "JOBRT_STRICT_PRIORITY", OPT_FLAG,
         &c.strict_priority, NULL, "With several --queue: take from a queue "
         "only while every queue given before it is empty, instead of by "
         "weight.", 0, 0},
        {"rate", 0, "JOBRT_RATE", OPT_LIST, &rate_list, "JOB=N/U",
         "A fleet-wide rate limit: jobs of JOB start at most N per second, "
         "minute or hour (U: s, m or h; e.g. invoice_email=100/s) across "
         "every worker of each queue served. Written at start to the "
         "queue's limits (as `jobrt limit set`), which every worker reads "
         "every 250 ms; jobs over the rate wait in the delayed set, "
         "attempt not counted (docs/flow-control.md). Repeatable, up to "
         "16.", 0, CLI_LIST_MAX},
        {"limit", 0, "JOBRT_LIMIT", OPT_LIST, &limit_list, "JOB=N",
         "A fleet-wide concurrency limit: at most N jobs of JOB run at "
         "once across every worker of each queue served (a dead worker's "
         "slots come back after --lease). Written at start like --rate. "
         "Repeatable, up to 16.", 0, CLI_LIST_MAX},
        {"namespace", 0, "JOBRT_NAMESPACE", OPT_STRING, &c.ns, "NS",
         "Key prefix, so environments can share a Redis (default "
         DEFAULT_NAMESPACE ").", 0, 0},
        {"workers", 'w', "JOBRT_WORKERS", OPT_INT, &workers, "K",
         workers_help, 0, SUPERVISOR_MAX_WORKERS},
        {"concurrency", 'c', "JOBRT_CONCURRENCY", OPT_INT, &concurrency, "N",
         "Jobs held and run at once by each worker process, each on its "
         "own thread (threads start as needed; default 8).", 1, 4096},
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
         "DUR", "Deadline for handlers that set none (default 5m). At the "
         "deadline a handler sees job_cancel_requested().", 1, 86400000},
        {"max-timeout", 0, "JOBRT_MAX_TIMEOUT", OPT_DURATION,
         &c.max_timeout_ms, "DUR", "No job's deadline is longer, whatever "
         "its handler or its envelope's timeout_ms says (default 1h).", 1,
         86400000},
        {"timeout-grace", 0, "JOBRT_TIMEOUT_GRACE", OPT_DURATION,
         &c.timeout_grace_ms, "DUR", "A handler still running DUR after its "
         "deadline is stopped: its worker takes no more jobs, lets the "
         "others finish, and is replaced; the job is recorded as timeout "
         "and retried per its policy. With --workers 0 nothing can stop "
         "it: its lease lapses and another worker takes it over (default "
         "10s).", 0, 86400000},
        {"max-memory", 0, "JOBRT_MAX_MEMORY", OPT_SIZE, &max_memory, "SIZE",
         "A worker process whose RSS grows over SIZE (at least 32m) is "
         "recycled (replaced, after it finishes its running jobs); over 1.5 "
         "x SIZE it is killed at once, and a job running there that was "
         "running at an earlier such kill too is charged a delivery "
         "(default no limit).", 0, 1L << 50},
        {"max-jobs-per-worker", 0, "JOBRT_MAX_JOBS_PER_WORKER", OPT_INT,
         &max_jobs, "N", "A worker process takes N jobs, then is recycled "
         "(replaced once they are done), to bound what leaking plugins "
         "hold (default never).", 0,
         1000000000000L},
        PROBE_CLI_ROW(c.probe_timeout_ms),
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
         "A job whose worker stops renewing it (its machine or whole "
         "service died; with --workers 0, also a handler past its "
         "deadline) is redelivered after DUR (default 30s).", 1000,
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
        {"wait-replicas", 0, "JOBRT_WAIT_REPLICAS", OPT_INT,
         &c.wait_replicas, "N", "After each round of writes (completions, "
         "retries, dead letters), WAIT until N replicas have them, at most "
         "--wait-timeout; fewer is logged. Default 0: no WAIT "
         "(docs/delivery.md).", 0, 64},
        {"wait-timeout", 0, "JOBRT_WAIT_TIMEOUT", OPT_DURATION,
         &c.wait_timeout_ms, "DUR", "How long one --wait-replicas WAIT "
         "waits (default 1s, at most 2s: a WAIT holds the worker's other "
         "writes, its heartbeat included).", 1, 2000},
        {"dlq-max-len", 0, "JOBRT_DLQ_MAX_LEN", OPT_INT, &c.dlq_max_len, "N",
         "Approximate cap on dead-letter stream length (default 100000).", 1,
         100000000},
        {"http", 0, "JOBRT_HTTP", OPT_STRING, &c.http, "ADDR:PORT",
         "Serve /metrics (Prometheus), /healthz, /readyz and the dashboard "
         "at / on this address, from the supervisor (off by default; "
         "':9180' is 127.0.0.1:9180; a non-loopback address needs "
         "--http-token-file or --http-public-read for reads; "
         "docs/operations.md).", 0, 0},
        {"http-token-file", 0, "JOBRT_HTTP_TOKEN_FILE", OPT_STRING,
         &c.http_token_file, "FILE",
         "File whose first line is the endpoint's token (16-256 printable "
         "characters): dashboard writes (DLQ retry, purge) need it as "
         "'Authorization: Bearer TOKEN', and so do reads beyond loopback. "
         "Without it, writes are off.", 0, 0},
        {"http-public-read", 0, "JOBRT_HTTP_PUBLIC_READ", OPT_FLAG,
         &c.http_public_read, NULL,
         "Let anyone who reaches --http read /metrics, the dashboard and "
         "its API without the token (writes still need it).", 0, 0},
        {"health-file", 0, "JOBRT_HEALTH_FILE", OPT_STRING, &c.health_file,
         "PATH", "Keep this file while ready (it holds the pid and status) "
         "and remove it when not and on stop, for Docker HEALTHCHECK "
         "(test -f PATH).", 0, 0},
        {"run-dir", 0, "JOBRT_RUN_DIR", OPT_STRING, &c.run_dir, "DIR",
         "Where private plugin copies are loaded from: made 0700 if "
         "missing; an existing one must be a directory of this user that "
         "group and others cannot write (default a new directory in "
         "$TMPDIR, where those of workers that died are removed at start; "
         "must not be mounted noexec).", 0, 0},
        {"log-level", 0, "JOBRT_LOG_LEVEL", OPT_STRING, &log_level, "LEVEL",
         "error, warn, info or debug (default info).", 0, 0},
        {"log-format", 0, "JOBRT_LOG_FORMAT", OPT_STRING, &log_format, "FMT",
         "text (\"<time> <LEVEL> <module>: message [id=.. job=..]\") or "
         "json (one JSON object per line), for the supervisor and its "
         "workers alike; a line about a job carries what is known of its "
         "id, job, v, queue, attempt, plugin, build_id and correlation_id; "
         "control characters and invalid UTF-8 are escaped in both "
         "(docs/logging.md; default text).", 0, 0},
        {"log-payloads", 0, "JOBRT_LOG_PAYLOADS", OPT_FLAG, &log_payloads,
         NULL, "Show the job's payload (cut to 1 KiB, escaped) in the "
         "lines about a failed attempt or a dead letter; payloads are never "
         "logged without it.", 0, 0},
        {"log-summary", 0, "JOBRT_LOG_SUMMARY", OPT_DURATION, &log_summary_ms,
         "DUR", "Each worker process logs one info line per DUR: jobs "
         "succeeded, retried, dead-lettered and parked in it, jobs/s, in "
         "flight; 0 turns it off, else at least 1s (default 60s).", 0,
         86400000},
    };
    const cli_cmd_t cmd = {
        "run", "jobrt run --plugin-dir DIR [options]",
        "Runs the worker: loads the plugins in DIR, takes jobs from the "
        "queue's Redis stream,\nruns each with the handler for its job name "
        "and schema version, and acks,\nretries or dead-letters it. With "
        "--workers K (the default) a supervisor runs K\nworker processes "
        "and replaces one that crashes, overruns or bloats; its jobs\nare "
        "settled (the crashing one charged, the others released at once). "
        "SIGTERM\nor SIGINT stops it gracefully (exit 0). SIGHUP reloads "
        "the plugins (worker by\nworker): changed files are loaded as new "
        "generations and take new jobs at once,\nwhile running jobs finish "
        "on the old code, which is then unloaded\n(docs/rollout.md). "
        "SIGUSR1 makes the supervisor log each worker's state.\nBad usage "
        "is found before any plugin is loaded or Redis is contacted.\nExit "
        "codes: 0 stopped by signal, 1 could not start (or a worker crash "
        "loop),\n2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 0, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = cli_set_log_level(&cmd, log_level)) != 0)
        return rc;
    if (log_set_format_name(log_format) != 0)
        return cli_usage_error(&cmd, "%s: expected text or json, got '%s'",
                               log_format == getenv("JOBRT_LOG_FORMAT")
                                   ? "environment JOBRT_LOG_FORMAT"
                                   : "--log-format", log_format);
    log_set_payloads(log_payloads);
    if (log_summary_ms > 0 && log_summary_ms < 1000)
        return cli_usage_error(&cmd, "--log-summary %lldms: 0 (off) or at "
                               "least 1s", (long long)log_summary_ms);
    c.log_summary_ms = log_summary_ms;
    if (c.plugin_dir == NULL)
        return cli_usage_error(&cmd, "--plugin-dir is required");
    if ((rc = parse_queues(&cmd, &queue_list, &c)) != 0)
        return rc;
    if ((rc = parse_limits(&cmd, &rate_list, &limit_list, limit_flags,
                           limit_jobs, &n_limit_flags)) != 0)
        return rc;
    c.limit_flags = limit_flags;
    c.n_limit_flags = n_limit_flags;
    c.concurrency = (int)concurrency;
    c.max_jobs = max_jobs;
    supervisor_config_t sc = {
        .worker = &c,
        .workers = (int)workers,
        .max_memory = max_memory,
        .max_jobs = max_jobs,
        .argc = argc,
        .argv = argv,
    };
    if ((rc = check_usage(&cmd, &c, &sc)) != 0)
        return rc;
    /* Redis usage errors before any plugin is loaded */
    if ((rc = redis_cli_target(&cmd, &ro, &target)) != 0)
        return rc;
    const char *board = getenv("JOBRT_INTERNAL_BOARD_FD");
    if (board && *board) {
        /* One of a supervisor's workers (supervise/supervisor.c). */
        const char *number = getenv("JOBRT_INTERNAL_WORKER");
        const char *parent = getenv("JOBRT_INTERNAL_SUPERVISOR");
        char tag[32];
        snprintf(tag, sizeof tag, "w%s ", number ? number : "?");
        log_set_tag(tag);
        char comm[16]; /* what ps and top show: "jobrt w2" */
        snprintf(comm, sizeof comm, "jobrt w%.6s", number ? number : "?");
        prctl(PR_SET_NAME, comm);
        /* the supervisor gone (even killed): drain and stop */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (parent && atoi(parent) != (int)getppid()) {
            LOGE("worker", "the supervisor (pid %s) is gone; not starting",
                 parent);
            redis_target_free(&target);
            return 1;
        }
        c.board_fd = atoi(board);
        unsetenv("JOBRT_INTERNAL_BOARD_FD");
        rc = worker_run(&c);
    } else if (sc.workers > 0) {
        rc = supervisor_run(&sc);
    } else {
        rc = worker_run(&c);
    }
    redis_target_free(&target);
    return rc;
}
