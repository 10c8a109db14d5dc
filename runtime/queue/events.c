/*
 * events.c - job lifecycle events (events.h): the parse of the setting
 * and the line `jobrt events tail` prints, and a worker's side of it:
 * polling keys.events_config every EVENTS_POLL_MS and batching `started`
 * and `completed` events with the job fields the worker has (so no script
 * looks an entry up for them). Started events go out with the next
 * completion batch (ops.c), or at the next tick when none comes, or
 * before any other op of the queue, so a job's started event is always
 * written before its retried, dead_lettered or completed one.
 */
#include "queue/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/log.h"
#include "core/util.h"
#include "queue/queue_internal.h"

long events_parse_max_len(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > 9)
        return 0;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= EVENTS_MAX_LEN_LIMIT ? v : 0;
}

#define EVENTS_VALUE_MAX 512

static int numeric_field(const strview_t *k)
{
    static const char *const names[] = {"at",     "v",        "attempt",
                                        "delay_ms", "due_ms", "not_jobs",
                                        "more_jobs"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strview_is(k, names[i]))
            return 1;
    return 0;
}

static int is_number(const strview_t *v)
{
    if (v->len == 0 || v->len > 18)
        return 0;
    for (size_t i = 0; i < v->len; i++)
        if (v->ptr[i] < '0' || v->ptr[i] > '9')
            if (!(i == 0 && v->ptr[i] == '-' && v->len > 1))
                return 0;
    return 1;
}

static int format_json(const char *stream_id, const strview_t *fv, size_t n,
                       char *out, size_t cap)
{
    cJSON *o = cJSON_CreateObject();
    char key[EVENTS_VALUE_MAX + 1], val[EVENTS_VALUE_MAX + 1];
    int ok = o != NULL &&
             cJSON_AddStringToObject(o, "stream_id", stream_id) != NULL;
    for (size_t i = 0; ok && i + 1 < n; i += 2) {
        size_t kl = fv[i].len < EVENTS_VALUE_MAX ? fv[i].len
                                                 : EVENTS_VALUE_MAX;
        size_t vl = fv[i + 1].len < EVENTS_VALUE_MAX ? fv[i + 1].len
                                                     : EVENTS_VALUE_MAX;
        memcpy(key, fv[i].ptr, kl);
        key[kl] = '\0';
        memcpy(val, fv[i + 1].ptr, vl);
        val[vl] = '\0';
        if (cJSON_GetObjectItemCaseSensitive(o, key))
            continue; /* the first of a name counts */
        if (numeric_field(&fv[i]) && is_number(&fv[i + 1]))
            ok = cJSON_AddNumberToObject(o, key, strtod(val, NULL)) != NULL;
        else
            ok = cJSON_AddStringToObject(o, key, val) != NULL;
    }
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (cap)
        out[0] = '\0';
    if (s == NULL)
        return -1;
    size_t len = strlen(s);
    int rc = len < cap ? (int)len : -1;
    if (cap)
        util_copy_str(out, cap, s);
    free(s);
    return rc;
}

/* The value of field name, or NULL. */
static const strview_t *field(const strview_t *fv, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (strview_is(&fv[i], name))
            return &fv[i + 1];
    return NULL;
}

int events_format(const char *stream_id, const strview_t *fv, size_t n,
                  int json, char *out, size_t cap)
{
    if (json)
        return format_json(stream_id, fv, n, out, cap);
    static const char *const head[] = {"type", "id", "job", "v", "at"};
    const strview_t *at = field(fv, n, "at");
    char when[40] = "-";
    if (at && is_number(at)) {
        long long ms = strtoll(at->ptr, NULL, 10);
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char sec[32];
        if (gmtime_r(&t, &tm) &&
            strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm))
            snprintf(when, sizeof when, "%s.%03lldZ", sec, ms % 1000);
    }
    const strview_t *type = field(fv, n, "type"), *id = field(fv, n, "id"),
                    *job = field(fv, n, "job"), *v = field(fv, n, "v");
#define VIEW(p) (int)((p) && (p)->len < EVENTS_VALUE_MAX ? (p)->len          \
                      : (p) ? EVENTS_VALUE_MAX : 1),                        \
                (p) ? (p)->ptr : "-"
    size_t len = 0;
    int w = snprintf(out, cap, "%s %.*s %.*s %.*s v%.*s", when, VIEW(type),
                     VIEW(id), VIEW(job), VIEW(v));
    if (w < 0 || (size_t)w >= cap)
        return -1;
    len = (size_t)w;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int skip = 0;
        for (size_t h = 0; h < sizeof head / sizeof head[0]; h++)
            skip |= strview_is(&fv[i], head[h]);
        if (skip)
            continue;
        w = snprintf(out + len, cap - len, " %.*s=%.*s", VIEW(&fv[i]),
                     VIEW(&fv[i + 1]));
        if (w < 0 || (size_t)w >= cap - len)
            return -1;
        len += (size_t)w;
    }
