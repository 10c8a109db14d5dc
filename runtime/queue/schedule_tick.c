/*
 * schedule_tick.c - recurring jobs (`jobrt schedule`, docs/scheduling.md)
 * as every worker of the queue drives them from its tick. Every
 * SCHEDULE_POLL_MS the SCHEDULE_DUE script reads the schedules due on the
 * server clock (a bounded batch) with their definitions; for each, this
 * worker works out in C which ticks fire now and the next due time
 * (schedule_plan: cron_next in the schedule's zone, the missed policy)
 * and sends SCHEDULE_FIRE, a compare-and-set on the due time and the
 * definition it saw: of all the workers that saw the same due time, one
 * enqueues the jobs and moves the schedule on; the others get 0 and
 * change nothing. So each tick fires once for the whole fleet, whichever
 * workers run, die or restart.
 *
 * Parsed definitions (cron, zone, the job's fields) are kept per name and
 * parsed again only when the stored text changes. One that cannot be
 * used (a hand-edited hash) is logged once per text and left where it is.
 */
#include "queue/queue_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "queue/enqueue_parse.h"
#include "schedule/schedule_def.h"

#define SCHEDULE_POLL_MS 250
#define SCHED_DUE_BATCH 64   /* schedules read per poll */
#define SCHED_BAD_MAX 960    /* unusable ones read again, at most */
#define SCHED_CACHE_MAX 1024 /* parsed definitions kept */
#define SCHEDULE_MISSED_ENV "JOBRT_SCHEDULE_MISSED_MS"

struct sched_entry {
    char name[SCHEDULE_NAME_MAX + 1];
    char *def;           /* the definition as last read ("" if none) */
    size_t def_len;
    int ok;              /* parsed: the fields below are set */
    cron_expr_t cron;
    jobrt_tz_t *tz;
    schedule_missed_t missed;
    strlist_t fields;    /* the job's field/value pairs, no id */
    uint64_t used;       /* sched_round of its last use */
};

typedef struct {
    queue_redis_t *q;
    char name[SCHEDULE_NAME_MAX + 1];
    int64_t due, now;
    schedule_plan_t plan;
} fire_t;

static void entry_clear(struct sched_entry *e)
{
    free(e->def);
    e->def = NULL;
    tz_free(e->tz);
    e->tz = NULL;
    strlist_free(&e->fields);
    e->ok = 0;
}

void queue_schedule_free(queue_redis_t *q)
{
    for (size_t i = 0; i < q->n_sched; i++)
        entry_clear(&q->sched[i]);
    free(q->sched);
    q->sched = NULL;
    q->n_sched = 0;
}

/* The cache entry of name: found, or a new one (the least recently used
 * one is reused when the cache is full). NULL when out of memory. */
static struct sched_entry *entry_for(queue_redis_t *q, const char *name,
                                     size_t len)
{
    size_t lru = 0;
    for (size_t i = 0; i < q->n_sched; i++) {
        if (strlen(q->sched[i].name) == len &&
            memcmp(q->sched[i].name, name, len) == 0)
            return &q->sched[i];
        if (q->sched[i].used < q->sched[lru].used)
            lru = i;
    }
    struct sched_entry *e;
    if (q->n_sched >= SCHED_CACHE_MAX) {
        e = &q->sched[lru];
        entry_clear(e);
    } else {
        if (q->sched == NULL &&
            (q->sched = calloc(SCHED_CACHE_MAX, sizeof *q->sched)) == NULL)
            return NULL;
        e = &q->sched[q->n_sched++];
    }
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    return e;
}

