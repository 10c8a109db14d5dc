/*
 * rollout.c - a queue's rollout table per (job, version): what the live
 * workers serve and run, and the job's entries queued in the stream,
 * waiting in the delayed set and parked; see rollout.h. Moved here from
 * `jobrt rollout` so the dashboard counts the same way.
 */
#include "fleet/rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/stats.h"

#define PAGE 1000 /* per XRANGE or script call */

/* The row of (job, v), added if new; NULL when the table is full. */
static rollout_row_t *row_of(rollout_table_t *t, const char *job,
                             size_t job_len, uint32_t v)
{
    if (job_len > ENVELOPE_MAX_NAME)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (t->r[i].v == v && strlen(t->r[i].job) == job_len &&
            memcmp(t->r[i].job, job, job_len) == 0)
            return &t->r[i];
    if (t->n == ROLLOUT_MAX_ROWS) {
        t->full = 1;
        return NULL;
    }
    rollout_row_t *r = &t->r[t->n++];
    memset(r, 0, sizeof *r);
    memcpy(r->job, job, job_len);
    r->job[job_len] = '\0';
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

/* Whether a job name read from Redis belongs in the table: job's, or any
 * valid name when job is NULL. */
static int wanted(const char *job, const char *name, size_t len)
{
    if (job)
        return strlen(job) == len && memcmp(job, name, len) == 0;
    return envelope_valid_name(name, len);
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

/* Counts one page of undelivered stream entries: XRANGE from ARGV[1]
 * (XRANGE form) for ARGV[2] entries, whose first job and v fields are
 * counted per (job, v) for job ARGV[3], or every job when "". Returns
 * {entries read, last id read or "", job, v, count, ...}: counts only,
 * never a payload. */
static const char *const queued_script =
    "local e = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT',"
    " tonumber(ARGV[2]))\n"
    "local counts, out = {}, {#e, ''}\n"
    "if #e > 0 then out[2] = e[#e][1] end\n"
    "for _, x in ipairs(e) do\n"
    "  local f, job, v = x[2], nil, nil\n"
    "  for i = 1, #f - 1, 2 do\n"
    "    if f[i] == 'job' and job == nil then job = f[i + 1] end\n"
    "    if f[i] == 'v' and v == nil then v = f[i + 1] end\n"
    "  end\n"
    "  if job ~= nil and v ~= nil and (ARGV[3] == '' or job == ARGV[3])"
    " then\n"
    "    local key = v .. ' ' .. job\n"
    "    counts[key] = (counts[key] or 0) + 1\n"
    "  end\n"
    "end\n"
    "for key, n in pairs(counts) do\n"
    "  local sp = string.find(key, ' ', 1, true)\n"
    "  out[#out + 1] = string.sub(key, sp + 1)\n"
    "  out[#out + 1] = string.sub(key, 1, sp - 1)\n"
    "  out[#out + 1] = n\n"
    "end\n"
    "return out\n";

/* Adds a counts reply's {job, v, count} triples from element `from` on to
 * the rows' queued (into_delayed 0) or delayed counts. */
static void add_counts(rollout_table_t *t, const char *job,
                       const redisReply *r, size_t from, int into_delayed)
{
    for (size_t i = from; i + 2 < r->elements; i += 3) {
        const redisReply *j = r->element[i], *v = r->element[i + 1],
                         *cnt = r->element[i + 2];
        uint32_t ver;
        rollout_row_t *row;
        if (j->type == REDIS_REPLY_STRING && wanted(job, j->str, j->len) &&
            v->type == REDIS_REPLY_STRING &&
            cnt->type == REDIS_REPLY_INTEGER && cnt->integer > 0 &&
            parse_version(v->str, v->len, &ver) == 0 &&
            (row = row_of(t, j->str, j->len, ver)) != NULL) {
            if (into_delayed)
                row->delayed += (unsigned long long)cnt->integer;
            else
                row->queued += (unsigned long long)cnt->integer;
        }
    }
}

/* Counts the undelivered stream entries per (job, version): pages of
 * queued_script from after the group's last-delivered-id, at most
 * scan_max entries in all. */
static int count_queued(redisContext *c, const queue_keys_t *k,
                        const char *group, const char *job,
                        rollout_table_t *t, char *err, size_t err_len)
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
        unsigned long long want = t->scan_max - t->scanned;
        if (want == 0) {
            /* at the limit: is there more? */
            redisReply *r = redisCommand(c, "XRANGE %s %s + COUNT 1",
                                         k->stream, start);
            t->scan_cut = r && r->type == REDIS_REPLY_ARRAY && r->elements;
            freeReplyObject(r);
            return 0;
        }
        char count[24];
        snprintf(count, sizeof count, "%llu", want < PAGE ? want : PAGE);
        const char *argv[] = {"EVAL", queued_script, "1", k->stream, start,
                              count, job ? job : ""};
        redisReply *r = redisCommandArgv(c, 7, argv, NULL);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            r->element[0]->type != REDIS_REPLY_INTEGER ||
            r->element[1]->type != REDIS_REPLY_STRING ||
            r->element[1]->len >= sizeof start - 1) {
            fail_reply(c, r, "counting the queued entries", err, err_len);
            freeReplyObject(r);
            return -1;
        }
        long long n = r->element[0]->integer;
        if (n < 0 || (unsigned long long)n > want) {
            fail_reply(c, NULL, "counting the queued entries", err, err_len);
            freeReplyObject(r);
            return -1;
        }
        t->scanned += (unsigned long long)n;
        add_counts(t, job, r, 2, 0);
        if (r->element[1]->len) {
            start[0] = '(';
            memcpy(start + 1, r->element[1]->str, r->element[1]->len);
            start[1 + r->element[1]->len] = '\0';
        }
        freeReplyObject(r);
        if ((unsigned long long)n < strtoull(count, NULL, 10))
            return 0; /* the end of the stream */
    }
}

