/*
 * cmd_enqueue.c - `jobrt enqueue`: one job from the command line, or many
 * from NDJSON on stdin, pipelined in batches (one round trip per batch).
 * Prints each job's id on stdout, in input order. A bad line is reported
 * with its line number and skipped; the other lines are still enqueued.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "cli/commands.h"
#include "queue/enqueue_parse.h"
#include "queue/keys.h"
#include "queue/scripts.h"
#include "queue/redis_conn.h"
#include "core/util.h"

#include <sys/random.h>
#include <time.h>

#define PIPELINE 1000

typedef struct {
    redisContext *c;
    const char *stream;
    size_t pending;
    char (*ids)[ENVELOPE_MAX_ID + 1]; /* explicit ids of pending entries */
    unsigned long long ok, failed;
} enq_t;

static int append(enq_t *q, const enqueue_entry_t *e)
{
    const char *argv[3 + ENQUEUE_MAX_FIELDS];
    size_t lens[3 + ENQUEUE_MAX_FIELDS];
    argv[0] = "XADD";
    lens[0] = 4;
    argv[1] = q->stream;
    lens[1] = strlen(q->stream);
    argv[2] = "*";
    lens[2] = 1;
    for (size_t i = 0; i < e->n_fields; i++) {
        argv[3 + i] = e->fields[i].ptr;
        lens[3 + i] = e->fields[i].len;
    }
    if (redisAppendCommandArgv(q->c, (int)(3 + e->n_fields), argv, lens) !=
        REDIS_OK)
        return -1;
    memcpy(q->ids[q->pending], e->id, sizeof q->ids[0]);
    q->pending++;
    return 0;
}

/* Reads the replies of the pending batch. Returns -1 if the connection
 * broke (the rest of the input is not sent). */
