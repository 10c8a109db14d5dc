/*
 * cmd_enqueue.c - `jobrt enqueue`: one job from the command line, or many
 * from NDJSON on stdin. Both forms parse into the same enqueue_entry_t
 * (queue/enqueue_parse.h) and go to Redis the same way (queue/enqueue.h):
 * pipelined in batches, each job's id printed on stdout in input order. A
 * bad line is reported with its line number and skipped; the other lines
 * are still enqueued. Before anything is sent, the live workers of the
 * queue are read once from the fleet registry (fleet/fleet_view.h): a job of a
 * (job, version) none of them serves gets a warning (once per pair), or
 * with --require-served is not sent.
 */
#define _GNU_SOURCE /* getline */
#include <stdio.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/util.h"
#include "fleet/fleet_view.h"
#include "queue/enqueue.h"
#include "queue/enqueue_parse.h"

#define PIPELINE 1000
#define SERVED_MAX_PAIRS 1024 /* distinct (job, version) pairs remembered */

/* What happened to the jobs, for the exit code and the summary line. */
typedef struct {
    int from_stdin;
    unsigned long long ok, duplicate, failed, rejected;
    unsigned long long unknown, unknown_first, unknown_last;
    char unknown_why[256];
    /* --wait-replicas: jobs on the primary only, and the fewest replicas
     * a batch reached (-1: WAIT's answer was lost) */
    unsigned long long under_replicated;
    long long fewest_replicas;
} tally_t;

static void on_result(void *arg, const enqueue_result_t *r)
{
    tally_t *t = arg;
    char where[48];
    if (t->from_stdin)
        snprintf(where, sizeof where, "stdin:%llu", r->tag);
    else
        snprintf(where, sizeof where, "jobrt enqueue");
    switch (r->status) {
    case ENQUEUE_ADDED:
        puts(r->job_id);
        t->ok++;
        if (r->under_replicated) {
            if (t->under_replicated++ == 0 ||
                r->replicas < t->fewest_replicas)
                t->fewest_replicas = r->replicas;
        }
        break;
    case ENQUEUE_DUPLICATE:
        puts(r->job_id);
        fprintf(stderr, "%s: duplicate: key '%s' was used by job %s within "
                "the dedupe window; nothing enqueued\n", where, r->key,
                r->job_id);
        t->duplicate++;
        break;
    case ENQUEUE_FAILED:
        fprintf(stderr, "%s: %s\n", where, r->error);
        t->failed++;
        break;
    case ENQUEUE_UNKNOWN:
        if (t->unknown++ == 0) {
            t->unknown_first = r->tag;
            util_copy_str(t->unknown_why, sizeof t->unknown_why, r->error);
        }
        t->unknown_last = r->tag;
        break;
    }
}

/* One line for the jobs whose fate is unknown (the connection broke). */
static void report_unknown(const tally_t *t)
{
    if (t->unknown == 0)
        return;
    if (!t->from_stdin)
        fprintf(stderr, "jobrt enqueue: %s; the job may or may not have been "
                "enqueued\n", t->unknown_why);
    else
        fprintf(stderr, "jobrt enqueue: %s; %llu job(s) of lines %llu-%llu "
                "may or may not have been enqueued\n", t->unknown_why,
                t->unknown, t->unknown_first, t->unknown_last);
}

/* One line for the jobs that reached fewer replicas than --wait-replicas. */
static void report_under_replicated(const tally_t *t, int want,
                                    long timeout_ms)
{
    if (t->under_replicated == 0)
        return;
    char got[64];
    if (t->fewest_replicas < 0)
        snprintf(got, sizeof got, "an unknown number (WAIT's answer was "
                 "lost)");
    else
        snprintf(got, sizeof got, "%lld", t->fewest_replicas);
    fprintf(stderr, "jobrt enqueue: %llu job(s) enqueued on the primary "
            "reached %s of %d replica(s) within %ld ms (--wait-replicas): "
            "they are queued, but a failover before they replicate would "
            "lose them\n", t->under_replicated, got, want, timeout_ms);
}

/* ---- is (job, version) served? ------------------------------------------ */

typedef struct {
    char job[ENVELOPE_MAX_NAME + 1];
    uint32_t version;
} pair_t;

/* The live workers of the queue, read once before anything is sent, and
 * the (job, version) pairs already warned about. */
typedef struct {
    const char *queue;
    int require;   /* --require-served */
    int known;     /* the fleet was read whole: the checks apply */
    fleet_t fleet;
    pair_t *warned;
    size_t n_warned;
    int full;      /* SERVED_MAX_PAIRS reached: no more warnings */
} served_t;

