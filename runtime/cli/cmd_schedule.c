/*
 * cmd_schedule.c - `jobrt schedule add|list|remove|pause|resume`: the
 * recurring jobs of a queue (docs/scheduling.md). Everything given to add
 * is checked here, with one line naming the flag, before anything is
 * written: the cron expression (schedule/cron.h), the zone, the payload
 * JSON and the job as the worker will enqueue it. Definitions live in the
 * target queue's hash slot (queue/schedule_ctl.h); the queue's workers
 * fire them (queue/schedule_tick.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/util.h"
#include "fleet/fleet_view.h"
#include "queue/schedule_ctl.h"
#include "schedule/schedule_def.h"

#define LIST_MAX_QUEUES 1000

typedef struct {
    redis_cli_opts_t ro;
    const char *qopt, *cron, *tz, *missed, *payload;
    long version, max_attempts;
    int json;
} sched_opts_t;

static void who(char *out, size_t len)
{
    const char *user = getenv("USER");
    if (user == NULL || user[0] == '\0')
        user = getenv("LOGNAME");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    snprintf(out, len, "%s@%s", user && user[0] ? user : "?",
             host[0] ? host : "?");
}

static void fmt_utc(int64_t ms, char *out, size_t len)
{
    if (ms < 0) {
        snprintf(out, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, len, "%lld", (long long)ms);
}

/* "2026-12-02 15:00:00+01:00 (2026-12-02T14:00:00Z)", or "none". */
static void fmt_next(const jobrt_tz_t *tz, int64_t ms, char *out, size_t len)
{
    if (ms < 0) {
        snprintf(out, len, "none within 5 years");
        return;
    }
    char local[48], utc[32];
    schedule_format_local(tz, ms, local, sizeof local);
    fmt_utc(ms, utc, sizeof utc);
    snprintf(out, len, "%s (%s)", local, utc);
}

/* The first tick after the server's now, or -1 (printed) on error with
 * *rc set. */
static int server_now(redisContext *c, int64_t *now, int *rc)
{
    char err[512];
    if (fleet_server_time(c, now, err, sizeof err) != 0) {
        fprintf(stderr, "jobrt schedule: %s\n", err);
        *rc = 1;
        return -1;
    }
    return 0;
}

/* ---- add ----------------------------------------------------------------- */

