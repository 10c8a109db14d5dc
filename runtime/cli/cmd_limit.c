/*
 * cmd_limit.c - `jobrt limit set|clear|list`: the fleet's limits per
 * (queue, job), the fields of the queue's :limits hash (job -> JSON
 * {"rate_per_s", "burst", "concurrency"}). Every worker of the queue
 * reads the hash every 250 ms and applies it (queue/limits.c,
 * exec/worker_limits.c; docs/flow-control.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/envelope.h"
#include "core/limit_spec.h"
#include "queue/keys.h"
#include "queue/limits_ctl.h"

#define LIST_MAX_QUEUES 1000

typedef struct {
    redis_cli_opts_t ro;
    const char *rate, *burst, *conc, *qopt;
    int json;
} limit_opts_t;

static void describe_json(const char *json, char *out, size_t len)
{
    limit_t l;
    char err[128];
    if (json[0] == '\0')
        snprintf(out, len, "none");
    else if (limit_parse_json(json, strlen(json), &l, err, sizeof err) != 0)
        snprintf(out, len, "%s (invalid: %s)", json, err);
    else
        limit_describe(&l, out, len);
}

static int do_set(const cli_cmd_t *cmd, limit_opts_t *o, char **args,
                  int n_args, int clear)
{
    if (n_args != 2)
        return cli_usage_error(cmd, "%s expects QUEUE JOB",
                               clear ? "clear" : "set");
    const char *job = args[1];
    if (!envelope_valid_name(job, strlen(job)))
        return cli_usage_error(cmd, "'%s' is not a job name (1-128 "
                               "characters of [A-Za-z0-9_.:/-])", job);
    char rate[48], burst[48], conc[24], err[700];
    const char *pairs[6];
    size_t n = 0;
    if (!clear && !o->rate && !o->burst && !o->conc)
        return cli_usage_error(cmd, "set needs --rate, --concurrency or "
                               "--burst");
    if (o->rate) {
        double r;
        pairs[2 * n] = "rate_per_s";
        if (strcmp(o->rate, "off") == 0) {
            rate[0] = '\0';
        } else if (limit_parse_rate(o->rate, &r, err, sizeof err) != 0) {
            return cli_usage_error(cmd, "--rate: %s", err);
        } else {
            snprintf(rate, sizeof rate, "%.17g", r);
        }
        pairs[2 * n++ + 1] = rate;
    }
    if (o->burst) {
        char *end;
        double b = strtod(o->burst, &end);
        pairs[2 * n] = "burst";
        if (strcmp(o->burst, "off") == 0)
            burst[0] = '\0';
        else if (*end || end == o->burst || b < 1 || b > LIMIT_BURST_MAX)
            return cli_usage_error(cmd, "--burst: '%s' must be a number "
                                   "from 1 to %.0f, or off", o->burst,
                                   LIMIT_BURST_MAX);
        else
            snprintf(burst, sizeof burst, "%.17g", b);
        pairs[2 * n++ + 1] = burst;
    }
    if (o->conc) {
        long c;
        pairs[2 * n] = "concurrency";
        if (strcmp(o->conc, "off") == 0)
            conc[0] = '\0';
        else if (limit_parse_concurrency(o->conc, &c, err, sizeof err) != 0)
            return cli_usage_error(cmd, "--concurrency: %s", err);
        else
            snprintf(conc, sizeof conc, "%ld", c);
        pairs[2 * n++ + 1] = conc;
    }
    int rc;
    queue_keys_t keys;
    o->ro.queue = args[0];
    redisContext *c = redis_cli_connect(cmd, &o->ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char old[LIMIT_JSON_MAX + 1], now[LIMIT_JSON_MAX + 1];
    rc = limits_ctl_set(c, &keys, job, pairs, n, old, sizeof old, now,
                        sizeof now, err, sizeof err);
    redisFree(c);
    if (rc < 0) {
        fprintf(stderr, "jobrt limit: %s\n", err);
        return 1;
    }
    char was[200], is[200];
    describe_json(old, was, sizeof was);
    describe_json(now, is, sizeof is);
    if (clear && old[0] == '\0')
        printf("job %s had no limits on queue %s; nothing changed\n", job,
               args[0]);
    else if (clear)
        printf("limits of job %s on queue %s cleared (they were: %s); its "
               "workers stop applying them within about 0.25 s\n", job,
               args[0], was);
    else if (rc == 0)
        printf("limits of job %s on queue %s unchanged: %s\n", job, args[0],
               is);
    else
        printf("limits of job %s on queue %s: %s (was: %s); every worker "
               "of the queue applies them within about 0.25 s\n", job,
               args[0], is, was);
    return 0;
}

/* The queues to list: -q's, or every queue of the index. */
static int list_queues(redisContext *c, const queue_keys_t *keys,
                       const char *qopt, char ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (qopt) {
        *out = calloc(1, sizeof **out);
        if (*out == NULL || ((*out)[0] = strdup(qopt)) == NULL)
            return -1;
        *n_out = 1;
        return 0;
    }
    redisReply *r = redisCommand(c, "ZRANGE %s 0 %d", keys->queues,
                                 LIST_MAX_QUEUES - 1);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "jobrt limit: ZRANGE of the queue index %s: %s\n",
                keys->queues,
                r == NULL ? c->errstr
                : r->type == REDIS_REPLY_ERROR ? r->str
                                               : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    *out = calloc(r->elements + 1, sizeof **out);
    for (size_t i = 0; *out && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            envelope_valid_name(r->element[i]->str, r->element[i]->len))
            (*out)[(*n_out)++] = strdup(r->element[i]->str);
    freeReplyObject(r);
    return *out ? 0 : -1;
}