/* Reads the live workers. Returns 0, or 1 (printed) when --require-served
 * is set and they cannot be read. */
static int served_open(served_t *s, redisContext *c, const queue_keys_t *k)
{
    char err[512];
    int64_t now;
    if (fleet_server_time(c, &now, err, sizeof err) == 0 &&
        fleet_read(c, k, now, FLEET_MAX_WORKERS, &s->fleet, err,
                   sizeof err) == 0) {
        /* More live workers than were read: an unserved pair may be
         * served by one not read, so nothing is said. */
        s->known = !s->fleet.truncated;
        return 0;
    }
    fprintf(stderr, "jobrt enqueue: %s: cannot tell which workers of queue "
            "%s serve what: %s\n", s->require ? "--require-served"
                                              : "warning", s->queue, err);
    return s->require ? 1 : 0;
}

static void served_close(served_t *s)
{
    fleet_free(&s->fleet);
    free(s->warned);
}

/* Checks the job of e before it is sent; line is its stdin line (0: the
 * command line). Returns 0 to send it, -1 if it is refused (printed). */
static int served_check(served_t *s, const enqueue_entry_t *e,
                        unsigned long long line)
{
    jobrt_envelope env;
    char why[256], job[ENVELOPE_MAX_NAME + 1];
    if (!s->known ||
        envelope_parse(e->fields, e->n_fields, &env, why, sizeof why) != 0 ||
        env.job.len >= sizeof job)
        return 0;
    memcpy(job, env.job.ptr, env.job.len);
    job[env.job.len] = '\0';
    if (fleet_count_serving(&s->fleet, job, env.version) > 0)
        return 0;
    size_t i = 0;
    while (!s->require && i < s->n_warned &&
           (s->warned[i].version != env.version ||
            strcmp(s->warned[i].job, job) != 0))
        i++;
    if (!s->require && (i < s->n_warned || s->full))
        return 0; /* said already */
    /* what the live workers do serve of job, for the parenthesis */
    buf_t served = {0};
    const char *what = "the queue has no live workers";
    if (s->fleet.n && fleet_served_versions(&s->fleet, job, &served) == 0 &&
        served.len > 0)
        what = "live workers serve ";
    else if (s->fleet.n)
        what = "live workers serve no version of ";
    const char *whose = s->fleet.n ? served.len ? served.data : job : "";
    char where[64] = "jobrt enqueue";
    if (line && s->require)
        snprintf(where, sizeof where, "stdin:%llu", line);
    fprintf(stderr, "%s: %sno live worker of queue %s serves %s v%u (%s%s)",
            where, s->require ? "not enqueued: " : "warning: ", s->queue,
            job, env.version, what, whose);
    /* What the live workers do with a job they cannot serve: the
     * smallest --park-ttl among them decides (0: dead-letter at once). */
    int known = 0;
    unsigned long long ttl = 0;
    for (size_t k = 0; k < s->fleet.n; k++) {
        const fleet_worker_t *fw = &s->fleet.w[k];
        if (fw->ok && fw->rec.has_park_ttl &&
            (!known || fw->rec.park_ttl_ms < ttl)) {
            ttl = fw->rec.park_ttl_ms;
            known = 1;
        }
    }
    char fate[160];
    if (!s->fleet.n) {
        snprintf(fate, sizeof fate, "wait until one does");
    } else if (known && ttl == 0) {
        snprintf(fate, sizeof fate, "be dead-lettered as no_handler or "
                 "schema_unsupported (a live worker runs --park-ttl 0)");
    } else if (known) {
        char d[32];
        util_format_duration((int64_t)ttl, d, sizeof d);
        snprintf(fate, sizeof fate, "park until one does, and be "
                 "dead-lettered after %s parked (--park-ttl)", d);
    } else {
        snprintf(fate, sizeof fate, "park until one does");
    }
    if (s->require)
        fprintf(stderr, " and --require-served is set\n");
    else if (line)
        fprintf(stderr, "; such jobs will %s (first: stdin line %llu)\n",
                fate, line);
    else
        fprintf(stderr, "; the job will %s\n", fate);
    buf_free(&served);
    if (s->require)
        return -1;
    if (s->n_warned == SERVED_MAX_PAIRS) {
        s->full = 1;
        fprintf(stderr, "jobrt enqueue: note: %d (job, version) pairs "
                "warned about; no more warnings for this input\n",
                SERVED_MAX_PAIRS);
        return 0;
    }
    pair_t *p = realloc(s->warned, (s->n_warned + 1) * sizeof *p);
    if (p) {
        s->warned = p;
        memcpy(p[s->n_warned].job, job, env.job.len + 1);
        p[s->n_warned++].version = env.version;
    }
    return 0;
}