static int do_add(const cli_cmd_t *cmd, sched_opts_t *o, char **args,
                  int n_args)
{
    if (n_args != 3)
        return cli_usage_error(cmd, "add expects NAME QUEUE JOB, got %d "
                               "argument(s)", n_args);
    if (o->cron == NULL)
        return cli_usage_error(cmd, "add needs --cron EXPR");
    if (o->version < 0)
        return cli_usage_error(cmd, "-v N (payload schema version) is "
                               "required");
    if (o->payload == NULL)
        return cli_usage_error(cmd, "--payload is required");
    if (o->qopt && strcmp(o->qopt, args[1]) != 0)
        return cli_usage_error(cmd, "QUEUE '%s' and --queue (or "
                               "JOBRT_QUEUE) '%s' differ: add takes the "
                               "queue as its argument",
                               args[1], o->qopt);
    schedule_def_t d;
    memset(&d, 0, sizeof d);
    if (strlen(args[0]) > SCHEDULE_NAME_MAX ||
        !schedule_name_ok(args[0], strlen(args[0])))
        return cli_usage_error(cmd, "NAME '%.80s' must be 1-%d characters "
                               "of [A-Za-z0-9_.:-]", args[0],
                               SCHEDULE_NAME_MAX);
    util_copy_str(d.name, sizeof d.name, args[0]);
    if (strlen(args[1]) >= sizeof d.queue || strlen(o->cron) > CRON_MAX_LEN ||
        strlen(args[2]) >= sizeof d.job)
        return cli_usage_error(cmd, "%s is too long",
                               strlen(o->cron) > CRON_MAX_LEN ? "--cron"
                               : strlen(args[1]) >= sizeof d.queue ? "QUEUE"
                                                                   : "JOB");
    util_copy_str(d.queue, sizeof d.queue, args[1]);
    util_copy_str(d.cron, sizeof d.cron, o->cron);
    util_copy_str(d.job, sizeof d.job, args[2]);
    const char *tzname = o->tz ? o->tz : "UTC";
    if (strlen(tzname) > SCHEDULE_TZ_MAX)
        return cli_usage_error(cmd, "--tz: at most %d characters",
                               SCHEDULE_TZ_MAX);
    util_copy_str(d.tz, sizeof d.tz, tzname);
    int m = schedule_missed_parse(o->missed ? o->missed : "skip");
    if (m < 0)
        return cli_usage_error(cmd, "--missed: expected skip or once, got "
                               "'%s'", o->missed);
    d.missed = (schedule_missed_t)m;
    d.version = o->version;
    d.payload = (char *)o->payload;
    d.max_attempts = o->max_attempts;
    char err[1024];
    if (schedule_def_check(&d, err, sizeof err) != 0)
        return cli_usage_error(cmd, "%s", err);
    cron_expr_t cron;
    cron_parse(d.cron, &cron, err, sizeof err);
    jobrt_tz_t *tz;
    if (schedule_load_tz(d.tz, &tz, err, sizeof err) != 0)
        return cli_usage_error(cmd, "%s", err);

    int rc;
    queue_keys_t keys;
    o->ro.queue = d.queue;
    redisContext *c = redis_cli_connect(cmd, &o->ro, &keys, &rc);
    if (c == NULL) {
        tz_free(tz);
        return rc;
    }
    int64_t now;
    schedule_row_t old;
    int had = -1;
    char *json = NULL;
    rc = 1;
    if (server_now(c, &now, &rc) != 0)
        goto out;
    had = schedule_ctl_get(c, &keys, d.name, &old, err, sizeof err);
    if (had < 0) {
        fprintf(stderr, "jobrt schedule: %s\n", err);
        goto out;
    }
    schedule_def_t prev;
    int prev_ok = had && schedule_def_decode(old.def, old.def_len, &prev,
                                             err, sizeof err) == 0;
    int same = prev_ok && strcmp(prev.cron, d.cron) == 0 &&
               strcmp(prev.tz, d.tz) == 0;
    d.paused = prev_ok && prev.paused;
    d.created_at = prev_ok && prev.created_at ? prev.created_at : now;
    d.updated_at = now;
    who(d.by, sizeof d.by);
    if (prev_ok)
        schedule_def_free(&prev);
    int64_t next = cron_next(&cron, tz, now);
    int64_t due = d.paused ? SCHEDULE_DUE_NONE
                  : same  ? SCHEDULE_DUE_KEEP
                          : next;
    json = schedule_def_encode(&d);
    if (json == NULL) {
        fprintf(stderr, "jobrt schedule: out of memory\n");
        goto out;
    }
    int put = schedule_ctl_put(c, &keys, d.name, had ? old.def : NULL, json,
                               due, err, sizeof err);
    if (put < 0) {
        fprintf(stderr, "jobrt schedule: %s\n", err);
        goto out;
    }
    if (put == 0) {
        fprintf(stderr, "jobrt schedule: schedule %s on queue %s was "
                "changed by someone else meanwhile; nothing written, try "
                "again\n", d.name, d.queue);
        goto out;
    }
    if (schedule_ctl_index_queue(c, &keys, d.queue, now, err,
                                 sizeof err) != 0)
        fprintf(stderr, "jobrt schedule: warning: %s\n", err);
    char when[128];
    fmt_next(tz, same ? old.due : next, when, sizeof when);
    if (had)
        printf("schedule %s on queue %s replaced: %s v%ld, cron '%s' (%s), "
               "missed %s\n", d.name, d.queue, d.job, d.version, d.cron,
               d.tz, schedule_missed_name(d.missed));
    else
        printf("schedule %s added on queue %s: %s v%ld, cron '%s' (%s), "
               "missed %s\n", d.name, d.queue, d.job, d.version, d.cron,
               d.tz, schedule_missed_name(d.missed));
    if (d.paused)
        printf("it stays paused: `jobrt schedule resume %s -q %s` resumes "
               "it\n", d.name, d.queue);
    else if (had && same)
        printf("cron and zone unchanged: the next fire time stays %s\n",
               when);
    else
        printf("next fire: %s\n", when);
    rc = 0;
out:
    if (had > 0)
        schedule_row_free(&old);
    free(json);
    tz_free(tz);
    redisFree(c);
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

/* What list shows of one row. */
typedef struct {
    schedule_def_t d;
    int ok;
    char why[256];
    char next_local[48], next_utc[32], last[32];
} shown_t;

static void show_prepare(const schedule_row_t *r, shown_t *s)
{
    memset(s, 0, sizeof *s);
    s->ok = schedule_def_decode(r->def, r->def_len, &s->d, s->why,
                                sizeof s->why) == 0;
    jobrt_tz_t *tz = NULL;
    char err[256];
    if (s->ok && schedule_load_tz(s->d.tz, &tz, err, sizeof err) != 0)
        tz = NULL; /* shown in UTC */
    if (r->due >= 0)
        schedule_format_local(tz, r->due, s->next_local,
                              sizeof s->next_local);
    else
        snprintf(s->next_local, sizeof s->next_local, "-");
    fmt_utc(r->due, s->next_utc, sizeof s->next_utc);
    fmt_utc(r->last_tick, s->last, sizeof s->last);
    tz_free(tz);
}

static cJSON *row_json(const schedule_row_t *r, const shown_t *s,
                       const char *queue)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "queue", queue);
    if (!s->ok) {
        cJSON_AddStringToObject(o, "error", s->why);
    } else {
        cJSON_AddStringToObject(o, "cron", s->d.cron);
        cJSON_AddStringToObject(o, "tz", s->d.tz);
        cJSON_AddStringToObject(o, "job", s->d.job);
        cJSON_AddNumberToObject(o, "v", (double)s->d.version);
        cJSON_AddStringToObject(o, "payload", s->d.payload);
        if (s->d.max_attempts)
            cJSON_AddNumberToObject(o, "max_attempts",
                                    (double)s->d.max_attempts);
        cJSON_AddStringToObject(o, "missed",
                                schedule_missed_name(s->d.missed));
        cJSON_AddBoolToObject(o, "paused", s->d.paused);
    }
    if (r->due >= 0) {
        cJSON_AddNumberToObject(o, "next_ms", (double)r->due);
        cJSON_AddStringToObject(o, "next_local", s->next_local);
        cJSON_AddStringToObject(o, "next_utc", s->next_utc);
    } else {
        cJSON_AddNullToObject(o, "next_ms");
    }
    if (r->last_tick >= 0)
        cJSON_AddNumberToObject(o, "last_fired_ms", (double)r->last_tick);
    else
        cJSON_AddNullToObject(o, "last_fired_ms");
    cJSON_AddNumberToObject(o, "fired", (double)r->fired);
    return o;
}