/* Counts one page of the delayed set (members are cmsgpack {token,
 * {field, value, ...}}, queue/scripts.c): {members looked at, job, v,
 * count, job, v, count, ...} for the members whose job is ARGV[3], or of
 * every job when ARGV[3] is "". */
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
    "    if type(job) == 'string' and v ~= nil and\n"
    "       (ARGV[3] == '' or job == ARGV[3]) then\n"
    "      local key = tostring(v) .. ' ' .. job\n"
    "      counts[key] = (counts[key] or 0) + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for key, n in pairs(counts) do\n"
    "  local sp = string.find(key, ' ', 1, true)\n"
    "  out[#out + 1] = string.sub(key, sp + 1)\n"
    "  out[#out + 1] = string.sub(key, 1, sp - 1)\n"
    "  out[#out + 1] = n\n"
    "end\n"
    "return out\n";

static int count_delayed(redisContext *c, const queue_keys_t *k,
                         const char *job, rollout_table_t *t, char *err,
                         size_t err_len)
{
    for (long long at = 0;;) {
        unsigned long long want = t->scan_max - t->delayed_scanned;
        if (want == 0) {
            redisReply *r = redisCommand(c, "ZCARD %s", k->delayed);
            t->delayed_cut = r && r->type == REDIS_REPLY_INTEGER &&
                             (unsigned long long)r->integer >
                                 t->delayed_scanned;
            freeReplyObject(r);
            return 0;
        }
        if (want > PAGE)
            want = PAGE;
        char lo[32], hi[32];
        snprintf(lo, sizeof lo, "%lld", at);
        snprintf(hi, sizeof hi, "%lld", at + (long long)want - 1);
        const char *argv[] = {"EVAL", delayed_script, "1", k->delayed, lo,
                              hi, job ? job : ""};
        redisReply *r = redisCommandArgv(c, 7, argv, NULL);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
            r->element[0]->type != REDIS_REPLY_INTEGER ||
            r->element[0]->integer < 0 ||
            (unsigned long long)r->element[0]->integer > want) {
            fail_reply(c, r, "counting the delayed set", err, err_len);
            freeReplyObject(r);
            return -1;
        }
        long long n = r->element[0]->integer;
        t->delayed_scanned += (unsigned long long)n;
        at += n;
        add_counts(t, job, r, 1, 1);
        freeReplyObject(r);
        if ((unsigned long long)n < want)
            return 0;
    }
}

