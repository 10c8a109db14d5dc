/*
 * cmd_reload.c - `jobrt reload`: asks every live worker of a queue (or of
 * every queue with live workers) to reload its plugins, through Redis,
 * and prints each worker's outcome. Per queue it notes the live workers
 * (fleet/fleet_view.h), takes a request id with INCR NS:{Q}:reload (workers
 * watch that key) and polls the hash NS:{Q}:reload:ID, where each worker
 * writes its outcome (fleet/registry.h) under its consumer name, until
 * every noted worker answered or the timeout. An answer is read only if
 * it is at most REGISTRY_MAX_RECORD bytes (HSTRLEN first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/util.h"
#include "fleet/fleet_view.h"

#define POLL_MS 100

typedef enum { T_WAITING, T_ANSWERED, T_UNREADABLE } t_state_t;

/* One worker asked. */
typedef struct {
    char *consumer;
    long long pid; /* from its record; -1 unknown */
    t_state_t state;
    registry_outcome_t out; /* T_ANSWERED */
    char why[320];          /* T_UNREADABLE */
    long long len;          /* HSTRLEN of its answer, this round */
} target_t;

/* One queue's request. */
typedef struct {
    const char *queue;
    queue_keys_t keys;
    char id[32];
    char hash[sizeof ((queue_keys_t *)0)->reload_prefix + 32];
    target_t *t;
    size_t n, waiting;
} req_t;

static void put(buf_t *b, const char *s)
{
    buf_append_escaped(b, s, strlen(s), 0, NULL);
}

static int sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    return nanosleep(&ts, NULL);
}

/* Notes the live workers of r->queue and asks them. Returns the number of
 * workers asked (0: none live, nothing asked), or -1 (printed). */
static int ask(redisContext *c, const redis_cli_opts_t *ro, req_t *r,
               int64_t now)
{
    char err[512];
    if (queue_keys_init(&r->keys, ro->ns, r->queue, err, sizeof err) != 0) {
        buf_t b = {0};
        put(&b, err);
        fprintf(stderr, "jobrt reload: skipping a queue of the index: "
                "%.*s\n", (int)b.len, b.data ? b.data : "");
        buf_free(&b);
        return 0;
    }
    fleet_t f;
    if (fleet_read(c, &r->keys, now, FLEET_MAX_WORKERS, &f, err,
                   sizeof err) != 0) {
        fprintf(stderr, "jobrt reload: queue %s: %s\n", r->queue, err);
        return -1;
    }
    if (f.truncated)
        fprintf(stderr, "jobrt reload: note: queue %s has more than %d live "
                "workers; only the first %d are waited for\n", r->queue,
                FLEET_MAX_WORKERS, FLEET_MAX_WORKERS);
    if (f.n == 0) {
        fleet_free(&f);
        return 0;
    }
    r->t = calloc(f.n, sizeof *r->t);
    if (r->t == NULL) {
        fprintf(stderr, "jobrt reload: out of memory\n");
        fleet_free(&f);
        return -1;
    }
    for (size_t i = 0; i < f.n; i++) {
        r->t[i].consumer = f.w[i].consumer;
        f.w[i].consumer = NULL; /* moved */
        r->t[i].pid = f.w[i].ok ? f.w[i].rec.pid : -1;
    }
    r->n = r->waiting = f.n;
    fleet_free(&f);
    redisReply *x = redisCommand(c, "INCR %s", r->keys.reload);
    if (x == NULL || x->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "jobrt reload: queue %s: INCR %s failed: %s\n",
                r->queue, r->keys.reload,
                x && x->type == REDIS_REPLY_ERROR ? x->str
                : x                              ? "unexpected reply"
                                                 : c->errstr);
        freeReplyObject(x);
        return -1;
    }
    snprintf(r->id, sizeof r->id, "%lld", x->integer);
    snprintf(r->hash, sizeof r->hash, "%s%s", r->keys.reload_prefix, r->id);
    freeReplyObject(x);
    return (int)(r->n > 0x7fffffff ? 0x7fffffff : r->n);
}