static void row_text(const schedule_row_t *r, const shown_t *s,
                     const char *queue)
{
    if (!s->ok) {
        printf("%-20s %-12s (cannot be used: %s)\n", r->name, queue, s->why);
        return;
    }
    char job[200];
    snprintf(job, sizeof job, "%s@%ld", s->d.job, s->d.version);
    printf("%-20s %-12s %-18s %-16s %-20s %-25s %-20s %-20s %6lld %-6s %s\n",
           r->name, queue, s->d.cron, s->d.tz, job, s->next_local,
           s->next_utc, s->last, r->fired, schedule_missed_name(s->d.missed),
           s->d.paused ? "yes" : "no");
}

/* The queues to list: -q's, or every queue of the index. */
static int list_queues(redisContext *c, const queue_keys_t *keys,
                       const char *qopt, fleet_names_t *out)
{
    memset(out, 0, sizeof *out);
    if (qopt)
        return fleet_names_add(out, qopt, strlen(qopt));
    redisReply *r = redisCommand(c, "ZRANGE %s 0 %d", keys->queues,
                                 LIST_MAX_QUEUES - 1);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "jobrt schedule: ZRANGE of the queue index %s: %s\n",
                keys->queues,
                r == NULL ? c->errstr
                : r->type == REDIS_REPLY_ERROR ? r->str
                                               : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            envelope_valid_name(r->element[i]->str, r->element[i]->len))
            rc = fleet_names_add(out, r->element[i]->str,
                                 r->element[i]->len);
    freeReplyObject(r);
    return rc;
}

