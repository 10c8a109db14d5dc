/*
 * cmd_workers.c - `jobrt workers`: the live workers of a queue, or of
 * every queue of the namespace that has some, as their heartbeat records
 * in the fleet registry (fleet/fleet_view.h) say: who and where each is, how
 * busy, and each plugin generation it serves or still drains. Everything
 * printed from a record is escaped: records are untrusted input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "cli/stats_view.h"
#include "core/util.h"
#include "fleet/fleet_view.h"

/* Appends s for a human: printable ASCII as is, other bytes as \xNN. */
static void put(buf_t *b, const char *s)
{
    buf_append_escaped(b, s, strlen(s), 0, NULL);
}

/* A plugin's line: name version, build, sha256 prefix, generation, what it
 * serves, and why a reload needs a restart when it does. */
static void plugin_line(buf_t *b, const registry_plugin_t *p)
{
    buf_append(b, "  plugin ", 9);
    put(b, p->name);
    if (*p->version) {
        buf_append(b, " ", 1);
        put(b, p->version);
    }
    buf_append(b, ", build ", 8);
    put(b, *p->build_id ? p->build_id : "-");
    buf_appendf(b, ", sha256 ");
    buf_append_escaped(b, p->sha256, strlen(p->sha256) < 12
                                         ? strlen(p->sha256) : 12, 0, NULL);
    buf_appendf(b, ", generation %llu: serves ", p->generation);
    if (p->n_serves == 0)
        buf_append(b, "nothing", 7);
    for (size_t k = 0; k < p->n_serves; k++) {
        const registry_serve_t *s = &p->serves[k];
        if (k)
            buf_append(b, ", ", 2);
        put(b, s->job);
        if (s->min == s->max)
            buf_appendf(b, " v%u", s->min);
        else
            buf_appendf(b, " v%u..%u", s->min, s->max);
    }
    if (*p->pinned) {
        buf_append(b, " (needs restart to reload: ", 27);
        put(b, p->pinned);
        buf_append(b, ")", 1);
    }
    buf_append(b, "\n", 1);
}

static void worker_text(buf_t *b, const fleet_worker_t *w, int64_t now_ms)
{
    char age[32], up[32];
    stats_fmt_age(age, sizeof age, now_ms - w->heartbeat_ms);
    put(b, w->consumer);
    if (!w->ok) {
        buf_append(b, ": record unreadable: ", 21);
        put(b, w->why);
        buf_appendf(b, " (last heartbeat %s ago)\n", age);
        return;
    }
    const registry_record_t *r = &w->rec;
    buf_append(b, " (host ", 7);
    put(b, r->host);
    buf_appendf(b, ", pid %lld): ", r->pid);
    put(b, r->state);
    buf_appendf(b, ", %llu/%lld in flight, last heartbeat %s ago",
                r->inflight, r->concurrency, age);
    if (r->started_ms > 0) {
        stats_fmt_age(up, sizeof up, now_ms - r->started_ms);
        buf_appendf(b, ", up %s", up);
    }
    buf_append(b, "\n", 1);
    for (size_t i = 0; i < r->n_plugins; i++)
        plugin_line(b, &r->plugins[i]);
    if (r->n_plugins == 0)
        buf_append(b, "  no plugin loaded: serves nothing\n", 35);
    for (size_t i = 0; i < r->n_draining; i++) {
        const registry_draining_t *d = &r->draining[i];
        buf_append(b, "  draining ", 11);
        put(b, d->name);
        buf_append(b, ", build ", 8);
        put(b, *d->build_id ? d->build_id : "-");
        buf_appendf(b, ", generation %llu: %llu in flight\n", d->generation,
                    d->inflight);
    }
    if (r->reloads || r->reload_failures || r->generations_leaked)
        buf_appendf(b, "  reloads %llu, failed %llu; generations leaked "
                    "(still mapped after unload) %llu\n", r->reloads,
                    r->reload_failures, r->generations_leaked);
}

/* {"consumer", "last_heartbeat_ms", "record": {...}} or, unreadable,
 * {"consumer", "last_heartbeat_ms", "error"}. */
static cJSON *worker_json(const fleet_worker_t *w)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "consumer", w->consumer);
    cJSON_AddNumberToObject(o, "last_heartbeat_ms", (double)w->heartbeat_ms);
    if (w->ok)
        cJSON_AddItemToObject(o, "record", cJSON_Duplicate(w->rec.doc, 1));
    else
        cJSON_AddStringToObject(o, "error", w->why);
    return o;
}

/* Lists one queue. Returns 1 if it had live workers, 0 if not, -1 on a
 * Redis error (printed). */