/* One round for one request: the sizes of the answers not yet read, then
 * those answers. Returns 0, or -1 (the connection broke; printed). */
static int poll_req(redisContext *c, req_t *r)
{
    size_t sent = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->t[i].state != T_WAITING)
            continue;
        const char *argv[] = {"HSTRLEN", r->hash, r->t[i].consumer};
        redisAppendCommandArgv(c, 3, argv, NULL);
        sent++;
    }
    for (size_t i = 0; i < r->n && sent; i++) {
        if (r->t[i].state != T_WAITING)
            continue;
        redisReply *x = NULL;
        if (redisGetReply(c, (void **)&x) != REDIS_OK)
            goto broken;
        r->t[i].len = x->type == REDIS_REPLY_INTEGER ? x->integer : 0;
        freeReplyObject(x);
    }
    size_t want = 0;
    for (size_t i = 0; i < r->n; i++) {
        target_t *t = &r->t[i];
        if (t->state != T_WAITING || t->len <= 0)
            continue;
        if (t->len > REGISTRY_MAX_RECORD) {
            t->state = T_UNREADABLE;
            snprintf(t->why, sizeof t->why, "its answer is %lld bytes, more "
                     "than %d", t->len, REGISTRY_MAX_RECORD);
            r->waiting--;
            continue;
        }
        const char *argv[] = {"HGET", r->hash, t->consumer};
        redisAppendCommandArgv(c, 3, argv, NULL);
        want++;
    }
    for (size_t i = 0; i < r->n && want; i++) {
        target_t *t = &r->t[i];
        if (t->state != T_WAITING || t->len <= 0)
            continue;
        redisReply *x = NULL;
        if (redisGetReply(c, (void **)&x) != REDIS_OK)
            goto broken;
        want--;
        if (x->type != REDIS_REPLY_STRING) {
            freeReplyObject(x);
            continue; /* gone meanwhile: ask again next round */
        }
        if (registry_parse_reload_outcome(x->str, x->len, &t->out, t->why,
                                          sizeof t->why) == 0)
            t->state = T_ANSWERED;
        else
            t->state = T_UNREADABLE;
        r->waiting--;
        freeReplyObject(x);
    }
    return 0;
broken:
    fprintf(stderr, "jobrt reload: reading the answers failed: %s\n",
            c->errstr);
    return -1;
}

/* "  reloaded: invoice-email build a -> b (generation 2)", or for a failed
 * one "  rejected: /opt/jobs/x.so: why; x build a (generation 1) keeps
 * serving" (a refusal's reason says that itself). */
static void change_line(buf_t *b, const registry_change_t *ch)
{
    buf_append(b, "  ", 2);
    put(b, ch->action);
    buf_append(b, ": ", 2);
    if (registry_change_failed(ch)) {
        put(b, ch->file ? ch->file : ch->plugin ? ch->plugin : "?");
        buf_append(b, ": ", 2);
        put(b, ch->reason ? ch->reason : "no reason given");
        if (strcmp(ch->action, "rejected") == 0 && ch->from_build) {
            buf_append(b, "; ", 2);
            put(b, ch->plugin ? ch->plugin : "the plugin");
            buf_append(b, " build ", 7);
            put(b, ch->from_build);
            if (ch->generation)
                buf_appendf(b, " (generation %llu)", ch->generation);
            buf_append(b, " keeps serving", 14);
        }
        buf_append(b, "\n", 1);
        return;
    }
    put(b, ch->plugin ? ch->plugin : ch->file ? ch->file : "?");
    if (ch->from_build || ch->to_build) {
        buf_append(b, " build ", 7);
        put(b, ch->from_build ? ch->from_build : ch->to_build);
        if (ch->from_build && ch->to_build) {
            buf_append(b, " -> ", 4);
            put(b, ch->to_build);
        }
    }
    if (ch->generation)
        buf_appendf(b, " (generation %llu)", ch->generation);
    if (ch->reason) {
        buf_append(b, ": ", 2);
        put(b, ch->reason);
    }
    buf_append(b, "\n", 1);
}