/* Parked: the pending counts of the pseudo-consumers parked:JOB:vN, from
 * the XPENDING summary (split by queue_parse_parked_pair). */
static int count_parked(redisContext *c, const queue_keys_t *k,
                        const char *group, const char *job,
                        rollout_table_t *t, char *err, size_t err_len)
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
    const redisReply *cs = r->element[3];
    for (size_t i = 0; cs->type == REDIS_REPLY_ARRAY && i < cs->elements;
         i++) {
        const redisReply *e = cs->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_STRING)
            continue;
        queue_parked_pair_t p;
        uint64_t n;
        rollout_row_t *row;
        if (!queue_parse_parked_pair(e->element[0]->str, e->element[0]->len,
                                     &p) ||
            !wanted(job, p.job, strlen(p.job)) ||
            util_parse_u64(e->element[1]->str, e->element[1]->len,
                           (uint64_t)1 << 53, &n) != 0)
            continue;
        if ((row = row_of(t, p.job, strlen(p.job), p.version)) != NULL)
            row->parked += n;
    }
    freeReplyObject(r);
    return 0;
}

/* The (job, version) pairs the live workers serve (and run) become rows,
 * with their serving and running counts. */
static void add_served(rollout_table_t *t, const fleet_t *f, const char *job)
{
    for (size_t i = 0; i < f->n; i++) {
        const registry_record_t *rec = &f->w[i].rec;
        for (size_t k = 0; f->w[i].ok && k < rec->n_serves; k++) {
            const registry_serve_t *s = &rec->serves[k];
            size_t jl = strlen(s->job);
            if (!wanted(job, s->job, jl))
                continue;
            if (s->max - s->min >= ROLLOUT_WIDE_RANGE) {
                t->wide = 1;
                row_of(t, s->job, jl, s->min);
                row_of(t, s->job, jl, s->max);
                continue;
            }
            for (uint32_t v = s->min;; v++) {
                row_of(t, s->job, jl, v);
                if (v == s->max)
                    break;
            }
        }
        for (size_t k = 0; f->w[i].ok && k < rec->n_running; k++) {
            const char *rj = rec->running[k].job;
            if (wanted(job, rj, strlen(rj)))
                row_of(t, rj, strlen(rj), rec->running[k].version);
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        rollout_row_t *r = &t->r[i];
        r->serving = fleet_count_serving(f, r->job, r->v);
        for (size_t w = 0; w < f->n; w++)
            if (f->w[w].ok)
                r->running += registry_running_count(&f->w[w].rec, r->job,
                                                     r->v);
    }
}

static int by_job_version(const void *a, const void *b)
{
    const rollout_row_t *x = a, *y = b;
    int c = strcmp(x->job, y->job);
    if (c)
        return c;
    return x->v < y->v ? -1 : x->v > y->v;
}

int rollout_read(redisContext *c, const queue_keys_t *k, const char *group,
                 const char *job, const fleet_t *f,
                 unsigned long long scan_max, rollout_table_t *t, char *err,
                 size_t err_len)
{
    t->n = 0;
    t->full = t->wide = 0;
    t->scanned = t->delayed_scanned = 0;
    t->scan_cut = t->delayed_cut = 0;
    t->scan_max = scan_max;
    add_served(t, f, job);
    if (count_queued(c, k, group, job, t, err, err_len) != 0 ||
        count_delayed(c, k, job, t, err, err_len) != 0 ||
        count_parked(c, k, group, job, t, err, err_len) != 0)
        return -1;
    qsort(t->r, t->n, sizeof t->r[0], by_job_version);
    return 0;
}

void rollout_builds(const fleet_t *f, const char *job, uint32_t v, buf_t *b,
                    cJSON *arr)
{
    struct {
        const char *id;
        size_t n;
    } seen[ROLLOUT_MAX_BUILDS];
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
        } else if (n_seen < ROLLOUT_MAX_BUILDS) {
            seen[n_seen].id = p->build_id;
            seen[n_seen++].n = 1;
        } else {
            more++; /* workers of builds beyond the first ones */
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