/* Reads NDJSON from stdin into s. Returns 0, or -1 if sending stopped
 * (the connection broke) before the end of the input. */
static int enqueue_stdin(enqueue_sender_t *s, served_t *sv, tally_t *t)
{
    char *line = NULL, err[512];
    size_t cap = 0;
    ssize_t n;
    unsigned long long lineno = 0;
    enqueue_entry_t e;
    memset(&e, 0, sizeof e);
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        if (enqueue_parse_line(line, (size_t)n, util_now_ms(), &e, err,
                               sizeof err) != 0) {
            fprintf(stderr, "stdin:%llu: %s\n", lineno, err);
            t->rejected++;
            continue;
        }
        if (served_check(sv, &e, lineno) != 0) {
            t->rejected++;
            continue;
        }
        if (enqueue_sender_add(s, &e, lineno) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = enqueue_sender_flush(s);
    if (rc != 0)
        fprintf(stderr, "jobrt enqueue: stopped after line %llu: the rest "
                "of stdin was not read\n", lineno);
    free(line);
    enqueue_entry_free(&e);
    return rc;
}

int cmd_enqueue(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *payload = NULL, *id = NULL, *corr = NULL, *at = NULL;
    const char *idem_key = NULL;
    long version = -1, max_attempts = 0;
    int64_t delay_ms = -1, expires_in_ms = -1, window_ms = -1, timeout = 0;
    int require_served = 0;
    long wait_replicas = 0;
    int64_t wait_timeout_ms = 1000;
    const cli_opt_t opts[] = {
        {"schema", 'v', NULL, OPT_INT, &version, "N",
         "Payload schema version (required with JOB).", 0, 2147483647},
        {"payload", 'd', NULL, OPT_STRING, &payload, "JSON",
         "The payload as JSON text (required with JOB).", 0, 0},
        {"id", 0, NULL, OPT_STRING, &id, "ID",
         "Job id (default: the stream entry id Redis assigns; with --delay, "
         "--at or --key, a generated <ms>-<hex> id).", 0, 0},
        {"correlation-id", 0, NULL, OPT_STRING, &corr, "ID",
         "Correlation id passed through to the handler.", 0, 0},
        {"max-attempts", 0, NULL, OPT_INT, &max_attempts, "N",
         "Lower the handler's max attempts for this job.", 1,
         ENVELOPE_MAX_ATTEMPTS},
        {"timeout", 0, NULL, OPT_DURATION, &timeout, "DUR",
         "This job's deadline, instead of its handler's (the worker's "
         "--max-timeout caps it; wire field timeout_ms).", 1,
         ENVELOPE_MAX_TIMEOUT_MS},
        {"delay", 0, NULL, OPT_DURATION, &delay_ms, "DUR",
         "Run no sooner than DUR from now (waits in the delayed set).", 0,
         ENQUEUE_MAX_DURATION_MS},
        {"at", 0, NULL, OPT_STRING, &at, "TIME",
         "Run no sooner than TIME: ms since the epoch, or UTC ISO-8601 "
         "(2026-11-23T15:00:00Z); a number below 10^11 (before 1973) is "
         "refused as seconds.", 0, 0},
        {"expires-in", 0, NULL, OPT_DURATION, &expires_in_ms, "DUR",
         "Dead-letter as expired, never run, if not started within DUR.", 1,
         ENQUEUE_MAX_DURATION_MS},
        {"key", 0, NULL, OPT_STRING, &idem_key, "KEY",
         "Idempotency key: within the dedupe window a second enqueue with "
         "KEY enqueues nothing and prints the first job's id.", 0, 0},
        {"dedupe-window", 0, NULL, OPT_DURATION, &window_ms, "DUR",
         "How long --key is remembered (default 24h).", 1,
         ENQUEUE_MAX_DURATION_MS},
        {"require-served", 0, "JOBRT_REQUIRE_SERVED", OPT_FLAG,
         &require_served, NULL,
         "Send no job of a (job, version) that no live worker of QUEUE "
         "serves: it is reported and not enqueued (exit 1), instead of a "
         "warning.", 0, 0},
        {"wait-replicas", 0, "JOBRT_WAIT_REPLICAS", OPT_INT, &wait_replicas,
         "N", "After each batch, WAIT until N replicas have its jobs (at "
         "most --wait-timeout); jobs they do not reach in time are reported "
         "(exit 3). Default 0: no WAIT.", 0, 64},
        {"wait-timeout", 0, "JOBRT_WAIT_TIMEOUT", OPT_DURATION,
         &wait_timeout_ms, "DUR", "How long --wait-replicas waits per batch "
         "(default 1s).", 1, 3600000},
        REDIS_CLI_CONN_ROWS(ro),
    };
    const cli_cmd_t cmd = {
        "enqueue",
        "jobrt enqueue QUEUE JOB -v N --payload JSON [options]\n"
        "       jobrt enqueue QUEUE < jobs.ndjson",
        "Adds jobs to QUEUE and prints each job's id. --delay/--at park a job "
        "in the\nqueue's delayed set until it is due; --key makes the "
        "enqueue idempotent.\n\n"
        "Without JOB (or with JOB '-'), reads one job per line from stdin, a "
        "JSON object\nwith the wire fields of docs/protocol.md: \"job\" "
        "(string), \"v\" (integer),\n\"payload\" (any JSON, kept byte for "
        "byte), \"id\", \"correlation_id\",\n\"idempotency_key\" (strings), "
        "\"max_attempts\", \"timeout_ms\" (integers), \"enqueued_at\",\n\"not_before\", "
        "\"expires_at\" (integers, ms since the epoch), and --delay, --at,\n"
        "--expires-in, --key and --dedupe-window as \"delay\", \"at\", "
        "\"expires_in\", \"key\"\nand \"dedupe_window\", with the flags' "
        "values. Lines are sent pipelined in batches\nof 1000. A bad line (an "
        "unknown key, a wrong type, \"delay\" with \"at\", ...) is\n"
        "reported as 'stdin:LINE: reason' and skipped; a duplicate key prints "
        "the first\njob's id.\n\n"
        "Before sending, the live workers of QUEUE are read from the fleet "
        "registry\n(see jobrt workers): when none of them serves a job's "
        "(job, version), one\nwarning line says so (once per pair) and what "
        "they serve, as the job will\npark until a worker that serves it "
        "comes (or wait, if the queue has no live\nworker); the job is "
        "still sent. With --require-served it is not: the line\n"
        "'... not enqueued: no live worker of queue Q serves JOB vN (...)' "
        "instead,\nand exit code 1 (on stdin, the line is skipped like a "
        "bad one). When the\nregistry cannot be read (say, an ACL user "
        "without ZRANGEBYSCORE or GETRANGE),\na warning says so and the "
        "jobs are sent; with --require-served, none is.\n\n"
        "With --wait-replicas N each batch is followed by WAIT N: a job is "
        "reported once\nN replicas have it (docs/delivery.md, \"Replicas "
        "and failover\").\n\n"
        "Exit codes: 0 all enqueued (or duplicates), 1 some line rejected "
        "(also by\n--require-served) or Redis failed, 2 bad usage, 3 all "
        "enqueued but some not on\n--wait-replicas replicas in time.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[2];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 2, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos < 1)
        return cli_usage_error(&cmd, "expected QUEUE");
    ro.queue = pos[0];
    tally_t t = {.from_stdin = n_pos == 1 || strcmp(pos[1], "-") == 0};
    if (t.from_stdin) {
        static const char *const flags[] = {
            "-v", "--payload", "--id", "--correlation-id", "--max-attempts",
            "--delay", "--at", "--expires-in", "--key", "--dedupe-window",
            "--timeout"};
        static const char *const keys[] = {
            "v", "payload", "id", "correlation_id", "max_attempts", "delay",
            "at", "expires_in", "key", "dedupe_window", "timeout_ms"};
        const int given[] = {version >= 0, payload != NULL, id != NULL,
                             corr != NULL, max_attempts != 0, delay_ms >= 0,
                             at != NULL, expires_in_ms >= 0,
                             idem_key != NULL, window_ms >= 0, timeout != 0};
        for (size_t i = 0; i < sizeof given / sizeof given[0]; i++)
            if (given[i])
                return cli_usage_error(&cmd, "%s goes with JOB; on stdin "
                                       "give each line its \"%s\"", flags[i],
                                       keys[i]);
    }
    int64_t now = util_now_ms();
    enqueue_spec_t spec = ENQUEUE_SPEC_INIT;
    if (!t.from_stdin) {
        if (version < 0)
            return cli_usage_error(&cmd, "-v N (payload schema version) is "
                                   "required");
        if (payload == NULL)
            return cli_usage_error(&cmd, "--payload is required");
        if (at && delay_ms >= 0)
            return cli_usage_error(&cmd, "--at and --delay: give one of "
                                   "them");
        int at_rc = at ? enqueue_parse_at(at, &spec.at_ms) : 0;
        if (at_rc == ENQUEUE_AT_SECONDS)
            return cli_usage_error(&cmd, "--at %s looks like seconds since "
                                   "the epoch: --at takes ms (%s000) or UTC "
                                   "ISO-8601 like 2026-11-23T15:00:00Z",
                                   at, at);
        if (at_rc != 0)
            return cli_usage_error(&cmd, "--at: expected ms since the epoch "
                                   "or UTC ISO-8601 like "
                                   "2026-11-23T15:00:00Z, got '%s'", at);
        if (idem_key && !envelope_valid_id(idem_key, strlen(idem_key)))
            return cli_usage_error(&cmd, "--key must be 1-%d printable "
                                   "non-space ASCII characters",
                                   ENVELOPE_MAX_ID);
        if (window_ms >= 0 && idem_key == NULL)
            return cli_usage_error(&cmd, "--dedupe-window needs --key");
        spec.job = pos[1];
        spec.version = version;
        spec.payload = payload;
        spec.payload_len = strlen(payload);
        spec.id = id;
        spec.correlation_id = corr;
        spec.idempotency_key = idem_key;
        spec.max_attempts = max_attempts;
        spec.timeout_ms = (long)timeout;
        spec.enqueued_at_ms = now;
        spec.expires_at_ms = expires_in_ms >= 0 ? now + expires_in_ms : -1;
        spec.delay_ms = delay_ms;
        spec.dedupe_window_ms = window_ms;
    }

    char err[512];
    enqueue_entry_t e;
    memset(&e, 0, sizeof e);
    if (!t.from_stdin && enqueue_build(&spec, &e, err, sizeof err) != 0) {
        enqueue_entry_free(&e);
        return cli_usage_error(&cmd, "%s", err);
    }
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL) {
        enqueue_entry_free(&e);
        return rc;
    }
    if (wait_replicas > 0) {
        /* a WAIT may take --wait-timeout to answer: read that long more
         * (with --cluster, past the router's own budget for it, so that
         * its error, naming the node, is the one shown) */
        int64_t ms = wait_timeout_ms + (ro.cluster ? 12000 : 5000);
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) *
                                                     1000};
        redisSetTimeout(c, tv);
    }
    served_t sv = {.queue = pos[0], .require = require_served};
    enqueue_sender_t *s = NULL;
    if (served_open(&sv, c, &keys) != 0) {
        rc = 1;
    } else if ((s = enqueue_sender_create(c, &keys, PIPELINE, on_result,
                                          &t)) == NULL) {
        fprintf(stderr, "jobrt enqueue: out of memory\n");
        rc = 1;
    } else if (enqueue_sender_set_events(s, enqueue_events_setting(c, &keys)),
               enqueue_sender_set_wait(s, (int)wait_replicas,
                                       (long)wait_timeout_ms),
               !t.from_stdin) {
        if (served_check(&sv, &e, 0) == 0 && enqueue_sender_add(s, &e, 0) == 0)
            enqueue_sender_flush(s);
        report_unknown(&t);
        report_under_replicated(&t, (int)wait_replicas, (long)wait_timeout_ms);
        rc = t.ok + t.duplicate == 1 ? (t.under_replicated ? 3 : 0) : 1;
    } else {
        enqueue_stdin(s, &sv, &t);
        report_unknown(&t);
        fprintf(stderr, "jobrt enqueue: %llu job(s) enqueued to %s", t.ok,
                pos[0]);
        if (t.duplicate)
            fprintf(stderr, ", %llu duplicate(s) not enqueued again",
                    t.duplicate);
        if (t.failed + t.rejected)
            fprintf(stderr, ", %llu line(s) rejected or failed",
                    t.failed + t.rejected);
        if (t.unknown)
            fprintf(stderr, ", %llu unknown", t.unknown);
        fprintf(stderr, "\n");
        report_under_replicated(&t, (int)wait_replicas, (long)wait_timeout_ms);
        rc = t.failed + t.rejected + t.unknown ? 1
             : t.under_replicated              ? 3
                                               : 0;
    }
    enqueue_sender_destroy(s);
    served_close(&sv);
    redisFree(c);
    enqueue_entry_free(&e);
    return rc;
}