/* 1 if the worker's outcome is a success: it answered, readably, and no
 * change was rejected or refused. */
static int target_ok(const target_t *t)
{
    if (t->state != T_ANSWERED || strcmp(t->out.status, "rejected") == 0 ||
        strcmp(t->out.status, "partial") == 0)
        return 0;
    for (size_t i = 0; i < t->out.n_changes; i++)
        if (registry_change_failed(&t->out.changes[i]))
            return 0;
    return 1;
}

static void target_text(buf_t *b, const req_t *r, const target_t *t,
                        const char *timeout)
{
    long long pid = t->state == T_ANSWERED && t->out.pid ? t->out.pid
                                                         : t->pid;
    put(b, t->consumer);
    if (pid >= 0)
        buf_appendf(b, " (pid %lld, queue %s): ", pid, r->queue);
    else
        buf_appendf(b, " (queue %s): ", r->queue);
    if (t->state == T_WAITING) {
        buf_appendf(b, "no answer within %s\n", timeout);
        return;
    }
    if (t->state == T_UNREADABLE) {
        buf_append(b, "answer unreadable: ", 19);
        put(b, t->why);
        buf_append(b, "\n", 1);
        return;
    }
    put(b, t->out.status);
    buf_append(b, "\n", 1);
    for (size_t i = 0; i < t->out.n_changes; i++)
        if (strcmp(t->out.changes[i].action, "unchanged") != 0)
            change_line(b, &t->out.changes[i]);
}

static cJSON *target_json(const target_t *t, const char *timeout)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "consumer", t->consumer);
    cJSON_AddBoolToObject(o, "answered", t->state != T_WAITING);
    cJSON_AddBoolToObject(o, "ok", target_ok(t));
    if (t->state == T_ANSWERED) {
        cJSON_AddItemToObject(o, "outcome", cJSON_Duplicate(t->out.doc, 1));
    } else {
        char why[400];
        if (t->state == T_WAITING)
            snprintf(why, sizeof why, "no answer within %s", timeout);
        else
            snprintf(why, sizeof why, "answer unreadable: %s", t->why);
        cJSON_AddStringToObject(o, "error", why);
    }
    return o;
}