#undef VIEW
    return (int)len;
}

/* One job of a "jobs" array as the fields of a one-job entry: its id,
 * job, v and attempt (strings as they are, numbers as integers) into
 * fv[0..8), backed by num. Returns the count of views, 0 when o is not an
 * object with a string id. */
static size_t job_fields(const cJSON *o, strview_t *fv, char num[4][24])
{
    static const char *const names[] = {"id", "job", "v", "attempt"};
    size_t k = 0, nums = 0;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsObject(o) || !cJSON_IsString(id))
        return 0;
    for (size_t i = 0; i < 4; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, names[i]);
        const char *val = NULL;
        if (cJSON_IsString(x)) {
            val = x->valuestring;
        } else if (cJSON_IsNumber(x) && nums < 4 && x->valuedouble >= 0 &&
                   x->valuedouble < 1e15) {
            snprintf(num[nums], sizeof num[nums], "%.0f", x->valuedouble);
            val = num[nums++];
        }
        if (val == NULL)
            continue;
        fv[k].ptr = names[i];
        fv[k++].len = strlen(names[i]);
        fv[k].ptr = val;
        fv[k++].len = strlen(val);
    }
    return k;
}

/* Emits the line of an entry made of type (may be NULL), one more field
 * name=count, and the entry's at and worker: what a batch entry had that
 * is not shown one job a line. */
static size_t emit_count(const char *stream_id, const strview_t *fv,
                         size_t n, const char *name, size_t count, int json,
                         char *out, size_t cap,
                         void (*emit)(void *arg, const char *line), void *arg)
{
    char num[24];
    snprintf(num, sizeof num, "%zu", count);
    strview_t e[8];
    size_t k = 0;
    static const char *const keep[] = {"type", "at", "worker"};
    for (size_t h = 0; h < 3; h++) {
        const strview_t *v = field(fv, n, keep[h]);
        if (v == NULL)
            continue;
        e[k].ptr = keep[h];
        e[k++].len = strlen(keep[h]);
        e[k++] = *v;
        if (h == 0) {
            e[k].ptr = name;
            e[k++].len = strlen(name);
            e[k].ptr = num;
            e[k++].len = strlen(num);
        }
    }
    events_format(stream_id, e, k, json, out, cap);
    if (!out[0])
        return 0;
    emit(arg, out);
    return 1;
}

size_t events_format_each(const char *stream_id, const strview_t *fv,
                          size_t n, int json, char *out, size_t cap,
                          void (*emit)(void *arg, const char *line),
                          void *arg)
{
    const strview_t *jobs = field(fv, n, "jobs");
    cJSON *list = jobs && jobs->len <= EVENTS_JOBS_MAX_BYTES
                      ? cJSON_ParseWithLength(jobs->ptr, jobs->len)
                      : NULL;
    strview_t *one = cJSON_IsArray(list) && n <= 64
                         ? malloc((n + 8) * sizeof *one)
                         : NULL;
    size_t lines = 0, shown = 0, not_jobs = 0, more = 0;
    const cJSON *o, *each = one ? list : NULL;
    cJSON_ArrayForEach(o, each)
    {
        if (shown == EVENTS_EXPAND_MAX) { /* an entry no worker wrote */
            more++;
            continue;
        }
        /* type first, then the job's four fields, then the rest */
        char num[4][24];
        size_t k = 0;
        const strview_t *type = field(fv, n, "type");
        if (type) {
            one[k].ptr = "type";
            one[k++].len = 4;
            one[k++] = *type;
        }
        size_t got = job_fields(o, one + k, num);
        if (got == 0) {
            not_jobs++;
            continue;
        }
        k += got;
        for (size_t i = 0; i + 1 < n; i += 2)
            if (!strview_is(&fv[i], "type") && !strview_is(&fv[i], "jobs")) {
                one[k++] = fv[i];
                one[k++] = fv[i + 1];
            }
        shown++;
        events_format(stream_id, one, k, json, out, cap);
        if (out[0]) {
            emit(arg, out);
            lines++;
        }
    }
    if (shown == 0) { /* no batch (or no job in it): the entry as it is */
        events_format(stream_id, fv, n, json, out, cap);
        if (out[0]) {
            emit(arg, out);
            lines++;
        }
    } else {
        if (not_jobs)
            lines += emit_count(stream_id, fv, n, "not_jobs", not_jobs,
                                json, out, cap, emit, arg);
        if (more)
            lines += emit_count(stream_id, fv, n, "more_jobs", more, json,
                                out, cap, emit, arg);
    }
    free(one);
    cJSON_Delete(list);
    return lines;
}