/* Parses def into e; logs once (per definition text) what is wrong. */
static void entry_parse(queue_redis_t *q, struct sched_entry *e,
                        const char *def, size_t len)
{
    entry_clear(e);
    e->def = malloc(len + 1);
    if (e->def == NULL)
        return; /* read again next poll */
    memcpy(e->def, def, len);
    e->def[len] = '\0';
    e->def_len = len;
    char why[700];
    schedule_def_t d;
    if (len == 0) {
        LOGW("queue", "schedule %s is due in %s but %s has no definition "
             "for it: left as it is (`jobrt schedule remove %s -q %s` "
             "removes it)", e->name, q->keys.schedule_due, q->keys.schedules,
             e->name, q->o.queue);
        return;
    }
    if (schedule_def_decode(def, len, &d, why, sizeof why) != 0) {
        LOGW("queue", "schedule %s in %s cannot be used: %s; left as it is "
             "until its definition changes", e->name, q->keys.schedules,
             why);
        return;
    }
    int rc = 0;
    if (strcmp(d.name, e->name) != 0 || strcmp(d.queue, q->o.queue) != 0) {
        rc = util_fail(why, sizeof why, "its definition names schedule '%s' "
                       "of queue '%s'", d.name, d.queue);
    } else if (cron_parse(d.cron, &e->cron, why, sizeof why) != 0 ||
               schedule_load_tz(d.tz, &e->tz, why, sizeof why) != 0) {
        rc = -1;
    } else {
        enqueue_spec_t s = ENQUEUE_SPEC_INIT;
        enqueue_entry_t en;
        memset(&en, 0, sizeof en);
        s.job = d.job;
        s.version = d.version;
        s.payload = d.payload;
        s.payload_len = strlen(d.payload);
        s.max_attempts = d.max_attempts;
        rc = enqueue_build(&s, &en, why, sizeof why);
        for (size_t i = 0; rc == 0 && i < en.n_fields; i++)
            strlist_add(&e->fields, en.fields[i].ptr, en.fields[i].len);
        enqueue_entry_free(&en);
        if (rc == 0 && strlist_failed(&e->fields))
            rc = util_fail(why, sizeof why, "out of memory");
    }
    e->missed = d.missed;
    schedule_def_free(&d);
    if (rc != 0) {
        LOGW("queue", "schedule %s in %s cannot be used: %s; left as it is "
             "until its definition changes", e->name, q->keys.schedules,
             why);
        tz_free(e->tz);
        e->tz = NULL;
        strlist_free(&e->fields);
        return;
    }
    e->ok = 1;
}

static void on_fired(redisAsyncContext *ac, void *reply, void *priv)
{
    fire_t *f = priv;
    queue_redis_t *q = f->q;
    redisReply *r = reply;
    (void)ac;
    if (q->sched_outstanding > 0)
        q->sched_outstanding--;
    if (periodic_failed(q, r, PERIODIC_SCHEDULE, "firing a schedule") ||
        r->type != REDIS_REPLY_ARRAY) {
        free(f); /* 0: another worker fired it first, or it changed */
        return;
    }
    const schedule_plan_t *p = &f->plan;
    char next[48] = "none within 5 years", from[48];
    if (p->next >= 0)
        schedule_format_local(NULL, p->next, next, sizeof next);
    schedule_format_local(NULL, p->missed_first, from, sizeof from);
    if (p->missed && p->n)
        LOGW("queue", "schedule %s on queue %s: ticks from %s on were "
             "missed (overdue more than %llds: no worker ran); --missed "
             "once: one job for the newest, %s%s-%lld; next at %s",
             f->name, q->o.queue, from,
             (long long)(q->sched_missed_ms / 1000), SCHEDULE_ID_PREFIX,
             f->name, (long long)p->fires[0], next);
    else if (p->missed)
        LOGW("queue", "schedule %s on queue %s: ticks from %s on were "
             "missed (overdue more than %llds: no worker ran); --missed "
             "skip: none fired; next at %s", f->name, q->o.queue, from,
             (long long)(q->sched_missed_ms / 1000), next);
    else
        LOGD("queue", "schedule %s on queue %s fired %zu job(s), the last "
             "%s%s-%lld; next at %s", f->name, q->o.queue, p->n,
             SCHEDULE_ID_PREFIX, f->name, (long long)p->fires[p->n - 1],
             next);
    if (p->next >= 0 && p->next <= f->now)
        q->sched_again = 1; /* a full batch: more ticks are due */
    free(f);
}

