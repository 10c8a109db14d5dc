/*
 * cmd_rollout.c - `jobrt rollout JOB`: where a staged rollout of JOB's
 * payload schema stands, per schema version: how many live workers serve
 * it and with which builds (the fleet registry, fleet/fleet_view.h), and how
 * many of its jobs are queued (undelivered stream entries), delayed,
 * parked (pending to the group's pseudo-consumer parked:JOB:vN) or
 * running (the live records' counts). A version nobody serves that has
 * jobs is flagged: those jobs park until a worker that serves it comes.
 * Every scan is bounded (SCAN_MAX entries) and says when it was cut.
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

#define SCAN_MAX 100000  /* stream entries, and delayed members, looked at */
#define PAGE 1000        /* per XRANGE or script call */
#define MAX_ROWS 1024    /* versions shown */
#define WIDE_RANGE 64    /* a served range wider than this: only its ends */

typedef struct {
    uint32_t v;
    size_t serving;
    unsigned long long queued, delayed, parked, running;
} row_t;

typedef struct {
    row_t r[MAX_ROWS];
    size_t n;
    int full;        /* a version was left out */
    int wide;        /* a served range was shown by its ends */
    unsigned long long scanned, delayed_scanned;
    int scan_cut, delayed_cut;
} table_t;

/* The row of version v, added if new; NULL when the table is full. */
static row_t *row_of(table_t *t, uint32_t v)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->r[i].v == v)
            return &t->r[i];
    if (t->n == MAX_ROWS) {
        t->full = 1;
        return NULL;
    }
    row_t *r = &t->r[t->n++];
    memset(r, 0, sizeof *r);
    r->v = v;
    return r;
}

static int parse_version(const char *s, size_t len, uint32_t *v)
{
    uint64_t x;
    if (util_parse_u64(s, len, ENVELOPE_MAX_VERSION, &x) != 0)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

static int is_str(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) &&
           memcmp(r->str, s, r->len) == 0;
}

static int fail_reply(redisContext *c, const redisReply *r, const char *what,
                      char *err, size_t err_len)
{
    return util_fail(err, err_len, "%s failed: %s", what,
                     r == NULL                        ? c->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "unexpected reply");
}

/* The group's last-delivered-id into last ("" when the group does not
 * exist: every entry is undelivered). *missing = no stream. */
static int last_delivered(redisContext *c, const queue_keys_t *k,
                          const char *group, char *last, size_t last_len,
                          int *missing, char *err, size_t err_len)
{
    *last = '\0';
    *missing = 0;
    redisReply *r = redisCommand(c, "XINFO GROUPS %s", k->stream);
    if (r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key")) {
        *missing = 1;
        freeReplyObject(r);
        return 0;
    }
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        fail_reply(c, r, "XINFO GROUPS", err, err_len);
        freeReplyObject(r);
        return -1;
    }
    for (size_t g = 0; g < r->elements; g++) {
        const redisReply *e = r->element[g];
        const redisReply *name = NULL, *id = NULL;
        for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 1 < e->elements;
             i += 2) {
            if (is_str(e->element[i], "name"))
                name = e->element[i + 1];
            else if (is_str(e->element[i], "last-delivered-id"))
                id = e->element[i + 1];
        }
        if (name && id && is_str(name, group) &&
            id->type == REDIS_REPLY_STRING && id->len < last_len) {
            memcpy(last, id->str, id->len);
            last[id->len] = '\0';
        }
    }
    freeReplyObject(r);
    return 0;
}

/* Counts JOB's undelivered stream entries per version: XRANGE in pages
 * from after the group's last-delivered-id. */
