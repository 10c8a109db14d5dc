/*
 * job_locate.c - finding one job's state for `jobrt status`; see
 * job_locate.h. Three read-only scripts: the state of one stream entry
 * (its job fields, the group's last delivered id, its pending owner), and
 * one page of a scan of the stream or of the delayed set that returns a
 * match only, so a page costs one round trip and few bytes.
 */
#include "queue/job_locate.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "queue/records.h"
#include "queue/scripts_lua.h"

/* The first id, job, v and attempt field of field list f, as locals. */
#define LUA_JOB_FIELDS_FN                                                   \
    "local function job_fields(f)\n"                                        \
    "  local r = {}\n"                                                      \
    "  for i = 1, #f - 1, 2 do\n"                                           \
    "    local k = f[i]\n"                                                  \
    "    if (k == 'id' or k == 'job' or k == 'v' or k == 'attempt') and\n"   \
    "       r[k] == nil then r[k] = f[i + 1] end\n"                         \
    "  end\n"                                                               \
    "  return r\n"                                                          \
    "end\n"

/* KEYS[1] stream. ARGV: group, entry id. Returns {exists 0/1, has id
 * field 0/1, id, job, v, attempt, group found 0/1, last delivered id,
 * pending consumer or "", idle ms, deliveries}. */
static const char *const entry_script = LUA_JOB_FIELDS_FN
    "local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])\n"
    "if #e == 0 then return {0} end\n"
    "local r = job_fields(e[1][2])\n"
    "local found, last = 0, ''\n"
    "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
    "  local h = {}\n"
    "  for i = 1, #g - 1, 2 do h[g[i]] = g[i + 1] end\n"
    "  if h['name'] == ARGV[1] then found = 1; last = h['last-delivered-id']"
    " end\n"
    "end\n"
    "local who, idle, n = '', 0, 0\n"
    "if found == 1 then\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2],"
    " 1)\n"
    "  if #p > 0 then who = p[1][2]; idle = p[1][3]; n = p[1][4] end\n"
    "end\n"
    "return {1, r['id'] and 1 or 0, r['id'] or '', r['job'] or '',\n"
    "  r['v'] or '', r['attempt'] or '1', found, last, who, idle, n}\n";

/* KEYS[1] stream. ARGV: job id, start (XRANGE form), count. Returns
 * {matching entry id or "", last entry id read or "", entries read}: an
 * entry matches when its first id field is the job id, or it has none
 * and its entry id is. */
static const char *const scan_stream_script = LUA_JOB_FIELDS_FN
    "local e = redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT',"
    " tonumber(ARGV[3]))\n"
    "for i, x in ipairs(e) do\n"
    "  local r = job_fields(x[2])\n"
    "  if r['id'] == ARGV[1] or (r['id'] == nil and x[1] == ARGV[1]) then\n"
    "    return {x[1], x[1], i}\n"
    "  end\n"
    "end\n"
    "local last = ''\n"
    "if #e > 0 then last = e[#e][1] end\n"
    "return {'', last, #e}\n";

/* The member of m (a ZRANGE ... WITHSCORES reply) that is job id's, as
 * {1, its place in m, score, token, job, v, attempt}, or nil. Members are
 * cmsgpack {token, {field, value, ...}}; one that does not decode is
 * skipped. A member matches by its id field, or without one by its
 * token. */
#define LUA_DELAYED_MATCH_FN                                                \
    "local function delayed_match(m, id)\n"                                 \
    "  for i = 1, #m - 1, 2 do\n"                                           \
    "    local ok, d = pcall(cmsgpack.unpack, m[i])\n"                      \
    "    if ok and type(d) == 'table' and type(d[2]) == 'table' then\n"     \
    "      local r = job_fields(d[2])\n"                                    \
    "      local token = tostring(d[1])\n"                                  \
    "      if r['id'] == id or (r['id'] == nil and token == id) then\n"     \
    "        return {1, (i + 1) / 2, m[i + 1], token, r['job'] or '',\n"    \
    "          r['v'] or '', r['attempt'] or '1'}\n"                        \
    "      end\n"                                                           \
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  return nil\n"                                                        \
    "end\n"

/* KEYS[1] delayed set. ARGV: job id, start rank, count. Returns the match
 * (delayed_match), or {0, members read}. */
