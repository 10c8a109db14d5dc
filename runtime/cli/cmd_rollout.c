/*
 * cmd_rollout.c - `jobrt rollout JOB`: where a staged rollout of JOB's
 * payload schema stands, per schema version: how many live workers serve
 * it and with which builds (the fleet registry, fleet/fleet_view.h), and how
 * many of its jobs are queued (undelivered stream entries), delayed,
 * parked (pending to the group's pseudo-consumer parked:JOB:vN) or
 * running (the live records' counts). A version nobody serves that has
 * jobs is flagged: those jobs park until a worker that serves it comes.
 * Every scan is bounded (SCAN_MAX entries) and says when it was cut. The
 * counting is fleet/rollout.h's (the dashboard's too); this prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/envelope.h"
#include "core/util.h"
#include "fleet/fleet_view.h"
#include "fleet/rollout.h"

#define SCAN_MAX ROLLOUT_SCAN_MAX   /* entries each scan looks at */
#define MAX_ROWS ROLLOUT_MAX_ROWS   /* versions shown */
#define WIDE_RANGE ROLLOUT_WIDE_RANGE

typedef rollout_row_t row_t;
typedef rollout_table_t table_t;

enum { C_V, C_WORKERS, C_BUILDS, C_QUEUED, C_DELAYED, C_PARKED, C_RUNNING,
       C_N };
static const char *const col_names[C_N] = {
    "VERSION", "WORKERS", "BUILDS", "QUEUED", "DELAYED", "PARKED",
    "RUNNING"};

static void print_table(const table_t *t, const fleet_t *f, const char *job)
{
    char *(*cells)[C_N] = calloc(t->n ? t->n : 1, sizeof *cells);
    if (cells == NULL) {
        fprintf(stderr, "jobrt rollout: out of memory\n");
        return;
    }
    size_t w[C_N];
    for (int k = 0; k < C_N; k++)
        w[k] = strlen(col_names[k]);
    buf_t b = {0};
    for (size_t i = 0; i < t->n; i++) {
        const row_t *r = &t->r[i];
        buf_reset(&b);
        rollout_builds(f, job, r->v, &b, NULL);
        buf_append(&b, "", 1);
        const unsigned long long nums[] = {r->serving, r->queued, r->delayed,
                                           r->parked, r->running};
        const int at[] = {C_WORKERS, C_QUEUED, C_DELAYED, C_PARKED,
                          C_RUNNING};
        char tmp[32];
        snprintf(tmp, sizeof tmp, "v%u", r->v);
        cells[i][C_V] = strdup(tmp);
        cells[i][C_BUILDS] = strdup(b.data && b.data[0] ? b.data : "-");
        for (int k = 0; k < 5; k++) {
            snprintf(tmp, sizeof tmp, "%llu", nums[k]);
            cells[i][at[k]] = strdup(tmp);
        }
        for (int k = 0; k < C_N; k++)
            if (cells[i][k] && strlen(cells[i][k]) > w[k])
                w[k] = strlen(cells[i][k]);
    }
    buf_free(&b);
    /* The last column unpadded: no trailing spaces. */
    for (int k = 0; k < C_N; k++)
        printf("%-*s%s", k + 1 < C_N ? (int)w[k] : 0, col_names[k],
               k + 1 < C_N ? "  " : "\n");
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < C_N; k++)
            printf("%-*s%s", k + 1 < C_N ? (int)w[k] : 0,
                   cells[i][k] ? cells[i][k] : "?",
                   k + 1 < C_N ? "  " : "\n");
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < C_N; k++)
            free(cells[i][k]);
    free(cells);
}

/* Looks at one queue. Returns 1 if JOB has anything there (printed), 0 if
 * nothing (printed only when announce), -1 on an error (printed). */
