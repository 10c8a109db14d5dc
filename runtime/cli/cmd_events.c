/*
 * cmd_events.c - `jobrt events on|off|status|tail QUEUE`: switches a
 * queue's lifecycle events (queue/events.h) on or off for the whole
 * fleet (the hash :events:config, read by every worker every 250 ms and
 * by `jobrt enqueue` once per run), says how they stand, and prints the
 * events stream :events, the newest ones or, with --follow, as they
 * come (XREAD BLOCK).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/util.h"
#include "queue/events.h"
#include "queue/keys.h"

#define TAIL_COUNT_DEFAULT 20
#define TAIL_COUNT_MAX 10000
#define TAIL_LINE_MAX 16384
#define FOLLOW_BLOCK_MS "1000"

typedef struct {
    redis_cli_opts_t ro;
    long max_len, count;
    int follow, json;
} events_opts_t;

/* "user@host" of whoever runs this, for the setting's record. */
static void who(char *out, size_t len)
{
    const char *user = getenv("USER");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    snprintf(out, len, "%s@%s", user && user[0] ? user : "?",
             host[0] ? host : "?");
}

static int redis_failed(const char *sub, redisContext *c, redisReply *r,
                        const char *what)
{
    if (r && r->type != REDIS_REPLY_ERROR)
        return 0;
    fprintf(stderr, "jobrt events %s: %s: %s\n", sub, what,
            r ? r->str : c->errstr[0] ? c->errstr : "connection closed");
    freeReplyObject(r);
    return 1;
}

static int do_on(redisContext *c, const queue_keys_t *k,
                 const events_opts_t *o)
{
    char max[24], at[24], by[320];
    snprintf(max, sizeof max, "%ld", o->max_len);
    snprintf(at, sizeof at, "%lld", (long long)util_now_ms());
    who(by, sizeof by);
    const char *argv[] = {"HSET", k->events_config, EVENTS_FIELD_MAX_LEN,
                          max, "at", at, "by", by};
    redisReply *r = redisCommandArgv(c, 8, argv, NULL);
    if (redis_failed("on", c, r, "HSET of the events setting"))
        return 1;
    freeReplyObject(r);
    printf("lifecycle events on for queue %s (max len ~%ld): its workers "
           "write them within\nabout 0.25 s to %s; `jobrt enqueue` runs "
           "started from now add enqueued\nevents. Follow them with "
           "`jobrt events tail %s --follow`.\n", o->ro.queue, o->max_len,
           k->events, o->ro.queue);
    return 0;
}

static int do_off(redisContext *c, const queue_keys_t *k,
                  const events_opts_t *o)
{
    const char *argv[] = {"DEL", k->events_config};
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    if (redis_failed("off", c, r, "DEL of the events setting"))
        return 1;
    int was = r->integer > 0;
    freeReplyObject(r);
    if (was)
        printf("lifecycle events off for queue %s: its workers stop writing "
               "them within about\n0.25 s; the events stream %s stays "
               "until you delete it.\n", o->ro.queue, k->events);
    else
        printf("lifecycle events were not on for queue %s; nothing "
               "changed\n", o->ro.queue);
    return 0;
}

static int do_status(redisContext *c, const queue_keys_t *k,
                     const events_opts_t *o)
{
    redisReply *r = redisCommand(c, "HGET %s %s", k->events_config,
                                 EVENTS_FIELD_MAX_LEN);
    if (redis_failed("status", c, r, "HGET of the events setting"))
        return 1;
    long max = r->type == REDIS_REPLY_STRING
                   ? events_parse_max_len(r->str, r->len)
                   : 0;
    int set = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    r = redisCommand(c, "XLEN %s", k->events);
    if (redis_failed("status", c, r, "XLEN of the events stream"))
        return 1;
    long long len = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    if (max > 0)
        printf("queue %s: lifecycle events on, max len ~%ld; %s holds %lld "
               "entries\n", o->ro.queue, max, k->events, len);
    else
        printf("queue %s: lifecycle events off%s; %s holds %lld entries\n",
               o->ro.queue, set ? " (the stored max_len is not a number "
                                  "from 1 to 10000000)" : "",
               k->events, len);
    return 0;
}

static void print_line(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
}

/* Prints one entry of an XRANGE/XREAD reply, a line per job (a worker's
 * batch entry holds several); keeps its id in last. */
static void print_entry(const redisReply *e, int json, char *last,
                        size_t last_len)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *f = e->element[1];
    strview_t fv[64];
    size_t n = 0;
    for (size_t i = 0; i < f->elements && n < 64; i++) {
        if (f->element[i]->type != REDIS_REPLY_STRING)
            return;
        fv[n].ptr = f->element[i]->str;
        fv[n++].len = f->element[i]->len;
    }
    static char line[TAIL_LINE_MAX];
    events_format_each(e->element[0]->str, fv, n, json, line, sizeof line,
                       print_line, NULL);
    util_copy_str(last, last_len, e->element[0]->str);
}

