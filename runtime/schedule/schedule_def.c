/*
 * schedule_def.c - a recurring job's definition (check, JSON in and out)
 * and the pure due-time rule; see schedule_def.h.
 */
#include "schedule/schedule_def.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json_check.h"
#include "core/util.h"
#include "queue/enqueue_parse.h"

int schedule_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > SCHEDULE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
              ch == ':' || ch == '-'))
            return 0;
    }
    return 1;
}

int schedule_missed_parse(const char *s)
{
    if (strcmp(s, "skip") == 0)
        return SCHEDULE_MISSED_SKIP;
    if (strcmp(s, "once") == 0)
        return SCHEDULE_MISSED_ONCE;
    return -1;
}

const char *schedule_missed_name(schedule_missed_t m)
{
    return m == SCHEDULE_MISSED_ONCE ? "once" : "skip";
}

int schedule_load_tz(const char *name, jobrt_tz_t **out, char *err,
                     size_t err_len)
{
    *out = NULL;
    if (strcmp(name, "UTC") == 0)
        return 0;
    char why[512];
    jobrt_tz_t *tz = tz_load(name, why, sizeof why);
    if (tz == NULL) {
        snprintf(err, err_len, "--tz: %s", why);
        return -1;
    }
    *out = tz;
    return 0;
}

int schedule_def_check(const schedule_def_t *d, char *err, size_t err_len)
{
    if (!schedule_name_ok(d->name, strlen(d->name)))
        return util_fail(err, err_len, "NAME '%.80s' must be 1-%d characters "
                         "of [A-Za-z0-9_.:-]", d->name, SCHEDULE_NAME_MAX);
    if (!envelope_valid_name(d->queue, strlen(d->queue)))
        return util_fail(err, err_len, "QUEUE '%.140s' must be 1-128 "
                         "characters of [A-Za-z0-9_.:/-]", d->queue);
    cron_expr_t c;
    char why[400];
    if (cron_parse(d->cron, &c, why, sizeof why) != 0)
        return util_fail(err, err_len, "--cron: %s", why);
    if (!envelope_valid_name(d->job, strlen(d->job)))
        return util_fail(err, err_len, "JOB '%.140s' is not a job name (1-128 "
                         "characters of [A-Za-z0-9_.:/-])", d->job);
    if (d->version < 0 || d->version > (long)ENVELOPE_MAX_VERSION)
        return util_fail(err, err_len, "-v N (payload schema version) is "
                         "required: 0 to %u", ENVELOPE_MAX_VERSION);
    if (d->payload == NULL)
        return util_fail(err, err_len, "--payload is required");
    size_t plen = strlen(d->payload);
    if (plen > SCHEDULE_PAYLOAD_MAX)
        return util_fail(err, err_len, "--payload: %zu bytes, over the limit "
                         "of %d for a schedule", plen, SCHEDULE_PAYLOAD_MAX);
    const char *jwhy = NULL;
    if (json_check(d->payload, plen, JSON_CHECK_DEFAULT_DEPTH, &jwhy) != 0)
        return util_fail(err, err_len, "--payload: not valid JSON (%s)",
                         jwhy ? jwhy : "invalid");
    if (d->max_attempts < 0 || d->max_attempts > ENVELOPE_MAX_ATTEMPTS)
        return util_fail(err, err_len, "--max-attempts must be 1 to %d",
                         ENVELOPE_MAX_ATTEMPTS);
    /* a job as the worker will enqueue it must pass the worker's checks */
    enqueue_spec_t s = ENQUEUE_SPEC_INIT;
    char id[ENVELOPE_MAX_ID + 1];
    snprintf(id, sizeof id, SCHEDULE_ID_PREFIX "%s-%lld", d->name,
             (long long)4102444800000LL);
    s.job = d->job;
    s.version = d->version;
    s.payload = d->payload;
    s.payload_len = plen;
    s.id = id;
    s.max_attempts = d->max_attempts;
    s.enqueued_at_ms = 4102444800000LL;
    enqueue_entry_t e;
    memset(&e, 0, sizeof e);
    int rc = enqueue_build(&s, &e, why, sizeof why);
    enqueue_entry_free(&e);
    if (rc != 0)
        return util_fail(err, err_len, "the job would not be accepted: %s",
                         why);
    return 0;
}

char *schedule_def_encode(const schedule_def_t *d)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    int ok = cJSON_AddStringToObject(o, "name", d->name) &&
             cJSON_AddStringToObject(o, "queue", d->queue) &&
             cJSON_AddStringToObject(o, "cron", d->cron) &&
             cJSON_AddStringToObject(o, "tz", d->tz) &&
             cJSON_AddStringToObject(o, "missed",
                                     schedule_missed_name(d->missed)) &&
             cJSON_AddStringToObject(o, "job", d->job) &&
             cJSON_AddNumberToObject(o, "v", (double)d->version) &&
             cJSON_AddStringToObject(o, "payload", d->payload) &&
             (d->max_attempts == 0 ||
              cJSON_AddNumberToObject(o, "max_attempts",
                                      (double)d->max_attempts)) &&
             cJSON_AddBoolToObject(o, "paused", d->paused) &&
             cJSON_AddNumberToObject(o, "created_at",
                                     (double)d->created_at) &&
             cJSON_AddNumberToObject(o, "updated_at",
                                     (double)d->updated_at) &&
             cJSON_AddStringToObject(o, "by", d->by);
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* Copies string member key of o into out; -1 if missing, not a string or
 * too long. */