static const char *const scan_delayed_script = LUA_JOB_FIELDS_FN
    LUA_DELAYED_MATCH_FN
    "local lo = tonumber(ARGV[2])\n"
    "local m = redis.call('ZRANGE', KEYS[1], lo, lo + tonumber(ARGV[3]) - 1,"
    " 'WITHSCORES')\n"
    "local hit = delayed_match(m, ARGV[1])\n"
    "if hit then return hit end\n"
    "return {0, #m / 2}\n";

/* KEYS[1] delayed set. ARGV: job id, score, count. The same for the
 * members of exactly that score (at most count of them): where a job
 * found before is looked for again. */
static const char *const delayed_at_script = LUA_JOB_FIELDS_FN
    LUA_DELAYED_MATCH_FN
    "local m = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2],"
    " 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))\n"
    "local hit = delayed_match(m, ARGV[1])\n"
    "if hit then return hit end\n"
    "return {0, #m / 2}\n";

const char *job_state_name(job_state_t s)
{
    switch (s) {
    case JOB_FINISHED: return "finished";
    case JOB_ACKED: return "finished";
    case JOB_QUEUED: return "queued";
    case JOB_DELAYED: return "delayed";
    case JOB_PARKED: return "parked";
    case JOB_RUNNING: return "running";
    case JOB_NOT_FOUND: break;
    }
    return "unknown";
}

void job_locate_free(job_locate_t *l)
{
    free(l->record);
    l->record = NULL;
}

typedef struct {
    redisContext *c;
    const queue_keys_t *k;
    const char *group, *id;
    char *err;
    size_t err_len;
} ctx_t;

static redisReply *call(ctx_t *x, const char *what, int argc,
                        const char **argv)
{
    redisReply *r = redisCommandArgv(x->c, argc, argv, NULL);
    if (r == NULL) {
        snprintf(x->err, x->err_len, "job %s: %s: %s", x->id, what,
                 x->c->errstr[0] ? x->c->errstr : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(x->err, x->err_len, "job %s: %s: %s", x->id, what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static void copy_str(char *dst, size_t n, const redisReply *r)
{
    size_t len = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        len = r->len < n - 1 ? r->len : n - 1;
        memcpy(dst, r->str, len);
    }
    dst[len] = '\0';
}

/* An integer element, or a string one holding a number; 0 otherwise (a
 * nil, an array, a reply cut short). */
static long long int_of(const redisReply *r)
{
    if (r == NULL)
        return 0;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING && r->str)
        return strtoll(r->str, NULL, 10);
    return 0;
}

/* A delayed match reply {1, place, score, token, job, v, attempt} into l
 * (JOB_DELAYED). Returns 1, or 0 when it is not one. */
static int delayed_hit(const redisReply *r, job_locate_t *l)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 ||
        int_of(r->element[0]) != 1 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return 0;
    l->state = JOB_DELAYED;
    copy_str(l->due_score, sizeof l->due_score, r->element[2]);
    l->due_ms = (int64_t)strtod(l->due_score, NULL);
    copy_str(l->token, sizeof l->token, r->element[3]);
    copy_str(l->job, sizeof l->job, r->element[4]);
    copy_str(l->version, sizeof l->version, r->element[5]);
    copy_str(l->attempt, sizeof l->attempt, r->element[6]);
    if (!l->attempt[0])
        snprintf(l->attempt, sizeof l->attempt, "1");
    return 1;
}

/* 1 if the record exists (copied into l), 0 if not, -1 on error. */
static int get_record(ctx_t *x, job_locate_t *l)
{
    int found = records_get(x->c, x->k, x->k->name, x->id, &l->record,
                            &l->record_len, x->err, x->err_len);
    if (found == 1)
        l->state = JOB_FINISHED;
    return found;
}

/* "ms-seq" into two numbers; 0, or -1 if it is not one. */
static int parse_stream_id(const char *s, uint64_t *ms, uint64_t *seq)
{
    const char *dash = strchr(s, '-');
    if (dash == NULL || dash == s || dash[1] == '\0')
        return -1;
    return util_parse_u64(s, (size_t)(dash - s), UINT64_MAX, ms) ||
                   util_parse_u64(dash + 1, strlen(dash + 1), UINT64_MAX,
                                  seq)
               ? -1
               : 0;
}

/* The state of stream entry eid. Returns 1 when it is the job's live copy
 * (queued, parked, running: l filled), 2 when it is the job's entry but
 * acknowledged, 0 when it is not the job's (gone, or another id field),
 * -1 on error. must_match: the entry's id field, if any, must be the id. */
static int entry_state(ctx_t *x, const char *eid, int must_match,
                       job_locate_t *l)
{
    const char *argv[] = {"EVAL", entry_script, "1", x->k->stream, x->group,
                          eid};
    redisReply *r = call(x, "reading its stream entry", 6, argv);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        int_of(r->element[0]) == 0)
        goto out;
    if (r->elements != 11) {
        snprintf(x->err, x->err_len, "job %s: unexpected reply reading its "
                 "stream entry", x->id);
        rc = -1;
        goto out;
    }
    redisReply **e = r->element;
    if (must_match && int_of(e[1]) &&
        !(e[2]->type == REDIS_REPLY_STRING && strlen(x->id) == e[2]->len &&
          memcmp(e[2]->str, x->id, e[2]->len) == 0))
        goto out;
    snprintf(l->stream_id, sizeof l->stream_id, "%s", eid);
    copy_str(l->job, sizeof l->job, e[3]);
    copy_str(l->version, sizeof l->version, e[4]);
    copy_str(l->attempt, sizeof l->attempt, e[5]);
    copy_str(l->consumer, sizeof l->consumer, e[8]);
    l->idle_ms = int_of(e[9]);
    l->deliveries = int_of(e[10]);
    rc = 1;
    if (l->consumer[0]) {
        l->state = strncmp(l->consumer, QUEUE_PARKED_PREFIX,
                           strlen(QUEUE_PARKED_PREFIX)) == 0
                       ? JOB_PARKED
                       : JOB_RUNNING;
    } else if (int_of(e[6]) == 0) {
        l->state = JOB_QUEUED;
        l->no_group = 1;
    } else {
        char last[48];
        uint64_t ems, eseq, lms, lseq;
        copy_str(last, sizeof last, e[7]);
        if (parse_stream_id(eid, &ems, &eseq) == 0 &&
            parse_stream_id(last, &lms, &lseq) == 0 &&
            (ems > lms || (ems == lms && eseq > lseq)))
            l->state = JOB_QUEUED;
        else
            rc = 2; /* delivered and acked */
    }
out:
    freeReplyObject(r);
    return rc;
}