static int do_tail(redisContext *c, const queue_keys_t *k,
                   const events_opts_t *o)
{
    char last[64] = "0-0", count[24];
    snprintf(count, sizeof count, "%ld", o->count > 0 ? o->count : 1);
    const char *argv[] = {"XREVRANGE", k->events, "+", "-", "COUNT", count};
    redisReply *r = redisCommandArgv(c, 6, argv, NULL);
    if (redis_failed("tail", c, r, "XREVRANGE of the events stream"))
        return 1;
    if (r->type == REDIS_REPLY_ARRAY) {
        if (o->count == 0 && r->elements > 0 &&
            r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2 &&
            r->element[0]->element[0]->type == REDIS_REPLY_STRING)
            util_copy_str(last, sizeof last, r->element[0]->element[0]->str);
        else if (o->count > 0)
            for (size_t i = r->elements; i-- > 0;)
                print_entry(r->element[i], o->json, last, sizeof last);
    }
    freeReplyObject(r);
    fflush(stdout);
    while (o->follow) {
        const char *xv[] = {"XREAD", "COUNT", "1000", "BLOCK",
                            FOLLOW_BLOCK_MS, "STREAMS", k->events, last};
        r = redisCommandArgv(c, 8, xv, NULL);
        if (redis_failed("tail", c, r, "XREAD of the events stream"))
            return 1;
        /* nil: nothing within the block; else {{key, entries}} */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2) {
            const redisReply *es = r->element[0]->element[1];
            for (size_t i = 0; i < es->elements; i++)
                print_entry(es->element[i], o->json, last, sizeof last);
        }
        freeReplyObject(r);
        if (fflush(stdout) != 0 || ferror(stdout))
            return 1; /* nobody reads us any more */
    }
    return 0;
}

int cmd_events(int argc, char **argv)
{
    events_opts_t o = {.ro = REDIS_CLI_OPTS_INIT, .max_len = -1,
                       .count = -1};
    const cli_opt_t opts[] = {
        {"max-len", 0, NULL, OPT_INT, &o.max_len, "N",
         "on: keep about N entries, older ones are trimmed as new ones "
         "come (XADD MAXLEN ~ N; default 10000).", 1, EVENTS_MAX_LEN_LIMIT},
        {"follow", 'f', NULL, OPT_FLAG, &o.follow, NULL,
         "tail: after the newest events, print new ones as they come until "
         "interrupted.", 0, 0},
        {"count", 'n', NULL, OPT_INT, &o.count, "N",
         "tail: how many of the newest entries to print first (default 20; "
         "0 with --follow: only new ones).", 0, TAIL_COUNT_MAX},
        {"json", 0, NULL, OPT_FLAG, &o.json, NULL,
         "tail: one JSON object a line (every field, and stream_id).", 0, 0},
        REDIS_CLI_CONN_ROWS(o.ro),
    };
    const cli_cmd_t cmd = {
        "events", "jobrt events on|off|status|tail QUEUE [options]",
        "Job lifecycle events (docs/events.md): while on for a queue, every "
        "state change\nof its jobs is appended to the stream "
        "NS:{QUEUE}:events, which any Redis client\ncan follow with XREAD "
        "BLOCK. Event types: enqueued, started, progress, completed,\n"
        "retried (a failed attempt that will run again), dead_lettered and "
        "parked;\nfields type, id, job, v, at (ms) and, by type, attempt, "
        "delay_ms, due_ms,\nreason, error (at most 200 bytes), progress and "
        "worker. A worker writes its\nstarted and completed events as one "
        "entry per batch, the jobs in a JSON array\n\"jobs\" of {id, job, "
        "v, attempt}. Off by default.\n\n"
        "  jobrt events on QUEUE [--max-len N]\n"
        "      Switches them on for the whole fleet: workers read the "
        "setting every 0.25 s,\n"
        "      `jobrt enqueue` once per run. Again with another --max-len "
        "changes it.\n"
        "  jobrt events off QUEUE\n"
        "      Switches them off within about 0.25 s; the stream stays.\n"
        "  jobrt events status QUEUE\n"
        "      Whether they are on, the max length, how many the stream "
        "holds.\n"
        "  jobrt events tail QUEUE [--follow] [--count N] [--json]\n"
        "      Prints the newest entries, oldest first, and with --follow "
        "new ones as\n"
        "      they come, a line per job: '<time UTC> <type> <id> <job> v<v> "
        "key=value...'.\n\n"
        "Exit codes: 0 done, 1 Redis error, 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[3];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, 3, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos == 0)
        return cli_usage_error(&cmd, "expected a subcommand: on, off, "
                               "status or tail");
    const char *sub = pos[0];
    int on = !strcmp(sub, "on"), off = !strcmp(sub, "off"),
        status = !strcmp(sub, "status"), tail = !strcmp(sub, "tail");
    if (!on && !off && !status && !tail)
        return cli_usage_error(&cmd, "unknown subcommand '%s' (expected on, "
                               "off, status or tail)", sub);
    if (n_pos < 2)
        return cli_usage_error(&cmd, "%s expects the QUEUE", sub);
    if (n_pos > 2)
        return cli_usage_error(&cmd, "unexpected argument '%s' (one QUEUE "
                               "at a time)", pos[2]);
    if (!on && o.max_len >= 0)
        return cli_usage_error(&cmd, "--max-len is for on");
    if (!tail && (o.follow || o.json || o.count >= 0))
        return cli_usage_error(&cmd, "%s is for tail",
                               o.follow ? "--follow"
                               : o.json ? "--json" : "--count");
    if (tail && o.count == 0 && !o.follow)
        return cli_usage_error(&cmd, "--count 0 needs --follow");
    if (o.max_len < 0)
        o.max_len = EVENTS_MAX_LEN_DEFAULT;
    if (o.count < 0)
        o.count = TAIL_COUNT_DEFAULT;
    o.ro.queue = pos[1];
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &o.ro, &keys, &rc);
    if (c == NULL)
        return rc;
    rc = on ? do_on(c, &keys, &o) : off ? do_off(c, &keys, &o)
       : status ? do_status(c, &keys, &o) : do_tail(c, &keys, &o);
    redisFree(c);
    return rc;
}