static int rollout_queue(redisContext *c, const redis_cli_opts_t *ro,
                         const char *queue, const char *group,
                         const char *job, int64_t now, int announce,
                         cJSON *json_queues)
{
    char err[512];
    queue_keys_t k;
    if (queue_keys_init(&k, ro->ns, queue, err, sizeof err) != 0) {
        buf_t b = {0};
        buf_append_escaped(&b, err, strlen(err), 0, NULL);
        fprintf(stderr, "jobrt rollout: skipping a queue of the index: "
                "%.*s\n", (int)b.len, b.data ? b.data : "");
        buf_free(&b);
        return 0;
    }
    fleet_t f;
    if (fleet_read(c, &k, now, FLEET_MAX_WORKERS, &f, err, sizeof err)) {
        fprintf(stderr, "jobrt rollout: queue %s: %s\n", queue, err);
        return -1;
    }
    table_t *t = calloc(1, sizeof *t);
    int rc = t ? 0 : util_fail(err, sizeof err, "out of memory");
    if (rc == 0)
        rc = rollout_read(c, &k, group, job, &f, SCAN_MAX, t, err,
                          sizeof err);
    if (rc != 0) {
        fprintf(stderr, "jobrt rollout: queue %s: %s\n", queue, err);
        free(t);
        fleet_free(&f);
        return -1;
    }
    size_t serving_any = 0, unreadable = 0;
    for (size_t i = 0; i < f.n; i++) {
        unreadable += !f.w[i].ok;
        int any = 0;
        for (size_t s = 0; f.w[i].ok && s < f.w[i].rec.n_serves && !any; s++)
            any = strcmp(f.w[i].rec.serves[s].job, job) == 0;
        serving_any += (size_t)any;
    }
    int found = t->n > 0;
    if (json_queues && (found || announce)) {
        cJSON *q = cJSON_CreateObject(), *vs;
        cJSON_AddStringToObject(q, "queue", queue);
        cJSON_AddNumberToObject(q, "live_workers", (double)f.n);
        cJSON_AddNumberToObject(q, "unreadable_records", (double)unreadable);
        cJSON_AddNumberToObject(q, "stream_scanned", (double)t->scanned);
        cJSON_AddBoolToObject(q, "stream_scan_cut", t->scan_cut);
        cJSON_AddNumberToObject(q, "delayed_scanned",
                                (double)t->delayed_scanned);
        cJSON_AddBoolToObject(q, "delayed_scan_cut", t->delayed_cut);
        cJSON_AddBoolToObject(q, "versions_cut", t->full);
        vs = cJSON_AddArrayToObject(q, "versions");
        for (size_t i = 0; i < t->n; i++) {
            const row_t *r = &t->r[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "version", r->v);
            cJSON_AddNumberToObject(o, "workers", (double)r->serving);
            rollout_builds(&f, job, r->v, NULL,
                           cJSON_AddArrayToObject(o, "builds"));
            cJSON_AddNumberToObject(o, "queued", (double)r->queued);
            cJSON_AddNumberToObject(o, "delayed", (double)r->delayed);
            cJSON_AddNumberToObject(o, "parked", (double)r->parked);
            cJSON_AddNumberToObject(o, "running", (double)r->running);
            cJSON_AddItemToArray(vs, o);
        }
        cJSON_AddItemToArray(json_queues, q);
    } else if (!json_queues && found) {
        printf("%s on queue %s: %zu live worker%s, %zu serve%s it\n", job,
               queue, f.n, f.n == 1 ? "" : "s", serving_any,
               serving_any == 1 ? "s" : "");
        print_table(t, &f, job);
        for (size_t i = 0; i < t->n; i++)
            if (t->r[i].serving == 0 &&
                t->r[i].queued + t->r[i].delayed + t->r[i].parked > 0)
                printf("v%u: not served by any live worker: these jobs "
                       "park\n", t->r[i].v);
        if (t->scan_cut)
            printf("note: QUEUED counts the stream's first %llu undelivered "
                   "entries (scanned first %d)\n", t->scanned, SCAN_MAX);
        if (t->delayed_cut)
            printf("note: DELAYED counts the delayed set's first %llu "
                   "members (scanned first %d)\n", t->delayed_scanned,
                   SCAN_MAX);
        if (t->wide)
            printf("note: a range of more than %d versions is shown by its "
                   "first and last\n", WIDE_RANGE);
        if (t->full)
            printf("note: more than %d versions; the rest are not shown\n",
                   MAX_ROWS);
        if (unreadable)
            printf("note: %zu live worker record%s could not be read (see "
                   "jobrt workers)\n", unreadable, unreadable == 1 ? "" : "s");
    } else if (!json_queues && announce) {
        printf("%s on queue %s: no live worker serves it and no job of it "
               "is queued, delayed, parked or running\n", job, queue);
    }
    free(t);
    fleet_free(&f);
    return found;
}