static int list_queue(redisContext *c, const redis_cli_opts_t *ro,
                      const char *queue, int64_t now_ms, int announce_empty,
                      buf_t *text, cJSON *json_queues)
{
    char err[512];
    queue_keys_t k;
    if (queue_keys_init(&k, ro->ns, queue, err, sizeof err) != 0) {
        buf_t b = {0};
        put(&b, err);
        fprintf(stderr, "jobrt workers: skipping a queue of the index: "
                "%.*s\n", (int)b.len, b.data ? b.data : "");
        buf_free(&b);
        return 0;
    }
    fleet_t f;
    if (fleet_read(c, &k, now_ms, FLEET_MAX_WORKERS, &f, err,
                   sizeof err) != 0) {
        fprintf(stderr, "jobrt workers: queue %s: %s\n", queue, err);
        return -1;
    }
    if (json_queues) {
        cJSON *q = cJSON_CreateObject(), *ws = cJSON_CreateArray();
        cJSON_AddStringToObject(q, "queue", queue);
        cJSON_AddBoolToObject(q, "truncated", f.truncated);
        cJSON_AddItemToObject(q, "workers", ws);
        for (size_t i = 0; i < f.n; i++)
            cJSON_AddItemToArray(ws, worker_json(&f.w[i]));
        if (f.n || announce_empty)
            cJSON_AddItemToArray(json_queues, q);
        else
            cJSON_Delete(q);
    } else if (f.n == 0) {
        if (announce_empty)
            buf_appendf(text, "no live workers on queue %s\n", queue);
    } else {
        if (text->len)
            buf_append(text, "\n", 1);
        buf_appendf(text, "queue %s: %zu live worker%s", queue, f.n,
                    f.n == 1 ? "" : "s");
        if (f.truncated)
            buf_appendf(text, " (only the first %d read)", FLEET_MAX_WORKERS);
        buf_append(text, "\n", 1);
        for (size_t i = 0; i < f.n; i++)
            worker_text(text, &f.w[i], now_ms);
    }
    int any = f.n > 0;
    fleet_free(&f);
    return any;
}

int cmd_workers(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *queue = NULL;
    int json = 0;
    const cli_opt_t opts[] = {
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &queue, "NAME",
         "Only this queue (default: every queue of the namespace with live "
         "workers).", 0, 0},
        REDIS_CLI_CONN_ROWS(ro),
        {"json", 0, NULL, OPT_FLAG, &json, NULL,
         "Print one JSON document instead: {\"server_time_ms\", \"queues\": "
         "[{\"queue\", \"truncated\", \"workers\": [{\"consumer\", "
         "\"last_heartbeat_ms\", \"record\" (as the worker wrote it) or "
         "\"error\"}]}]}.", 0, 0},
    };
    const cli_cmd_t cmd = {
        "workers", "jobrt workers [--queue NAME] [--json]",
        "Lists the live workers of the fleet registry: those whose heartbeat "
        "(every 1s,\nkept 5s) is recent by the Redis server's clock and "
        "whose record is still there.\nPer worker: consumer, host, pid, "
        "state (running or draining), jobs in flight\nof its concurrency, "
        "time since its last heartbeat and since it started; each\nplugin "
        "generation it serves with version, build id, the first 12 hex "
        "digits\nof its SHA-256, generation and the (job, schema versions) "
        "it serves, with\n'(needs restart to reload: why)' for one that "
        "cannot be unloaded; each older\ngeneration still draining, with "
        "its jobs in flight; reload counts when not 0.\nWithout --queue, "
        "every queue of NS:queues with a recent heartbeat. Workers\nare "
        "listed by consumer name, at most 10000 per queue; a record that "
        "cannot be\nread (over 256 KiB, not a version 1 record) is one "
        "line saying why.\n"
        "Exit codes: 0 (also when no worker is live: 'no live workers on "
        "queue Q'),\n1 Redis error, 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 0, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    ro.queue = queue ? queue : DEFAULT_QUEUE; /* the index key needs one */
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char err[512];
    int64_t now;
    fleet_names_t queues = {0};
    int truncated = 0;
    if (fleet_targets(c, &keys, queue, &now, &queues, &truncated, err,
                      sizeof err) != 0) {
        fprintf(stderr, "jobrt workers: %s\n", err);
        redisFree(c);
        return 1;
    }
    buf_t text = {0};
    cJSON *doc = json ? cJSON_CreateObject() : NULL, *jq = NULL;
    if (doc) {
        cJSON_AddNumberToObject(doc, "server_time_ms", (double)now);
        jq = cJSON_AddArrayToObject(doc, "queues");
    }
    int any = 0;
    rc = 0;
    for (size_t i = 0; i < queues.n; i++) {
        int r = list_queue(c, &ro, queues.v[i], now,
                           queue != NULL, &text, jq);
        if (r < 0)
            rc = 1;
        else
            any |= r;
    }
    if (truncated)
        fprintf(stderr, "jobrt workers: note: the index %s names more than "
                "%d live queues; only the first %d are listed\n",
                keys.queues, FLEET_MAX_QUEUES, FLEET_MAX_QUEUES);
    if (doc) {
        char *s = cJSON_PrintUnformatted(doc);
        if (s)
            printf("%s\n", s);
        else
            rc = 1;
        free(s);
        cJSON_Delete(doc);
    } else {
        if (!any && queue == NULL && rc == 0)
            buf_appendf(&text, "no live workers in namespace %s\n", ro.ns);
        if (text.len)
            fwrite(text.data, 1, text.len, stdout);
    }
    buf_free(&text);
    fleet_names_free(&queues);
    redisFree(c);
    return rc;
}