static int count_queued(redisContext *c, const queue_keys_t *k,
                        const char *group, const char *job, table_t *t,
                        char *err, size_t err_len)
{
    char start[160];
    int missing;
    if (last_delivered(c, k, group, start + 1, sizeof start - 1, &missing,
                       err, err_len) != 0)
        return -1;
    if (missing)
        return 0;
    if (start[1])
        start[0] = '('; /* exclusive: after the last delivered entry */
    else
        snprintf(start, sizeof start, "-");
    for (;;) {
        redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT %d", k->stream,
                                     start, PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            fail_reply(c, r, "XRANGE", err, err_len);
            freeReplyObject(r);
            return -1;
        }
        size_t n = r->elements, i;
        for (i = 0; i < n && t->scanned < SCAN_MAX; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[0]->len >= sizeof start - 1)
                continue;
            t->scanned++;
            start[0] = '(';
            memcpy(start + 1, e->element[0]->str, e->element[0]->len);
            start[1 + e->element[0]->len] = '\0';
            const redisReply *f = e->element[1], *j = NULL, *v = NULL;
            for (size_t x = 0; f->type == REDIS_REPLY_ARRAY &&
                               x + 1 < f->elements; x += 2) {
                if (j == NULL && is_str(f->element[x], "job"))
                    j = f->element[x + 1];
                else if (v == NULL && is_str(f->element[x], "v"))
                    v = f->element[x + 1];
            }
            uint32_t ver;
            row_t *row;
            if (j && v && is_str(j, job) && v->type == REDIS_REPLY_STRING &&
                parse_version(v->str, v->len, &ver) == 0 &&
                (row = row_of(t, ver)) != NULL)
                row->queued++;
        }
        freeReplyObject(r);
        if (i < n) {
            t->scan_cut = 1; /* stopped inside a page */
            return 0;
        }
        if (n < PAGE)
            return 0;
        if (t->scanned >= SCAN_MAX) {
            /* at the limit on a page's end: is there more? */
            r = redisCommand(c, "XRANGE %s %s + COUNT 1", k->stream, start);
            t->scan_cut = r && r->type == REDIS_REPLY_ARRAY && r->elements;
            freeReplyObject(r);
            return 0;
        }
    }
}

/* Counts one page of the delayed set (members are cmsgpack {token,
 * {field, value, ...}}, queue/scripts.c): {members looked at, v, count,
 * v, count, ...} for the members whose job is ARGV[3]. */
static const char *const delayed_script =
    "local m = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2])\n"
    "local counts, out = {}, {#m}\n"
    "for _, x in ipairs(m) do\n"
    "  local ok, e = pcall(cmsgpack.unpack, x)\n"
    "  if ok and type(e) == 'table' and type(e[2]) == 'table' then\n"
    "    local f, job, v = e[2], nil, nil\n"
    "    for i = 1, #f - 1, 2 do\n"
    "      if f[i] == 'job' and job == nil then job = f[i + 1] end\n"
    "      if f[i] == 'v' and v == nil then v = f[i + 1] end\n"
    "    end\n"
    "    if job == ARGV[3] and v ~= nil then\n"
    "      v = tostring(v)\n"
    "      counts[v] = (counts[v] or 0) + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for v, n in pairs(counts) do out[#out + 1] = v; out[#out + 1] = n end\n"
    "return out\n";

static int count_delayed(redisContext *c, const queue_keys_t *k,
                         const char *job, table_t *t, char *err,
                         size_t err_len)
{
    for (long long at = 0;; at += PAGE) {
        if (t->delayed_scanned >= SCAN_MAX) {
            redisReply *r = redisCommand(c, "ZCARD %s", k->delayed);
            t->delayed_cut = r && r->type == REDIS_REPLY_INTEGER &&
                             (unsigned long long)r->integer >
                                 t->delayed_scanned;
            freeReplyObject(r);
            return 0;
        }
        char lo[32], hi[32];
        snprintf(lo, sizeof lo, "%lld", at);
        snprintf(hi, sizeof hi, "%lld", at + PAGE - 1);
        const char *argv[] = {"EVAL", delayed_script, "1", k->delayed, lo,
                              hi, job};
        redisReply *r = redisCommandArgv(c, 7, argv, NULL);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            r->element[0]->type != REDIS_REPLY_INTEGER) {
            fail_reply(c, r, "counting the delayed set", err, err_len);
            freeReplyObject(r);
            return -1;
        }
        long long n = r->element[0]->integer;
        t->delayed_scanned += (unsigned long long)n;
        for (size_t i = 1; i + 1 < r->elements; i += 2) {
            const redisReply *v = r->element[i], *cnt = r->element[i + 1];
            uint32_t ver;
            row_t *row;
            if (v->type == REDIS_REPLY_STRING &&
                cnt->type == REDIS_REPLY_INTEGER &&
                parse_version(v->str, v->len, &ver) == 0 &&
                (row = row_of(t, ver)) != NULL)
                row->delayed += (unsigned long long)cnt->integer;
        }
        freeReplyObject(r);
        if (n < PAGE)
            return 0;
    }
}

/* Parked: the pending counts of the pseudo-consumers parked:JOB:vN, from
 * the XPENDING summary. */