/* Scans the stream from its start. Returns 1 found live (l filled), 0
 * not, -1 on error; *acked set if an acknowledged copy was seen. */
static int scan_stream(ctx_t *x, unsigned long long limit, job_locate_t *l,
                       int *acked, int *ended)
{
    char start[64] = "-";
    *ended = 0;
    while (l->scanned < limit) {
        unsigned long long want = limit - l->scanned;
        char count[24];
        snprintf(count, sizeof count, "%llu",
                 want < JOB_LOCATE_PAGE ? want : JOB_LOCATE_PAGE);
        const char *argv[] = {"EVAL", scan_stream_script, "1", x->k->stream,
                              x->id, start, count};
        redisReply *r = call(x, "scanning the stream", 7, argv);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
            freeReplyObject(r);
            snprintf(x->err, x->err_len, "job %s: unexpected reply "
                     "scanning the stream", x->id);
            return -1;
        }
        long long n = int_of(r->element[2]);
        char found[48], last[48];
        copy_str(found, sizeof found, r->element[0]);
        copy_str(last, sizeof last, r->element[1]);
        freeReplyObject(r);
        l->scanned += (unsigned long long)n;
        if (found[0]) {
            job_locate_t probe = *l;
            int s = entry_state(x, found, 0, &probe);
            if (s < 0)
                return -1;
            if (s == 1) {
                *l = probe;
                return 1;
            }
            if (s == 2) {
                *acked = 1;
                snprintf(l->stream_id, sizeof l->stream_id, "%s", found);
            }
            snprintf(start, sizeof start, "(%s", found);
            continue;
        }
        if ((unsigned long long)n < strtoull(count, NULL, 10) || !last[0]) {
            *ended = 1;
            return 0;
        }
        snprintf(start, sizeof start, "(%s", last);
    }
    return 0;
}