static int do_list(const cli_cmd_t *cmd, limit_opts_t *o, int n_args)
{
    if (n_args)
        return cli_usage_error(cmd, "list takes no arguments (-q QUEUE "
                               "narrows it)");
    int rc;
    queue_keys_t keys;
    o->ro.queue = o->qopt ? o->qopt : DEFAULT_QUEUE;
    redisContext *c = redis_cli_connect(cmd, &o->ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char **qs;
    size_t n_qs;
    if (list_queues(c, &keys, o->qopt, &qs, &n_qs) != 0) {
        redisFree(c);
        return 1;
    }
    cJSON *arr = o->json ? cJSON_CreateArray() : NULL;
    if (!o->json)
        printf("%-12s %-24s %-10s %-8s %-11s %s\n", "QUEUE", "JOB", "RATE",
               "BURST", "CONCURRENCY", "RUNNING");
    long total = 0;
    rc = 0;
    for (size_t i = 0; i < n_qs; i++) {
        char err[700];
        queue_keys_t qk;
        if (qs[i] == NULL ||
            queue_keys_init(&qk, o->ro.ns, qs[i], err, sizeof err) != 0)
            continue;
        limit_row_t *rows;
        long n = limits_ctl_list(c, &qk, &rows, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "jobrt limit: %s\n", err);
            rc = 1;
            continue;
        }
        for (long k = 0; k < n; k++) {
            const limit_row_t *r = &rows[k];
            if (arr) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "queue", qs[i]);
                cJSON_AddStringToObject(e, "job", r->job);
                if (!r->valid) {
                    cJSON_AddStringToObject(e, "invalid", r->raw);
                } else {
                    if (r->l.rate_per_s > 0) {
                        cJSON_AddNumberToObject(e, "rate_per_s",
                                                r->l.rate_per_s);
                        cJSON_AddNumberToObject(e, "burst",
                                                limit_burst(&r->l));
                    }
                    if (r->l.concurrency > 0) {
                        cJSON_AddNumberToObject(e, "concurrency",
                                                (double)r->l.concurrency);
                        cJSON_AddNumberToObject(e, "running",
                                                (double)r->running);
                    }
                }
                cJSON_AddItemToArray(arr, e);
                continue;
            }
            char rate[32] = "-", burst[32] = "-", conc[24] = "-",
                 run[24] = "-";
            if (r->valid && r->l.rate_per_s > 0) {
                limit_format_rate(r->l.rate_per_s, rate, sizeof rate);
                snprintf(burst, sizeof burst, "%.6g", limit_burst(&r->l));
            }
            if (r->valid && r->l.concurrency > 0) {
                snprintf(conc, sizeof conc, "%ld", r->l.concurrency);
                snprintf(run, sizeof run, "%lld", r->running);
            }
            if (!r->valid)
                printf("%-12s %-24s invalid: %s\n", qs[i], r->job, r->raw);
            else
                printf("%-12s %-24s %-10s %-8s %-11s %s\n", qs[i], r->job,
                       rate, burst, conc, run);
        }
        total += n;
        free(rows);
    }
    if (arr) {
        char *text = cJSON_PrintUnformatted(arr);
        if (text)
            puts(text);
        free(text);
        cJSON_Delete(arr);
    } else {
        printf("%ld limit(s)\n", total);
    }
    for (size_t i = 0; i < n_qs; i++)
        free(qs[i]);
    free(qs);
    redisFree(c);
    return rc;
}