static int drain(enq_t *q)
{
    for (size_t i = 0; i < q->pending; i++) {
        redisReply *r = NULL;
        if (redisGetReply(q->c, (void **)&r) != REDIS_OK) {
            fprintf(stderr, "jobrt enqueue: lost the connection to redis: %s;"
                    " %zu job(s) of the last batch may or may not have been "
                    "enqueued\n", q->c->errstr, q->pending - i);
            q->failed += q->pending - i;
            return -1;
        }
        if (r->type == REDIS_REPLY_STRING) {
            puts(q->ids[i][0] ? q->ids[i] : r->str);
            q->ok++;
        } else {
            fprintf(stderr, "jobrt enqueue: XADD failed: %s\n",
                    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            q->failed++;
        }
        freeReplyObject(r);
    }
    q->pending = 0;
    return 0;
}

/* --at: ms since the epoch, or UTC ISO-8601 like 2026-11-23T15:00:00Z. */
static int parse_at(const char *s, int64_t *out)
{
    uint64_t ms;
    if (util_parse_u64(s, strlen(s), (uint64_t)INT64_MAX, &ms) == 0) {
        *out = (int64_t)ms;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        return -1;
    long frac_ms = 0;
    if (*end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*end - '0');
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
        return -1;
    *out = (int64_t)timegm(&tm) * 1000 + frac_ms;
    return 0;
}

/* One job through the ENQUEUE script (delay and/or dedupe). Prints the
 * job id (the first job's, for a duplicate). Returns 0 or 1. */
static int enqueue_scripted(redisContext *c, const queue_keys_t *k,
                            const enqueue_entry_t *e, const char *job_id,
                            int64_t delay_ms, int64_t at_ms,
                            const char *idem_key, int64_t window_ms)
{
    /* EVAL, script, numkeys, 4 keys, 4 args, then the fields */
    const char *argv[11 + ENQUEUE_MAX_FIELDS];
    size_t lens[11 + ENQUEUE_MAX_FIELDS];
    char idem[700], d[24], a[24], w[24];
    int n = 0;
#define ARG(p)                                                              \
    do {                                                                    \
        argv[n] = (p);                                                      \
        lens[n++] = strlen(p);                                              \
    } while (0)
    ARG("EVAL");
    ARG(queue_script_enqueue);
    ARG(idem_key ? "4" : "3");
    ARG(k->stream);
    ARG(k->delayed);
    ARG(k->seq);
    if (idem_key) {
        snprintf(idem, sizeof idem, "%s%s", k->idem_prefix, idem_key);
        ARG(idem);
    }
    snprintf(d, sizeof d, "%lld", (long long)delay_ms);
    snprintf(a, sizeof a, "%lld", (long long)at_ms);
    snprintf(w, sizeof w, "%lld", (long long)window_ms);
    ARG(d);
    ARG(a);
    ARG(w);
    ARG(job_id);
#undef ARG
    for (size_t i = 0; i < e->n_fields; i++) {
        argv[n] = e->fields[i].ptr;
        lens[n++] = e->fields[i].len;
    }
    redisReply *r = redisCommandArgv(c, n, argv, lens);
    int rc = 1;
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "jobrt enqueue: %s\n", r ? r->str : c->errstr);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        puts(r->element[1]->str);
        if (r->element[0]->integer == 0)
            fprintf(stderr, "jobrt enqueue: duplicate: key '%s' was used by "
                    "job %s within the dedupe window; nothing enqueued\n",
                    idem_key, r->element[1]->str);
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int cmd_enqueue(int argc, char **argv)
{
    const char *redis_url = DEFAULT_REDIS_URL, *ns = DEFAULT_NAMESPACE;
    const char *payload = NULL, *id = NULL, *corr = NULL;
    long version = -1, max_attempts = 0;
    const char *at = NULL, *idem_key = NULL;
    int64_t delay_ms = 0, expires_in_ms = 0, window_ms = 86400000;
    const cli_opt_t opts[] = {
        {"schema", 'v', NULL, OPT_INT, &version, "N",
         "Payload schema version (required with JOB).", 0, 2147483647},
        {"payload", 'd', NULL, OPT_STRING, &payload, "JSON",
         "The payload as JSON text (required with JOB).", 0, 0},
        {"id", 0, NULL, OPT_STRING, &id, "ID",
         "Job id (default: the stream entry id Redis assigns).", 0, 0},
        {"correlation-id", 0, NULL, OPT_STRING, &corr, "ID",
         "Correlation id passed through to the handler.", 0, 0},
        {"max-attempts", 0, NULL, OPT_INT, &max_attempts, "N",
         "Lower the handler's max attempts for this job.", 1, 1000},
        {"delay", 0, NULL, OPT_DURATION, &delay_ms, "DUR",
         "Run no sooner than DUR from now (waits in the delayed set).", 0,
         366 * 86400000LL},
        {"at", 0, NULL, OPT_STRING, &at, "TIME",
         "Run no sooner than TIME: ms since the epoch, or UTC ISO-8601 "
         "(2026-11-23T15:00:00Z).", 0, 0},
        {"expires-in", 0, NULL, OPT_DURATION, &expires_in_ms, "DUR",
         "Dead-letter as expired, never run, if not started within DUR.", 1,
         366 * 86400000LL},
        {"key", 0, NULL, OPT_STRING, &idem_key, "KEY",
         "Idempotency key: within the dedupe window a second enqueue with "
         "KEY enqueues nothing and prints the first job's id.", 0, 0},
        {"dedupe-window", 0, NULL, OPT_DURATION, &window_ms, "DUR",
         "How long --key is remembered (default 24h).", 1, 366 * 86400000LL},
        {"redis", 'r', "JOBRT_REDIS", OPT_STRING, &redis_url, "URL",
         "Redis URL (default " DEFAULT_REDIS_URL ").", 0, 0},
        {"namespace", 0, "JOBRT_NAMESPACE", OPT_STRING, &ns, "NS",
         "Key prefix (default " DEFAULT_NAMESPACE ").", 0, 0},
    };
    const cli_cmd_t cmd = {
        "enqueue",
        "jobrt enqueue QUEUE JOB -v N --payload JSON [options]\n"
        "       jobrt enqueue QUEUE < jobs.ndjson",
        "Adds jobs to QUEUE and prints each job's id. --delay/--at park a job "
        "in the\nqueue's delayed set until it is due; --key makes the "
        "enqueue idempotent.\nWithout JOB (or with "
        "JOB '-'), reads\none job per line from stdin as "
        "{\"job\":\"name\",\"v\":1,\"payload\":{...}} with optional\n\"id\", "
        "\"correlation_id\" and \"max_attempts\"; lines are sent pipelined "
        "in batches of 1000.\nA bad line is reported as 'stdin:LINE: reason' "
        "and skipped.\nExit codes: 0 all enqueued, 1 some line rejected or "
        "Redis failed, 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[2];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 2, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos < 1)
        return cli_usage_error(&cmd, "expected QUEUE");
    int from_stdin = n_pos == 1 || strcmp(pos[1], "-") == 0;
    if (!from_stdin && version < 0)
        return cli_usage_error(&cmd, "-v N (payload schema version) is "
                               "required");
    if (!from_stdin && payload == NULL)
        return cli_usage_error(&cmd, "--payload is required");
    if (from_stdin && (payload || id || corr || version >= 0 || delay_ms ||
                       at || expires_in_ms || idem_key))
        return cli_usage_error(&cmd, "-v, --payload, --id, --correlation-id, "
                               "--delay, --at, --expires-in and --key go with "
                               "JOB, not with stdin");
    int64_t at_ms = 0;
    if (at && parse_at(at, &at_ms) != 0)
        return cli_usage_error(&cmd, "--at: expected ms since the epoch or "
                               "UTC ISO-8601 like 2026-11-23T15:00:00Z, got "
                               "'%s'", at);
    if (at && delay_ms)
        return cli_usage_error(&cmd, "--at and --delay: give one of them");
    if (idem_key && !envelope_valid_id(idem_key, strlen(idem_key)))
        return cli_usage_error(&cmd, "--key must be 1-%d printable non-space "
                               "ASCII characters", ENVELOPE_MAX_ID);
    int scripted = delay_ms || at || idem_key;
    char gen_id[64];
    if (!from_stdin && scripted && id == NULL) {
        /* Not XADDed now, so Redis assigns no id: make one. */
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            rnd = (uint32_t)util_mono_ms();
        snprintf(gen_id, sizeof gen_id, "%lld-%08x",
                 (long long)util_now_ms(), rnd);
        id = gen_id;
    }

    char err[512];
    queue_keys_t keys;
    if (queue_keys_init(&keys, ns, pos[0], err, sizeof err) != 0)
        return cli_usage_error(&cmd, "%s", err);
    enqueue_entry_t e;
    memset(&e, 0, sizeof e);
    if (!from_stdin &&
        enqueue_build(pos[1], version, payload, id, corr, max_attempts,
                      util_now_ms(), &e, err, sizeof err) != 0) {
        enqueue_entry_free(&e);
        return cli_usage_error(&cmd, "%s", err);
    }
    if (!from_stdin && expires_in_ms) {
        char exp[24];
        snprintf(exp, sizeof exp, "%lld",
                 (long long)(util_now_ms() + expires_in_ms));
        if (enqueue_entry_add(&e, "expires_at", exp) != 0) {
            enqueue_entry_free(&e);
            return cli_usage_error(&cmd, "too many fields for one job");
        }
    }
    if (!from_stdin && idem_key &&
        enqueue_entry_add(&e, "idempotency_key", idem_key) != 0) {
        enqueue_entry_free(&e);
        return cli_usage_error(&cmd, "too many fields for one job");
    }
    redis_target_t t;
    if (redis_target_parse(redis_url, &t, err, sizeof err) != 0) {
        enqueue_entry_free(&e);
        return cli_usage_error(&cmd, "%s", err);
    }
    enq_t q = {.stream = keys.stream};
    q.ids = calloc(PIPELINE, sizeof *q.ids);
    q.c = redis_connect_sync(&t, 5000, err, sizeof err);
    if (q.c == NULL || q.ids == NULL) {
        fprintf(stderr, "jobrt enqueue: %s\n", q.c ? "out of memory" : err);
        rc = 1;
        goto out;
    }
    if (!from_stdin && scripted) {
        rc = enqueue_scripted(q.c, &keys, &e, id, delay_ms, at_ms, idem_key,
                              window_ms);
        goto out;
    } else if (!from_stdin) {
        append(&q, &e);
        drain(&q);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned long long lineno = 0, rejected = 0;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (n == 0)
                continue;
            if (enqueue_parse_line(line, (size_t)n, util_now_ms(), &e, err,
                                   sizeof err) != 0) {
                fprintf(stderr, "stdin:%llu: %s; line skipped\n", lineno, err);
                rejected++;
                continue;
            }
            if (append(&q, &e) != 0 ||
                (q.pending == PIPELINE && drain(&q) != 0))
                break;
        }
        free(line);
        if (q.c->err == 0)
            drain(&q);
        q.failed += rejected;
        fprintf(stderr, "jobrt enqueue: %llu job(s) enqueued to %s", q.ok,
                pos[0]);
        if (q.failed)
            fprintf(stderr, ", %llu failed or rejected", q.failed);
        fprintf(stderr, "\n");
    }
    rc = q.failed ? 1 : 0;
out:
    if (q.c)
        redisFree(q.c);
    free(q.ids);
    enqueue_entry_free(&e);
    redis_target_free(&t);
    return rc;
}