static int do_list(const cli_cmd_t *cmd, sched_opts_t *o, int n_args)
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
    fleet_names_t qs;
    if (list_queues(c, &keys, o->qopt, &qs) != 0) {
        redisFree(c);
        fleet_names_free(&qs);
        return 1;
    }
    cJSON *arr = o->json ? cJSON_CreateArray() : NULL;
    if (!o->json)
        printf("%-20s %-12s %-18s %-16s %-20s %-25s %-20s %-20s %6s %-6s "
               "%s\n", "NAME", "QUEUE", "CRON", "TZ", "JOB@V",
               "NEXT (ZONE)", "NEXT (UTC)", "LAST FIRED (UTC)", "FIRED",
               "MISSED", "PAUSED");
    long total = 0;
    rc = 0;
    for (size_t i = 0; i < qs.n; i++) {
        char err[512];
        queue_keys_t qk;
        if (queue_keys_init(&qk, o->ro.ns, qs.v[i], err, sizeof err) != 0)
            continue;
        schedule_row_t *rows;
        long n = schedule_ctl_list(c, &qk, &rows, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "jobrt schedule: %s\n", err);
            rc = 1;
            continue;
        }
        for (long k = 0; k < n; k++) {
            shown_t s;
            show_prepare(&rows[k], &s);
            if (arr)
                cJSON_AddItemToArray(arr, row_json(&rows[k], &s, qs.v[i]));
            else
                row_text(&rows[k], &s, qs.v[i]);
            if (s.ok)
                schedule_def_free(&s.d);
        }
        total += n;
        schedule_rows_free(rows, n);
    }
    if (arr) {
        char *text = cJSON_PrintUnformatted(arr);
        if (text)
            puts(text);
        free(text);
        cJSON_Delete(arr);
    } else {
        printf("%ld schedule(s)\n", total);
    }
    fleet_names_free(&qs);
    redisFree(c);
    return rc;
}

/* ---- remove, pause, resume ----------------------------------------------- */