static int count_parked(redisContext *c, const queue_keys_t *k,
                        const char *group, const char *job, table_t *t,
                        char *err, size_t err_len)
{
    redisReply *r = redisCommand(c, "XPENDING %s %s", k->stream, group);
    if (r && r->type == REDIS_REPLY_ERROR &&
        (strncmp(r->str, "NOGROUP", 7) == 0 || strstr(r->str, "no such key"))) {
        freeReplyObject(r);
        return 0;
    }
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        fail_reply(c, r, "XPENDING", err, err_len);
        freeReplyObject(r);
        return -1;
    }
    char prefix[256];
    int plen = snprintf(prefix, sizeof prefix, QUEUE_PARKED_PREFIX "%s:v",
                        job);
    const redisReply *cs = r->element[3];
    for (size_t i = 0; cs->type == REDIS_REPLY_ARRAY && i < cs->elements;
         i++) {
        const redisReply *e = cs->element[i];
        uint32_t ver;
        uint64_t n;
        row_t *row;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_STRING ||
            e->element[0]->len <= (size_t)plen ||
            memcmp(e->element[0]->str, prefix, (size_t)plen) != 0 ||
            parse_version(e->element[0]->str + plen,
                          e->element[0]->len - (size_t)plen, &ver) != 0 ||
            util_parse_u64(e->element[1]->str, e->element[1]->len,
                           (uint64_t)1 << 53, &n) != 0)
            continue;
        if ((row = row_of(t, ver)) != NULL)
            row->parked += n;
    }
    freeReplyObject(r);
    return 0;
}

/* The versions the live workers serve (and run) become rows. */
static void add_served(table_t *t, const fleet_t *f, const char *job)
{
    for (size_t i = 0; i < f->n; i++) {
        const registry_record_t *rec = &f->w[i].rec;
        for (size_t k = 0; f->w[i].ok && k < rec->n_serves; k++) {
            const registry_serve_t *s = &rec->serves[k];
            if (strcmp(s->job, job) != 0)
                continue;
            if (s->max - s->min >= WIDE_RANGE) {
                t->wide = 1;
                row_of(t, s->min);
                row_of(t, s->max);
                continue;
            }
            for (uint32_t v = s->min;; v++) {
                row_of(t, v);
                if (v == s->max)
                    break;
            }
        }
        for (size_t k = 0; f->w[i].ok && k < rec->n_running; k++)
            if (strcmp(rec->running[k].job, job) == 0)
                row_of(t, rec->running[k].version);
    }
    for (size_t i = 0; i < t->n; i++) {
        t->r[i].serving = fleet_count_serving(f, job, t->r[i].v);
        for (size_t w = 0; w < f->n; w++)
            if (f->w[w].ok)
                t->r[i].running +=
                    registry_running_count(&f->w[w].rec, job, t->r[i].v);
    }
}

static int by_version(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v;
}

/* The distinct builds serving version v, with how many workers run each,
 * in the order the workers are listed: text "src-a (2), src-b (1)" into b
 * (at most MAX_BUILDS named, then ", ... (N more workers)"), or a JSON
 * array of the same builds when arr is not NULL. */
#define MAX_BUILDS 16
static void builds_of(const fleet_t *f, const char *job, uint32_t v,
                      buf_t *b, cJSON *arr)
{
    struct {
        const char *id;
        size_t n;
    } seen[MAX_BUILDS];
    size_t n_seen = 0, more = 0;
    for (size_t i = 0; i < f->n; i++) {
        const registry_plugin_t *p =
            f->w[i].ok ? registry_server_of(&f->w[i].rec, job, v) : NULL;
        if (p == NULL)
            continue;
        size_t k = 0;
        while (k < n_seen && strcmp(seen[k].id, p->build_id) != 0)
            k++;
        if (k < n_seen) {
            seen[k].n++;
        } else if (n_seen < MAX_BUILDS) {
            seen[n_seen].id = p->build_id;
            seen[n_seen++].n = 1;
        } else {
            more++; /* workers of builds beyond the first MAX_BUILDS */
        }
    }
    for (size_t k = 0; k < n_seen; k++) {
        if (arr) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "build_id", seen[k].id);
            cJSON_AddNumberToObject(o, "workers", (double)seen[k].n);
            cJSON_AddItemToArray(arr, o);
            continue;
        }
        if (b->len)
            buf_append(b, ", ", 2);
        buf_append_escaped(b, seen[k].id, strlen(seen[k].id), 40, NULL);
        buf_appendf(b, " (%zu)", seen[k].n);
    }
    if (more && !arr)
        buf_appendf(b, ", ... (%zu more worker%s)", more,
                    more == 1 ? "" : "s");
}

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
        builds_of(f, job, r->v, &b, NULL);
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
        add_served(t, &f, job);
    if (rc == 0)
        rc = count_queued(c, &k, group, job, t, err, sizeof err);
    if (rc == 0)
        rc = count_delayed(c, &k, job, t, err, sizeof err);
    if (rc == 0)
        rc = count_parked(c, &k, group, job, t, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "jobrt rollout: queue %s: %s\n", queue, err);
        free(t);
        fleet_free(&f);
        return -1;
    }
    qsort(t->r, t->n, sizeof t->r[0], by_version);
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
            builds_of(&f, job, r->v, NULL,
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