int cmd_rollout(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *queue = NULL, *group = "jobrt";
    int json = 0;
    const cli_opt_t opts[] = {
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &queue, "NAME",
         "Only this queue (default: every queue of the namespace with live "
         "workers).", 0, 0},
        {"group", 0, "JOBRT_GROUP", OPT_STRING, &group, "NAME",
         "The fleet's consumer group, whose last-delivered id and parked "
         "pseudo-consumers are read (default jobrt).", 0, 0},
        REDIS_CLI_CONN_ROWS(ro),
        {"json", 0, NULL, OPT_FLAG, &json, NULL,
         "Print one JSON document instead: {\"job\", \"queues\": [{\"queue\", "
         "\"live_workers\", \"versions\": [{\"version\", \"workers\", "
         "\"builds\": [{\"build_id\", \"workers\"}], \"queued\", "
         "\"delayed\", \"parked\", \"running\"}], and the scan counts}]}.",
         0, 0},
    };
    const cli_cmd_t cmd = {
        "rollout",
        "jobrt rollout JOB [--queue NAME] [--group NAME] [--json]",
        "Shows, per payload schema version of JOB, one row: VERSION, how "
        "many live\nworkers serve it (WORKERS) and their BUILDS (build id "
        "and how many workers\nrun it), and JOB's jobs that are QUEUED (in "
        "the stream, not yet delivered to\nthe group), DELAYED (waiting in "
        "the delayed set), PARKED (pending to the\ngroup's pseudo-consumer "
        "parked:JOB:vN: no worker that took them serves the\nversion) and "
        "RUNNING (as the live workers' records count them). Rows are the\n"
        "versions any live worker serves or runs and those with jobs. A "
        "version with\njobs that no live worker serves gets a line 'vN: not "
        "served by any live worker:\nthese jobs park'. The stream and the "
        "delayed set are scanned up to 100000\nentries each; a note says "
        "when a scan was cut. Without --queue, every queue\nof NS:queues "
        "with live workers where JOB has a row.\n"
        "Exit codes: 0, 1 Redis error, 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos != 1)
        return cli_usage_error(&cmd, "expected one JOB");
    const char *job = pos[0];
    if (!envelope_valid_name(job, strlen(job)))
        return cli_usage_error(&cmd, "'%s' is not a job name (1-%d "
                               "characters of [A-Za-z0-9_.:/-])", job,
                               ENVELOPE_MAX_NAME);
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
        fprintf(stderr, "jobrt rollout: %s\n", err);
        redisFree(c);
        return 1;
    }
    cJSON *doc = json ? cJSON_CreateObject() : NULL;
    cJSON *jq = NULL;
    if (doc) {
        cJSON_AddStringToObject(doc, "job", job);
        jq = cJSON_AddArrayToObject(doc, "queues");
    }
    int found = 0;
    for (size_t i = 0; i < queues.n; i++) {
        int r = rollout_queue(c, &ro, queues.v[i], group, job, now,
                              queue != NULL, jq);
        if (r < 0)
            rc = 1;
        else
            found |= r;
    }
    if (truncated)
        fprintf(stderr, "jobrt rollout: note: the index %s names more than "
                "%d live queues; only the first %d were looked at\n",
                keys.queues, FLEET_MAX_QUEUES, FLEET_MAX_QUEUES);
    if (doc) {
        char *s = cJSON_PrintUnformatted(doc);
        if (s)
            printf("%s\n", s);
        else
            rc = 1;
        free(s);
        cJSON_Delete(doc);
    } else if (!found && queue == NULL && rc == 0) {
        if (queues.n == 0)
            printf("no live workers in namespace %s\n", ro.ns);
        else
            printf("%s: no live worker serves it and no job of it is "
                   "queued, delayed, parked or running on the %zu queue%s "
                   "with live workers\n", job, queues.n,
                   queues.n == 1 ? "" : "s");
    }
    fleet_names_free(&queues);
    redisFree(c);
    return rc;
}