/* Scans the delayed set by rank. Returns 1 found (l filled), 0 not, -1
 * on error. */
static int scan_delayed(ctx_t *x, unsigned long long limit, job_locate_t *l,
                        int *ended)
{
    unsigned long long rank = 0;
    *ended = 0;
    while (l->scanned < limit) {
        unsigned long long want = limit - l->scanned;
        char from[24], count[24];
        snprintf(from, sizeof from, "%llu", rank);
        snprintf(count, sizeof count, "%llu",
                 want < JOB_LOCATE_PAGE ? want : JOB_LOCATE_PAGE);
        const char *argv[] = {"EVAL", scan_delayed_script, "1",
                              x->k->delayed, x->id, from, count};
        redisReply *r = call(x, "scanning the delayed set", 7, argv);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
            freeReplyObject(r);
            snprintf(x->err, x->err_len, "job %s: unexpected reply "
                     "scanning the delayed set", x->id);
            return -1;
        }
        long long n = int_of(r->element[1]);
        l->scanned += (unsigned long long)n;
        if (delayed_hit(r, l)) {
            freeReplyObject(r);
            return 1;
        }
        freeReplyObject(r);
        if ((unsigned long long)n < strtoull(count, NULL, 10)) {
            *ended = 1;
            return 0;
        }
        rank += (unsigned long long)n;
    }
    return 0;
}

static int server_time(ctx_t *x, job_locate_t *l)
{
    const char *argv[] = {"TIME"};
    redisReply *r = call(x, "TIME", 1, argv);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             r->element[1]->type == REDIS_REPLY_STRING;
    if (ok)
        l->server_ms = int_of(r->element[0]) * 1000 +
                       int_of(r->element[1]) / 1000;
    freeReplyObject(r);
    if (!ok)
        snprintf(x->err, x->err_len, "job %s: unexpected reply to TIME",
                 x->id);
    return ok ? 0 : -1;
}

int job_progress_parse(const char *s, size_t len, unsigned long attempt,
                       unsigned long long deliveries, job_progress_t *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL || len > JOB_PROGRESS_MAX_VALUE)
        return 0;
    cJSON *doc = cJSON_ParseWithLength(s, len);
    const cJSON *pct = cJSON_GetObjectItemCaseSensitive(doc, "percent");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(doc, "at");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(doc, "attempt");
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(doc, "delivery");
    /* a report of an earlier run, left by a worker that died or was
     * killed (the key expires): not this run's progress */
    int earlier = (cJSON_IsNumber(att) && att->valuedouble != (double)attempt) ||
                  (cJSON_IsNumber(del) &&
                   del->valuedouble != (double)deliveries);
    int ok = !earlier && cJSON_IsObject(doc) && cJSON_IsNumber(pct) &&
             pct->valuedouble >= 0 && pct->valuedouble <= 100 &&
             cJSON_IsNumber(at) && at->valuedouble >= 0 &&
             at->valuedouble < 9e15;
    if (ok) {
        out->percent = (int)pct->valuedouble;
        out->at_ms = (int64_t)at->valuedouble;
        if (cJSON_IsString(msg)) {
            util_copy_str(out->message, sizeof out->message,
                          msg->valuestring);
            utf8_truncate(out->message, JOB_PROGRESS_MESSAGE_MAX);
        }
    }
    cJSON_Delete(doc);
    return ok;
}

/* A running job's progress key into l (has_progress): see
 * job_progress_parse. 0, or -1 on a Redis error. */
static int read_progress(ctx_t *x, job_locate_t *l)
{
    char key[1024];
    snprintf(key, sizeof key, "%s%s", x->k->progress_prefix, x->id);
    const char *argv[] = {"GET", key};
    redisReply *r = call(x, "GET of its progress", 2, argv);
    if (r == NULL)
        return -1;
    job_progress_t p;
    l->has_progress = job_progress_parse(
        r->type == REDIS_REPLY_STRING ? r->str : NULL, (size_t)r->len,
        strtoul(l->attempt, NULL, 10),
        l->deliveries > 0 ? (unsigned long long)l->deliveries : 0, &p);
    freeReplyObject(r);
    l->progress_percent = p.percent;
    l->progress_at_ms = p.at_ms;
    memcpy(l->progress_message, p.message, sizeof l->progress_message);
    return 0;
}