int cmd_limit(int argc, char **argv)
{
    limit_opts_t o = {.ro = REDIS_CLI_OPTS_INIT};
    const cli_opt_t opts[] = {
        {"rate", 0, NULL, OPT_STRING, &o.rate, "N/U",
         "set: jobs of JOB started at most N per second, minute or hour "
         "across the fleet (U: s, m or h, e.g. 100/s); off removes it.",
         0, 0},
        {"burst", 0, NULL, OPT_STRING, &o.burst, "N",
         "set: how many jobs may start at once after a quiet time (default "
         "the rate times 0.1 s, at least 1); off: the default.", 0, 0},
        {"concurrency", 0, NULL, OPT_STRING, &o.conc, "N",
         "set: at most N jobs of JOB run at once across the fleet; off "
         "removes it.", 0, 0},
        {"json", 0, NULL, OPT_FLAG, &o.json, NULL,
         "list: one JSON array instead of the table.", 0, 0},
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &o.qopt, "NAME",
         "list: only this queue (default: every queue of the queue "
         "index).", 0, 0},
        REDIS_CLI_CONN_ROWS(o.ro),
    };
    const cli_cmd_t cmd = {
        "limit", "jobrt limit set|clear|list [QUEUE JOB] [options]",
        "Fleet-wide limits per (queue, job), kept in the queue's :limits "
        "hash in Redis: every\nworker of the queue reads them every 250 ms "
        "and applies them (docs/flow-control.md).\nA job held back by a "
        "limit waits in the delayed set; its attempt is not counted.\n\n"
        "  jobrt limit set QUEUE JOB [--rate N/U] [--burst N] "
        "[--concurrency N]\n"
        "      Sets the given limits of JOB on QUEUE; the ones not given "
        "stay.\n"
        "  jobrt limit clear QUEUE JOB\n"
        "      Removes every limit of JOB on QUEUE.\n"
        "  jobrt limit list [-q QUEUE] [--json]\n"
        "      Every limit (of every queue of the queue index, or of "
        "QUEUE): queue, job,\n"
        "      rate, burst, concurrency and the slots running now.\n\n"
        "`jobrt run --rate JOB=N/U` and `--limit JOB=N` write the same "
        "hash when a worker\nstarts.\n\n"
        "Exit codes: 0 done (also a change that changed nothing), 1 Redis "
        "error, 2 bad\nusage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[4];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, 4, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos == 0)
        return cli_usage_error(&cmd, "expected a subcommand: set, clear or "
                               "list");
    const char *sub = pos[0];
    int is_set = !strcmp(sub, "set"), is_clear = !strcmp(sub, "clear"),
        is_list = !strcmp(sub, "list");
    if (!is_set && !is_clear && !is_list)
        return cli_usage_error(&cmd, "unknown subcommand '%s' (expected "
                               "set, clear or list)", sub);
    const char *set_only = o.rate ? "--rate" : o.burst ? "--burst"
                         : o.conc ? "--concurrency" : NULL;
    if (!is_set && set_only)
        return cli_usage_error(&cmd, "%s is for set", set_only);
    if (!is_list && o.json)
        return cli_usage_error(&cmd, "--json is for list");
    if (!is_list && o.qopt)
        return cli_usage_error(&cmd, "-q is for list (set and clear take "
                               "QUEUE JOB)");
    if (is_list)
        return do_list(&cmd, &o, n_pos - 1);
    return do_set(&cmd, &o, pos + 1, n_pos - 1, is_clear);
}
