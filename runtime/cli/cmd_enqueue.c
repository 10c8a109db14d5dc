/*
 * cmd_enqueue.c - `jobrt enqueue`: one job from the command line, or many
 * from NDJSON on stdin. Both forms parse into the same enqueue_entry_t
 * (queue/enqueue_parse.h) and go to Redis the same way (queue/enqueue.h):
 * pipelined in batches, each job's id printed on stdout in input order. A
 * bad line is reported with its line number and skipped; the other lines
 * are still enqueued.
 */
#define _GNU_SOURCE /* getline */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/util.h"
#include "queue/enqueue.h"
#include "queue/enqueue_parse.h"

#define PIPELINE 1000

/* What happened to the jobs, for the exit code and the summary line. */
typedef struct {
    int from_stdin;
    unsigned long long ok, duplicate, failed, rejected;
    unsigned long long unknown, unknown_first, unknown_last;
    char unknown_why[256];
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

/* Reads NDJSON from stdin into s. Returns 0, or -1 if sending stopped
 * (the connection broke) before the end of the input. */
static int enqueue_stdin(enqueue_sender_t *s, tally_t *t)
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
    int64_t delay_ms = -1, expires_in_ms = -1, window_ms = -1;
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
        {"delay", 0, NULL, OPT_DURATION, &delay_ms, "DUR",
         "Run no sooner than DUR from now (waits in the delayed set).", 0,
         ENQUEUE_MAX_DURATION_MS},
        {"at", 0, NULL, OPT_STRING, &at, "TIME",
         "Run no sooner than TIME: ms since the epoch, or UTC ISO-8601 "
         "(2026-11-23T15:00:00Z).", 0, 0},
        {"expires-in", 0, NULL, OPT_DURATION, &expires_in_ms, "DUR",
         "Dead-letter as expired, never run, if not started within DUR.", 1,
         ENQUEUE_MAX_DURATION_MS},
        {"key", 0, NULL, OPT_STRING, &idem_key, "KEY",
         "Idempotency key: within the dedupe window a second enqueue with "
         "KEY enqueues nothing and prints the first job's id.", 0, 0},
        {"dedupe-window", 0, NULL, OPT_DURATION, &window_ms, "DUR",
         "How long --key is remembered (default 24h).", 1,
         ENQUEUE_MAX_DURATION_MS},
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
        "\"max_attempts\" (integer), \"enqueued_at\",\n\"not_before\", "
        "\"expires_at\" (integers, ms since the epoch), and --delay, --at,\n"
        "--expires-in, --key and --dedupe-window as \"delay\", \"at\", "
        "\"expires_in\", \"key\"\nand \"dedupe_window\", with the flags' "
        "values. Lines are sent pipelined in batches\nof 1000. A bad line (an "
        "unknown key, a wrong type, \"delay\" with \"at\", ...) is\n"
        "reported as 'stdin:LINE: reason' and skipped; a duplicate key prints "
        "the first\njob's id.\n\n"
        "Exit codes: 0 all enqueued (or duplicates), 1 some line rejected or "
        "Redis\nfailed, 2 bad usage.",
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
            "--delay", "--at", "--expires-in", "--key", "--dedupe-window"};
        static const char *const keys[] = {
            "v", "payload", "id", "correlation_id", "max_attempts", "delay",
            "at", "expires_in", "key", "dedupe_window"};
        const int given[] = {version >= 0, payload != NULL, id != NULL,
                             corr != NULL, max_attempts != 0, delay_ms >= 0,
                             at != NULL, expires_in_ms >= 0,
                             idem_key != NULL, window_ms >= 0};
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
        if (at && enqueue_parse_at(at, &spec.at_ms) != 0)
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
    enqueue_sender_t *s = enqueue_sender_create(c, &keys, PIPELINE,
                                                on_result, &t);
    if (s == NULL) {
        fprintf(stderr, "jobrt enqueue: out of memory\n");
        rc = 1;
    } else if (!t.from_stdin) {
        if (enqueue_sender_add(s, &e, 0) == 0)
            enqueue_sender_flush(s);
        report_unknown(&t);
        rc = t.ok + t.duplicate == 1 ? 0 : 1;
    } else {
        enqueue_stdin(s, &t);
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
        rc = t.failed + t.rejected + t.unknown ? 1 : 0;
    }
    enqueue_sender_destroy(s);
    redisFree(c);
    enqueue_entry_free(&e);
    return rc;
}