static int do_one(const cli_cmd_t *cmd, sched_opts_t *o, const char *sub,
                  char **args, int n_args)
{
    if (n_args != 1)
        return cli_usage_error(cmd, "%s expects one NAME (and -q QUEUE)",
                               sub);
    const char *name = args[0];
    if (!schedule_name_ok(name, strlen(name)))
        return cli_usage_error(cmd, "NAME '%.80s' must be 1-%d characters "
                               "of [A-Za-z0-9_.:-]", name, SCHEDULE_NAME_MAX);
    int rc;
    queue_keys_t keys;
    o->ro.queue = o->qopt ? o->qopt : DEFAULT_QUEUE;
    const char *queue = o->ro.queue;
    redisContext *c = redis_cli_connect(cmd, &o->ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char err[700];
    rc = 1;
    if (strcmp(sub, "remove") == 0) {
        int r = schedule_ctl_remove(c, &keys, name, err, sizeof err);
        if (r < 0)
            fprintf(stderr, "jobrt schedule: %s\n", err);
        else if (r == 0)
            fprintf(stderr, "jobrt schedule: no schedule %s on queue %s "
                    "(see jobrt schedule list)\n", name, queue);
        else
            printf("schedule %s removed from queue %s: no more jobs from "
                   "it\n", name, queue);
        redisFree(c);
        return r == 1 ? 0 : 1;
    }
    int pause = strcmp(sub, "pause") == 0;
    schedule_row_t row;
    schedule_def_t d;
    int64_t now;
    int got = schedule_ctl_get(c, &keys, name, &row, err, sizeof err);
    if (got < 0) {
        fprintf(stderr, "jobrt schedule: %s\n", err);
        redisFree(c);
        return 1;
    }
    if (got == 0) {
        fprintf(stderr, "jobrt schedule: no schedule %s on queue %s (see "
                "jobrt schedule list)\n", name, queue);
        redisFree(c);
        return 1;
    }
    if (schedule_def_decode(row.def, row.def_len, &d, err, sizeof err) !=
        0) {
        fprintf(stderr, "jobrt schedule: schedule %s on queue %s cannot be "
                "used: %s (add it again to replace it)\n", name, queue, err);
        goto out;
    }
    if (d.paused == pause) {
        printf("schedule %s on queue %s %s; nothing changed\n", name, queue,
               pause ? "was already paused" : "was not paused");
        rc = 0;
        goto out_def;
    }
    if (server_now(c, &now, &rc) != 0)
        goto out_def;
    int64_t next = SCHEDULE_DUE_NONE;
    jobrt_tz_t *tz = NULL;
    cron_expr_t cron;
    if (!pause) {
        if (schedule_load_tz(d.tz, &tz, err, sizeof err) != 0 ||
            cron_parse(d.cron, &cron, err, sizeof err) != 0) {
            fprintf(stderr, "jobrt schedule: schedule %s: %s\n", name, err);
            goto out_def;
        }
        next = cron_next(&cron, tz, now);
    }
    d.paused = pause;
    d.updated_at = now;
    char *json = schedule_def_encode(&d);
    int put = json ? schedule_ctl_put(c, &keys, name, row.def, json,
                                      next < 0 ? SCHEDULE_DUE_NONE : next,
                                      err, sizeof err)
                   : util_fail(err, sizeof err, "out of memory");
    free(json);
    if (put < 0) {
        fprintf(stderr, "jobrt schedule: %s\n", err);
    } else if (put == 0) {
        fprintf(stderr, "jobrt schedule: schedule %s on queue %s was "
                "changed by someone else meanwhile; nothing written, try "
                "again\n", name, queue);
    } else if (pause) {
        printf("schedule %s on queue %s paused: it fires nothing until "
               "`jobrt schedule resume %s -q %s`\n", name, queue, name,
               queue);
        rc = 0;
    } else {
        char when[128];
        fmt_next(tz, next, when, sizeof when);
        printf("schedule %s on queue %s resumed (ticks while paused are "
               "not fired); next fire: %s\n", name, queue, when);
        rc = 0;
    }
    tz_free(tz);
out_def:
    schedule_def_free(&d);
out:
    schedule_row_free(&row);
    redisFree(c);
    return rc;
}

int cmd_schedule(int argc, char **argv)
{
    sched_opts_t o = {.ro = REDIS_CLI_OPTS_INIT, .version = -1};
    const cli_opt_t opts[] = {
        {"cron", 0, NULL, OPT_STRING, &o.cron, "EXPR",
         "add: when it fires: 5 fields (minute hour day-of-month month "
         "day-of-week) or 6 with a leading seconds field.", 0, 0},
        {"tz", 0, NULL, OPT_STRING, &o.tz, "ZONE",
         "add: the IANA time zone the expression is read in, e.g. "
         "Europe/Berlin (default UTC).", 0, 0},
        {"missed", 0, NULL, OPT_STRING, &o.missed, "POLICY",
         "add: ticks missed while no worker ran (overdue more than 60 s): "
         "skip (default) fires none, once fires one job for the newest.",
         0, 0},
        {"schema", 'v', NULL, OPT_INT, &o.version, "N",
         "add: payload schema version of the job (required).", 0,
         2147483647},
        {"payload", 'd', NULL, OPT_STRING, &o.payload, "JSON",
         "add: the job's payload as JSON text (required; at most 64 KiB).",
         0, 0},
        {"max-attempts", 0, NULL, OPT_INT, &o.max_attempts, "N",
         "add: lower the handler's max attempts for the jobs.", 1,
         ENVELOPE_MAX_ATTEMPTS},
        {"json", 0, NULL, OPT_FLAG, &o.json, NULL,
         "list: one JSON array instead of the table.", 0, 0},
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &o.qopt, "NAME",
         "list: only this queue (default: every queue of the queue index); "
         "remove, pause, resume: the schedule's queue (default "
         DEFAULT_QUEUE ").", 0, 0},
        REDIS_CLI_CONN_ROWS(o.ro),
    };
    const cli_cmd_t cmd = {
        "schedule",
        "jobrt schedule add|list|remove|pause|resume [NAME] [QUEUE JOB] "
        "[options]",
        "Recurring jobs: each tick of a cron expression enqueues one job to "
        "a queue, fired\nby that queue's workers, exactly once for the "
        "whole fleet (docs/scheduling.md).\n\n"
        "  jobrt schedule add NAME QUEUE JOB --cron EXPR -v N --payload "
        "JSON [--tz ZONE]\n"
        "                 [--missed skip|once] [--max-attempts N]\n"
        "      Adds schedule NAME (1-64 characters of [A-Za-z0-9_.:-]) to "
        "QUEUE: its jobs\n"
        "      are JOB vN with the payload, ids sched-NAME-<tick ms>. "
        "Adding a name that\n"
        "      exists replaces it and says so; with the same cron and zone "
        "its next fire\n"
        "      time stays, and a paused one stays paused.\n"
        "  jobrt schedule list [-q QUEUE] [--json]\n"
        "      Every schedule (of every queue of the queue index, or of "
        "QUEUE): name,\n"
        "      queue, cron, zone, job@version, next fire in its zone and "
        "UTC, the last\n"
        "      tick fired, the jobs fired, the missed policy, paused.\n"
        "  jobrt schedule remove NAME [-q QUEUE]\n"
        "      Deletes the schedule; jobs it enqueued stay.\n"
        "  jobrt schedule pause NAME [-q QUEUE]\n"
        "  jobrt schedule resume NAME [-q QUEUE]\n"
        "      A paused schedule fires nothing; resume fires from the next "
        "tick after\n"
        "      now (ticks while paused are never fired).\n\n"
        "Cron: '*/15 * * * *' every 15 minutes, '0 9 * * MON-FRI' 09:00 on "
        "weekdays,\n'*/10 * * * * *' every 10 seconds. In a zone with "
        "daylight saving time a wall\ntime the spring change skips fires at "
        "the first instant after the gap, and one\nthe autumn change repeats "
        "fires once (expressions covering every hour fire\nby elapsed "
        "time).\n\n"
        "Exit codes: 0 done (also pause or resume that changed nothing), 1 "
        "Redis error or\nno such schedule, 2 bad usage (a bad cron "
        "expression, zone, payload, name).",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[5];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, 5, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos == 0)
        return cli_usage_error(&cmd, "expected a subcommand: add, list, "
                               "remove, pause or resume");
    const char *sub = pos[0];
    int is_add = !strcmp(sub, "add"), is_list = !strcmp(sub, "list");
    if (!is_add && !is_list && strcmp(sub, "remove") &&
        strcmp(sub, "pause") && strcmp(sub, "resume"))
        return cli_usage_error(&cmd, "unknown subcommand '%s' (expected "
                               "add, list, remove, pause or resume)", sub);
    const char *add_only = o.cron ? "--cron" : o.tz ? "--tz"
                         : o.missed ? "--missed" : o.payload ? "--payload"
                         : o.version >= 0 ? "-v" : o.max_attempts ? "--max-"
                                                                   "attempts"
                                                 : NULL;
    if (!is_add && add_only)
        return cli_usage_error(&cmd, "%s is for add", add_only);
    if (!is_list && o.json)
        return cli_usage_error(&cmd, "--json is for list");
    if (is_add)
        return do_add(&cmd, &o, pos + 1, n_pos - 1);
    if (is_list)
        return do_list(&cmd, &o, n_pos - 1);
    return do_one(&cmd, &o, sub, pos + 1, n_pos - 1);
}