/* Sends SCHEDULE_FIRE for e, due at due, on the server clock now. */
static void fire(queue_redis_t *q, struct sched_entry *e, const char *due_s,
                 int64_t due, int64_t now)
{
    fire_t *f = calloc(1, sizeof *f);
    /* EVALSHA sha 4 keys*4 name due def next n: 12, then ticks, fields */
    size_t max = 12 + SCHEDULE_FIRE_BATCH + e->fields.n;
    const char **argv = malloc(max * sizeof *argv);
    size_t *lens = malloc(max * sizeof *lens);
    char ticks[SCHEDULE_FIRE_BATCH][24], next[24], n[16];
    if (f == NULL || argv == NULL || lens == NULL) {
        free(f);
        free(argv);
        free(lens);
        return; /* out of memory: the next poll tries again */
    }
    f->q = q;
    memcpy(f->name, e->name, sizeof f->name);
    f->due = due;
    f->now = now;
    schedule_plan(&e->cron, e->tz, due, now, e->missed, q->sched_missed_ms,
                  &f->plan);
    snprintf(next, sizeof next, "%lld", (long long)f->plan.next);
    snprintf(n, sizeof n, "%zu", f->plan.n);
    int a = 0;
#define ARG(p, l) (argv[a] = (p), lens[a++] = (l))
#define ARGS(p) ARG(p, strlen(p))
    ARGS("EVALSHA");
    ARGS(q->sha[SCRIPT_SCHEDULE_FIRE]);
    ARGS("4");
    ARGS(q->keys.schedules);
    ARGS(q->keys.schedule_due);
    ARGS(q->keys.stream);
    ARGS(q->keys.schedule_fired);
    ARGS(e->name);
    ARGS(due_s);
    ARG(e->def, e->def_len);
    ARGS(next);
    ARGS(n);
    for (size_t i = 0; i < f->plan.n; i++) {
        snprintf(ticks[i], sizeof ticks[i], "%lld",
                 (long long)f->plan.fires[i]);
        ARGS(ticks[i]);
    }
    for (size_t i = 0; i < e->fields.n; i++) {
        size_t len;
        const char *s = strlist_get(&e->fields, i, &len);
        ARG(s, len);
    }
#undef ARG
#undef ARGS
    if (redisAsyncCommandArgv(q->writer.ac, on_fired, f, a, argv, lens) ==
        REDIS_OK)
        q->sched_outstanding++;
    else
        free(f);
    free(argv);
    free(lens);
}

static void on_due(redisAsyncContext *ac, void *reply, void *priv)
{
    queue_redis_t *q = priv;
    redisReply *r = reply;
    (void)ac;
    if (q->sched_outstanding > 0)
        q->sched_outstanding--;
    if (periodic_failed(q, r, PERIODIC_SCHEDULE,
                        "reading the due schedules") ||
        r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || q->closing)
        return;
    int64_t now = r->element[0]->integer;
    unsigned bad = 0;
    q->sched_round++;
    for (size_t i = 1; i + 2 < r->elements; i += 3) {
        const redisReply *name = r->element[i], *score = r->element[i + 1],
                         *def = r->element[i + 2];
        if (name->type != REDIS_REPLY_STRING ||
            score->type != REDIS_REPLY_STRING ||
            !schedule_name_ok(name->str, name->len)) {
            bad++; /* not a name `jobrt schedule` writes: left alone */
            continue;
        }
        const char *dtext = def->type == REDIS_REPLY_STRING ? def->str : "";
        size_t dlen = def->type == REDIS_REPLY_STRING ? def->len : 0;
        struct sched_entry *e = entry_for(q, name->str, name->len);
        if (e == NULL)
            continue;
        e->used = q->sched_round;
        if (e->def == NULL || e->def_len != dlen ||
            memcmp(e->def, dtext, dlen) != 0)
            entry_parse(q, e, dtext, dlen);
        char *end;
        double due = strtod(score->str, &end);
        if (!e->ok || end == score->str || due < 0 || due > 9e15) {
            bad++;
            continue;
        }
        fire(q, e, score->str, (int64_t)due, now);
    }
    q->sched_bad = bad < SCHED_BAD_MAX ? bad : SCHED_BAD_MAX;
}

void queue_schedule_tick(queue_redis_t *q, int64_t now)
{
    if (q->sched_missed_ms == 0) {
        const char *env = getenv(SCHEDULE_MISSED_ENV);
        uint64_t v;
        q->sched_missed_ms = SCHEDULE_MISSED_MS;
        if (env && util_parse_u64(env, strlen(env), 86400000, &v) == 0 &&
            v > 0)
            q->sched_missed_ms = (int64_t)v;
    }
    if (q->sched_outstanding || q->released ||
        (now < q->next_sched_poll && !q->sched_again))
        return;
    q->sched_again = 0;
    q->next_sched_poll = now + SCHEDULE_POLL_MS;
    char count[16];
    snprintf(count, sizeof count, "%u", SCHED_DUE_BATCH + q->sched_bad);
    const char *argv[] = {"EVALSHA", q->sha[SCRIPT_SCHEDULE_DUE], "2",
                          q->keys.schedule_due, q->keys.schedules, "0",
                          count};
    if (redisAsyncCommandArgv(q->writer.ac, on_due, q, 7, argv, NULL) ==
        REDIS_OK)
        q->sched_outstanding++;
}