int cmd_reload(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *queue = NULL;
    int64_t timeout_ms = 10000;
    int json = 0;
    const cli_opt_t opts[] = {
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &queue, "NAME",
         "Only the workers of this queue (default: every queue of the "
         "namespace with live workers).", 0, 0},
        {"timeout", 0, NULL, OPT_DURATION, &timeout_ms, "DUR",
         "How long to wait for the answers (default 10s).", 100, 3600000},
        REDIS_CLI_CONN_ROWS(ro),
        {"json", 0, NULL, OPT_FLAG, &json, NULL,
         "Print one JSON document instead: {\"ok\", \"queues\": [{\"queue\", "
         "\"request\", \"workers\": [{\"consumer\", \"answered\", \"ok\", "
         "\"outcome\" (as the worker wrote it) or \"error\"}]}]}.", 0, 0},
    };
    const cli_cmd_t cmd = {
        "reload", "jobrt reload [--queue NAME] [--timeout DUR] [--json]",
        "Asks every live worker (see jobrt workers) to reload its plugin "
        "directory, as\nSIGHUP does, and prints each one's answer: a line "
        "'CONSUMER (pid P, queue Q):\nSTATUS' (reloaded, unchanged, rejected "
        "or partial) and one line per file that\nchanged: loaded, reloaded "
        "(build A -> B, its new generation), removed, or\nrejected or "
        "refused with the reason (the old generation keeps serving). A\n"
        "worker that does not answer within --timeout is 'no answer within "
        "DUR'. The\nrequest goes through Redis: INCR NS:{Q}:reload gives "
        "its id and each worker\nwrites its answer into the hash "
        "NS:{Q}:reload:ID. Workers that start after the\nrequest do not "
        "answer it (they load the current files anyway).\n"
        "Exit codes: 0 every worker answered and nothing was rejected or "
        "refused;\n1 a worker did not answer, rejected or refused a build, "
        "no worker is live, or\na Redis error; 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 0, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    char timeout[32];
    cli_format_duration(timeout_ms, timeout, sizeof timeout);
    ro.queue = queue ? queue : DEFAULT_QUEUE; /* the index key needs one */
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char err[512];
    int64_t now;
    fleet_names_t queues;
    int truncated;
    if (fleet_targets(c, &keys, queue, &now, &queues, &truncated, err,
                      sizeof err) != 0) {
        fprintf(stderr, "jobrt reload: %s\n", err);
        redisFree(c);
        return 1;
    }
    if (truncated)
        fprintf(stderr, "jobrt reload: note: the index %s names more than "
                "%d live queues; only the first %d are asked\n",
                keys.queues, FLEET_MAX_QUEUES, FLEET_MAX_QUEUES);
    req_t *reqs = calloc(queues.n ? queues.n : 1, sizeof *reqs);
    if (reqs == NULL) {
        fprintf(stderr, "jobrt reload: out of memory\n");
        fleet_names_free(&queues);
        redisFree(c);
        return 1;
    }
    size_t asked = 0, waiting = 0;
    int ask_failed = 0; /* a queue could not be asked: exit 1, but the
                           answers of the queues that were still count */
    rc = 0;
    for (size_t i = 0; i < queues.n; i++) {
        reqs[i].queue = queues.v[i];
        int n = ask(c, &ro, &reqs[i], now);
        if (n < 0)
            ask_failed = 1;
        else
            asked += (size_t)n;
    }
    waiting = asked;
    int64_t deadline = util_mono_ms() + timeout_ms;
    while (waiting > 0 && rc == 0) {
        waiting = 0;
        for (size_t i = 0; i < queues.n && rc == 0; i++) {
            if (reqs[i].waiting && poll_req(c, &reqs[i]) != 0)
                rc = 1;
            waiting += reqs[i].waiting;
        }
        if (waiting == 0 || util_mono_ms() >= deadline)
            break;
        sleep_ms(POLL_MS);
    }

    int all_ok = rc == 0 && !ask_failed && asked > 0;
    buf_t text = {0};
    cJSON *doc = json ? cJSON_CreateObject() : NULL;
    cJSON *jq = doc ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < queues.n; i++) {
        const req_t *r = &reqs[i];
        cJSON *ws = NULL;
        if (jq && r->n) {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddStringToObject(q, "queue", r->queue);
            cJSON_AddStringToObject(q, "request", r->id);
            ws = cJSON_AddArrayToObject(q, "workers");
            cJSON_AddItemToArray(jq, q);
        } else if (queue && r->n == 0 && !jq) {
            buf_appendf(&text, "no live workers on queue %s\n", r->queue);
        }
        for (size_t k = 0; k < r->n; k++) {
            all_ok &= target_ok(&r->t[k]);
            if (ws)
                cJSON_AddItemToArray(ws, target_json(&r->t[k], timeout));
            else if (!jq)
                target_text(&text, r, &r->t[k], timeout);
        }
    }
    if (asked == 0 && queue == NULL && !jq && rc == 0)
        buf_appendf(&text, "no live workers in namespace %s\n", ro.ns);
    if (doc) {
        cJSON_AddBoolToObject(doc, "ok", all_ok);
        cJSON_AddItemToObject(doc, "queues", jq);
        char *s = cJSON_PrintUnformatted(doc);
        if (s)
            printf("%s\n", s);
        free(s);
        cJSON_Delete(doc);
    } else if (text.len) {
        fwrite(text.data, 1, text.len, stdout);
    }
    buf_free(&text);
    for (size_t i = 0; i < queues.n; i++) {
        for (size_t k = 0; k < reqs[i].n; k++) {
            free(reqs[i].t[k].consumer);
            if (reqs[i].t[k].state == T_ANSWERED)
                registry_outcome_free(&reqs[i].t[k].out);
        }
        free(reqs[i].t);
    }
    free(reqs);
    fleet_names_free(&queues);
    redisFree(c);
    return all_ok ? 0 : 1;
}