/* ---- a worker's side ----------------------------------------------------- */

int queue_events_on(const queue_redis_t *q)
{
    return q->events_max_len > 0;
}

static void set_max_len(queue_redis_t *q, long max_len)
{
    if (max_len == q->events_max_len)
        return;
    if (max_len > 0)
        LOGI("queue", "lifecycle events are on for queue %s: written to %s "
             "(max len ~%ld)", q->o.queue, q->keys.events, max_len);
    else if (q->events_max_len > 0)
        LOGI("queue", "lifecycle events are off for queue %s", q->o.queue);
    q->events_max_len = max_len;
    snprintf(q->events_max_len_s, sizeof q->events_max_len_s, "%ld",
             max_len);
    if (max_len == 0) { /* nobody wants them now */
        strlist_reset(&q->ev_started);
        strlist_reset(&q->ev_completed);
    }
}

static void on_events_polled(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    q->events_outstanding = 0;
    if (periodic_failed(q, r, PERIODIC_EVENTS,
                        "reading the lifecycle events setting"))
        return; /* stays as it was last read */
    long max_len = 0;
    if (r->type == REDIS_REPLY_STRING) {
        max_len = events_parse_max_len(r->str, r->len);
        if (max_len == 0 && !q->events_bad_logged) {
            LOGW("queue", "%s field %s is not a number from 1 to %d: "
                 "lifecycle events stay off", q->keys.events_config,
                 EVENTS_FIELD_MAX_LEN, EVENTS_MAX_LEN_LIMIT);
            q->events_bad_logged = 1;
        }
    }
    if (max_len > 0)
        q->events_bad_logged = 0;
    set_max_len(q, max_len);
}

void queue_events_tick(queue_redis_t *q, int64_t now)
{
    if (q->ev_started.n > 0 || q->ev_completed.n > 0) { /* left over */
        ops_flush_started(q);
        outbox_pump(q);
    }
    if (q->events_outstanding || now < q->next_events_poll)
        return;
    q->next_events_poll = now + EVENTS_POLL_MS;
    const char *argv[] = {"HGET", q->keys.events_config,
                          EVENTS_FIELD_MAX_LEN};
    if (redisAsyncCommandArgv(q->writer.ac, on_events_polled, q, 3, argv,
                              NULL) == REDIS_OK)
        q->events_outstanding = 1;
}

/* Appends one started or completed event to l: 4 strings (job id, job,
 * v, attempt). Out of memory: the event is lost, the job goes on. */
static void add_event(strlist_t *l, const char *job_id, const char *job,
                      size_t job_len, uint32_t version, uint32_t attempt)
{
    char v[16], a[16];
    snprintf(v, sizeof v, "%u", version);
    snprintf(a, sizeof a, "%u", attempt ? attempt : 1);
    size_t before = l->n;
    int rc = strlist_adds(l, job_id);
    rc |= strlist_add(l, job ? job : "", job ? job_len : 0);
    rc |= strlist_adds(l, v);
    rc |= strlist_adds(l, a);
    if (rc != 0)
        strlist_truncate(l, before);
}

void queue_redis_started(queue_redis_t *q, const char *job_id,
                         const char *job, size_t job_len, uint32_t version,
                         uint32_t attempt)
{
    if (!queue_events_on(q))
        return;
    add_event(&q->ev_started, job_id, job, job_len, version, attempt);
    if (q->ev_started.n / 4 >= MAX_BATCH)
        ops_flush_started(q);
}

void queue_redis_completed(queue_redis_t *q, const char *job_id,
                           const char *job, size_t job_len, uint32_t version,
                           uint32_t attempt)
{
    if (queue_events_on(q))
        add_event(&q->ev_completed, job_id, job, job_len, version, attempt);
}

void queue_events_free(queue_redis_t *q)
{
    strlist_free(&q->ev_started);
    strlist_free(&q->ev_completed);
    buf_free(&q->ev_json);
}