static int get_str(const cJSON *o, const char *key, char *out, size_t len,
                   int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL && !required) {
        out[0] = '\0';
        return 0;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
        return -1;
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

static int get_num(const cJSON *o, const char *key, double min, double max,
                   double *out, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL && !required) {
        *out = 0;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return -1;
    *out = v->valuedouble;
    return 0;
}

int schedule_def_decode(const char *json, size_t len, schedule_def_t *d,
                        char *err, size_t err_len)
{
    memset(d, 0, sizeof *d);
    if (len > SCHEDULE_DEF_MAX)
        return util_fail(err, err_len, "definition of %zu bytes, over the "
                         "limit of %d", len, SCHEDULE_DEF_MAX);
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return util_fail(err, err_len, "definition is not a JSON object");
    }
    const char *bad = NULL;
    double v = 0, ma = 0, ca = 0, ua = 0;
    char missed[16];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "payload"),
                *paused = cJSON_GetObjectItemCaseSensitive(o, "paused");
    if (get_str(o, "name", d->name, sizeof d->name, 1))
        bad = "name";
    else if (get_str(o, "queue", d->queue, sizeof d->queue, 1))
        bad = "queue";
    else if (get_str(o, "cron", d->cron, sizeof d->cron, 1))
        bad = "cron";
    else if (get_str(o, "tz", d->tz, sizeof d->tz, 0))
        bad = "tz";
    else if (get_str(o, "missed", missed, sizeof missed, 0) ||
             (missed[0] && schedule_missed_parse(missed) < 0))
        bad = "missed";
    else if (get_str(o, "job", d->job, sizeof d->job, 1))
        bad = "job";
    else if (get_num(o, "v", 0, ENVELOPE_MAX_VERSION, &v, 1))
        bad = "v";
    else if (!cJSON_IsString(p))
        bad = "payload";
    else if (get_num(o, "max_attempts", 1, ENVELOPE_MAX_ATTEMPTS, &ma, 0))
        bad = "max_attempts";
    else if (paused && !cJSON_IsBool(paused))
        bad = "paused";
    else if (get_num(o, "created_at", 0, 9e15, &ca, 0) ||
             get_num(o, "updated_at", 0, 9e15, &ua, 0))
        bad = "created_at/updated_at";
    else if (get_str(o, "by", d->by, sizeof d->by, 0))
        bad = "by";
    if (bad) {
        cJSON_Delete(o);
        return util_fail(err, err_len, "definition: \"%s\" is missing or "
                         "not valid", bad);
    }
    if (d->tz[0] == '\0')
        memcpy(d->tz, "UTC", 4);
    d->missed = missed[0] ? (schedule_missed_t)schedule_missed_parse(missed)
                          : SCHEDULE_MISSED_SKIP;
    d->version = (long)v;
    d->max_attempts = (long)ma;
    d->paused = cJSON_IsTrue(paused);
    d->created_at = (int64_t)ca;
    d->updated_at = (int64_t)ua;
    d->payload = strdup(p->valuestring);
    cJSON_Delete(o);
    if (d->payload == NULL)
        return util_fail(err, err_len, "out of memory");
    char why[600];
    if (schedule_def_check(d, why, sizeof why) != 0) {
        schedule_def_free(d);
        return util_fail(err, err_len, "definition: %s", why);
    }
    return 0;
}

void schedule_def_free(schedule_def_t *d)
{
    free(d->payload);
    d->payload = NULL;
}

/* ---- the due-time rule --------------------------------------------------- */

int64_t schedule_newest_tick(const cron_expr_t *c, const jobrt_tz_t *tz,
                             int64_t lo, int64_t now)
{
    /* cron_next(a) (the first tick after a) grows with a: find the
     * largest a in [lo - 1, now) whose next tick is still <= now. */
    int64_t first = cron_next(c, tz, lo - 1);
    if (first < 0 || first > now)
        return lo;
    int64_t good = lo - 1, over = now;
    while (over - good > 1) {
        int64_t mid = good + (over - good) / 2;
        int64_t t = cron_next(c, tz, mid);
        if (t >= 0 && t <= now)
            good = mid;
        else
            over = mid;
    }
    return cron_next(c, tz, good);
}

void schedule_plan(const cron_expr_t *c, const jobrt_tz_t *tz, int64_t due,
                   int64_t now, schedule_missed_t policy, int64_t missed_ms,
                   schedule_plan_t *out)
{
    memset(out, 0, sizeof *out);
    out->next = due;
    if (due > now)
        return;
    if (now - due > missed_ms) {
        out->missed = 1;
        out->missed_first = due;
        if (policy == SCHEDULE_MISSED_ONCE)
            out->fires[out->n++] = schedule_newest_tick(c, tz, due, now);
        out->next = cron_next(c, tz, now);
        return;
    }
    int64_t t = due;
    while (t >= 0 && t <= now && out->n < SCHEDULE_FIRE_BATCH) {
        out->fires[out->n++] = t;
        t = cron_next(c, tz, t);
    }
    out->next = t;
}

void schedule_format_local(const jobrt_tz_t *tz, int64_t ms, char *out,
                           size_t out_len)
{
    int64_t s = ms / 1000;
    int off = tz_offset(tz, s, NULL);
    int64_t local = s + off;
    int64_t days = local / 86400, rem = local % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    int aoff = off < 0 ? -off : off;
    snprintf(out, out_len, "%04lld-%02d-%02d %02d:%02d:%02d%c%02d:%02d",
             (long long)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
             (int)(rem % 60), off < 0 ? '-' : '+', aoff / 3600,
             aoff / 60 % 60);
}