static int locate(redisContext *c, const queue_keys_t *keys,
                  const char *group, const char *id,
                  unsigned long long scan_limit, job_locate_t *out,
                  char *err, size_t err_len)
{
    ctx_t x = {c, keys, group, id, err, err_len};
    memset(out, 0, sizeof *out);
    snprintf(out->attempt, sizeof out->attempt, "1");
    if (server_time(&x, out) != 0)
        return -1;
    int rc = get_record(&x, out);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    int acked = 0;
    uint64_t ms, seq;
    if (parse_stream_id(id, &ms, &seq) == 0) {
        job_locate_t probe = *out;
        rc = entry_state(&x, id, 1, &probe);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            *out = probe;
            return 0;
        }
        if (rc == 2) {
            acked = 1;
            snprintf(out->stream_id, sizeof out->stream_id, "%s", id);
        }
    }
    int ended_stream = 0, ended_delayed = 0;
    rc = scan_stream(&x, scan_limit, out, &acked, &ended_stream);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    rc = scan_delayed(&x, scan_limit, out, &ended_delayed);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    out->scan_cut = !(ended_stream && ended_delayed);
    /* it may have finished while we looked */
    rc = get_record(&x, out);
    if (rc < 0)
        return -1;
    if (rc == 0)
        out->state = acked ? JOB_ACKED : JOB_NOT_FOUND;
    return 0;
}

static int relocate(redisContext *c, const queue_keys_t *keys,
                    const char *group, const char *id,
                    const job_locate_t *prev, job_locate_t *out, char *err,
                    size_t err_len)
{
    ctx_t x = {c, keys, group, id, err, err_len};
    memset(out, 0, sizeof *out);
    snprintf(out->attempt, sizeof out->attempt, "1");
    if (server_time(&x, out) != 0)
        return -1;
    int rc = get_record(&x, out);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (prev->state == JOB_DELAYED && prev->due_score[0]) {
        char count[24];
        snprintf(count, sizeof count, "%d", JOB_LOCATE_PAGE);
        const char *argv[] = {"EVAL", delayed_at_script, "1", keys->delayed,
                              id, prev->due_score, count};
        redisReply *r = call(&x, "reading the delayed set", 7, argv);
        if (r == NULL)
            return -1;
        rc = delayed_hit(r, out);
        freeReplyObject(r);
    } else if (prev->stream_id[0]) {
        job_locate_t probe = *out;
        rc = entry_state(&x, prev->stream_id, 1, &probe);
        if (rc < 0)
            return -1;
        if (rc == 1)
            *out = probe;
        else if (rc == 2)
            snprintf(out->stream_id, sizeof out->stream_id, "%s",
                     prev->stream_id);
    } else {
        rc = 0;
    }
    if (rc == 1)
        return 0;
    /* it may have finished while we looked */
    int found = get_record(&x, out);
    if (found < 0)
        return -1;
    if (found == 0)
        out->state = rc == 2 ? JOB_ACKED : JOB_NOT_FOUND;
    return 0;
}

static int with_progress(redisContext *c, const queue_keys_t *keys,
                         const char *group, const char *id,
                         job_locate_t *out, char *err, size_t err_len)
{
    if (out->state != JOB_RUNNING)
        return 0;
    ctx_t x = {c, keys, group, id, err, err_len};
    return read_progress(&x, out);
}

int job_locate(redisContext *c, const queue_keys_t *keys, const char *group,
               const char *id, unsigned long long scan_limit,
               job_locate_t *out, char *err, size_t err_len)
{
    if (locate(c, keys, group, id, scan_limit, out, err, err_len) != 0)
        return -1;
    return with_progress(c, keys, group, id, out, err, err_len);
}

int job_relocate(redisContext *c, const queue_keys_t *keys,
                 const char *group, const char *id,
                 const job_locate_t *prev, job_locate_t *out, char *err,
                 size_t err_len)
{
    if (relocate(c, keys, group, id, prev, out, err, err_len) != 0)
        return -1;
    return with_progress(c, keys, group, id, out, err, err_len);
}
