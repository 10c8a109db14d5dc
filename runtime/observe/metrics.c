/*
 * metrics.c - counting on the worker's loop thread, and merging the
 * counts of every worker process for /metrics.
 */
#include "observe/metrics.h"

#include <stdio.h>
#include <string.h>

#include "core/reasons.h"

const char *const metrics_outcome_names[OUTCOME_N] = {
    "succeeded", "retried", "dead_lettered", "parked", "released"};

const char *const metrics_reason_names[METRICS_REASONS] = {
    REASON_NO_HANDLER,       REASON_SCHEMA_UNSUPPORTED,
    REASON_INVALID_ENVELOPE, REASON_RETRIES_EXHAUSTED,
    REASON_PERMANENT_FAILURE, REASON_PAYLOAD_TOO_LARGE,
    REASON_ENTRY_TOO_LARGE,  REASON_TOO_MANY_FIELDS,
    REASON_TIMEOUT,          REASON_EXPIRED,
    REASON_CANCELLED,        REASON_POISON,
    REASON_DISABLED,         "other"};
_Static_assert(sizeof metrics_reason_names / sizeof metrics_reason_names[0] ==
                   METRICS_REASONS,
               "one name per reason");

const uint32_t metrics_duration_le_us[METRICS_DURATION_BUCKETS] = {
    100,     500,     1000,     2500,     5000,     10000,
    25000,   50000,   100000,   250000,   500000,   1000000,
    2500000, 5000000, 10000000, 30000000, 60000000};

const uint32_t metrics_lag_le_ms[METRICS_LAG_BUCKETS] = {
    1,   2,    5,    10,   25,    50,    100,   250,
    500, 1000, 2500, 5000, 10000, 30000, 60000, 300000};

int metrics_reason_index(const char *reason)
{
    if (reason)
        for (int i = 0; i < METRICS_REASONS - 1; i++)
            if (strcmp(metrics_reason_names[i], reason) == 0)
                return i;
    return METRICS_REASONS - 1;
}

void metrics_writer_init(metrics_writer_t *w, metrics_t *m)
{
    memset(w, 0, sizeof *w);
    w->m = m;
}

static uint32_t pair_hash(uint32_t queue, const char *job, size_t len,
                          uint32_t version)
{
    uint32_t h = (2166136261u ^ version) * 16777619u ^ queue;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)job[i]) * 16777619u;
    return h;
}

/* Writes a new row: the fields first, `used` last (readers skip rows
 * not yet used). */
static metrics_pair_t *new_row(metrics_writer_t *w, uint32_t queue,
                               const char *job, size_t len, uint32_t version)
{
    metrics_pair_t *p = &w->m->pairs[w->n_rows++];
    p->queue = queue;
    if (len > ENVELOPE_MAX_NAME)
        len = ENVELOPE_MAX_NAME;
    memcpy(p->job, job, len);
    p->job[len] = '\0';
    p->version = version;
    atomic_store_explicit(&p->used, 1, memory_order_release);
    return p;
}

metrics_pair_t *metrics_row(metrics_writer_t *w, const char *job, size_t len,
                            uint32_t version)
{
    return metrics_row_in(w, 0, job, len, version);
}

metrics_pair_t *metrics_row_in(metrics_writer_t *w, uint32_t queue,
                               const char *job, size_t len, uint32_t version)
{
    if (queue >= METRICS_MAX_QUEUES)
        queue = 0;
    if (job == NULL || len == 0 || len > ENVELOPE_MAX_NAME) {
        job = METRICS_INVALID_JOB;
        len = sizeof METRICS_INVALID_JOB - 1;
        version = 0;
    }
    uint32_t h = pair_hash(queue, job, len, version);
    for (uint32_t probe = 0; probe < METRICS_INDEX_SLOTS; probe++) {
        uint32_t at = (h + probe) % METRICS_INDEX_SLOTS;
        int16_t row = w->index[at];
        if (row == 0) {
            if (!envelope_valid_name(job, len)) /* never a label */
                return metrics_row_in(w, queue, NULL, 0, 0);
            if (w->n_rows >= METRICS_PAIRS - 1)
                break; /* the last row is the overflow row */
            w->index[at] = (int16_t)(w->n_rows + 1);
            return new_row(w, queue, job, len, version);
        }
        metrics_pair_t *p = &w->m->pairs[row - 1];
        /* memcmp: a name with a NUL in it is not its prefix's row */
        if (p->version == version && p->queue == queue &&
            memcmp(p->job, job, len) == 0 &&
            p->job[len] == '\0')
            return p;
    }
    metrics_pair_t *other = &w->m->pairs[METRICS_PAIRS - 1];
    if (!atomic_load_explicit(&other->used, memory_order_relaxed)) {
        memcpy(other->job, METRICS_OTHER_JOB, sizeof METRICS_OTHER_JOB);
        other->version = 0;
        atomic_store_explicit(&other->used, 1, memory_order_release);
    }
    return other;
}

void metrics_count(metrics_writer_t *w, const char *job, size_t len,
                   uint32_t version, metrics_outcome_t outcome,
                   const char *reason, int64_t run_us)
{
    metrics_count_in(w, 0, job, len, version, outcome, reason, run_us);
}

void metrics_count_in(metrics_writer_t *w, uint32_t queue, const char *job,
                      size_t len, uint32_t version, metrics_outcome_t outcome,
                      const char *reason, int64_t run_us)
{
    metrics_pair_t *p = metrics_row_in(w, queue, job, len, version);
    metrics_add(&p->outcomes[outcome], 1);
    if (outcome == OUTCOME_DEAD)
        metrics_add(&p->dead[metrics_reason_index(reason)], 1);
    if (run_us < 0)
        return;
    int b = 0;
    while (b < METRICS_DURATION_BUCKETS &&
           (uint64_t)run_us > metrics_duration_le_us[b])
        b++;
    metrics_add(&p->duration[b], 1);
    metrics_add(&p->duration_sum_us, (uint64_t)run_us);
}

void metrics_count_lag(metrics_t *m, int64_t lag_ms)
{
    if (lag_ms < 0)
        lag_ms = 0; /* clocks of producer and worker disagree */
    int b = 0;
    while (b < METRICS_LAG_BUCKETS && (uint64_t)lag_ms > metrics_lag_le_ms[b])
        b++;
    metrics_add(&m->lag[b], 1);
    metrics_add(&m->lag_sum_ms, (uint64_t)lag_ms);
}

/* ---- reading ------------------------------------------------------------- */

void metrics_sum_init(metrics_sum_t *s) { memset(s, 0, sizeof *s); }

/* A job name as the envelope allows it (or one of the two made-up rows):
 * anything else on a board was not written by the worker's counting. */
static int name_ok(const char *job)
{
    return envelope_valid_name(job, strnlen(job, ENVELOPE_MAX_NAME + 1));
}

static int is_other(const char *job, uint32_t version)
{
    return version == 0 && strcmp(job, METRICS_OTHER_JOB) == 0;
}

/* The row of (job, version), made if new; a new pair takes a row only
 * while one is left for the overflow row, which then takes it. */
static metrics_pair_sum_t *sum_row(metrics_sum_t *s, uint32_t queue,
                                   const char *job, uint32_t version)
{
    metrics_pair_sum_t *other = NULL;
    if (is_other(job, version))
        queue = 0;
    for (size_t i = 0; i < s->n_pairs; i++) {
        if (s->pairs[i].version == version && s->pairs[i].queue == queue &&
            strcmp(s->pairs[i].job, job) == 0)
            return &s->pairs[i];
        if (is_other(s->pairs[i].job, s->pairs[i].version))
            other = &s->pairs[i];
    }
    size_t room = METRICS_SUM_PAIRS - s->n_pairs;
    if (!is_other(job, version) && (room == 0 || (room == 1 && !other)))
        return other ? other : sum_row(s, 0, METRICS_OTHER_JOB, 0);
    if (room == 0) /* not reached: the last row is kept for _other */
        return &s->pairs[METRICS_SUM_PAIRS - 1];
    metrics_pair_sum_t *p = &s->pairs[s->n_pairs++];
    memset(p, 0, sizeof *p);
    snprintf(p->job, sizeof p->job, "%s", job);
    p->version = version;
    p->queue = queue;
    return p;
}

static void add_pair(metrics_pair_sum_t *d, const metrics_pair_sum_t *a)
{
    for (int i = 0; i < OUTCOME_N; i++)
        d->outcomes[i] += a->outcomes[i];
    for (int i = 0; i < METRICS_REASONS; i++)
        d->dead[i] += a->dead[i];
    for (int i = 0; i <= METRICS_DURATION_BUCKETS; i++)
        d->duration[i] += a->duration[i];
    d->duration_sum_us += a->duration_sum_us;
}

void metrics_merge(metrics_sum_t *s, const metrics_t *m, int with_gauges)
{
    s->fetched += metrics_get(&m->fetched);
    s->reclaimed += metrics_get(&m->reclaimed);
    s->poisoned += metrics_get(&m->poisoned);
    s->reconnects += metrics_get(&m->reconnects);
    s->reloads += metrics_get(&m->reloads);
    s->reload_failures += metrics_get(&m->reload_failures);
    s->lag_sum_ms += metrics_get(&m->lag_sum_ms);
    for (int i = 0; i <= METRICS_LAG_BUCKETS; i++)
        s->lag[i] += metrics_get(&m->lag[i]);
    for (int i = 0; i < METRICS_REASONS; i++)
        s->script_dead[i] += metrics_get(&m->script_dead[i]);
    if (with_gauges) {
        s->in_flight += atomic_load(&m->in_flight);
        s->plugins_loaded += atomic_load(&m->plugins_loaded);
        s->generations_live += atomic_load(&m->generations_live);
        s->generations_leaked += atomic_load(&m->generations_leaked);
    }
    for (int r = 0; r < METRICS_PAIRS; r++) {
        const metrics_pair_t *p = &m->pairs[r];
        if (!atomic_load_explicit(&p->used, memory_order_acquire))
            continue;
        char job[ENVELOPE_MAX_NAME + 1];
        memcpy(job, p->job, sizeof job);
        job[ENVELOPE_MAX_NAME] = '\0';
        if (!name_ok(job))
            continue;
        metrics_pair_sum_t a = {.version = p->version};
        for (int i = 0; i < OUTCOME_N; i++)
            a.outcomes[i] = metrics_get(&p->outcomes[i]);
        for (int i = 0; i < METRICS_REASONS; i++)
            a.dead[i] = metrics_get(&p->dead[i]);
        for (int i = 0; i <= METRICS_DURATION_BUCKETS; i++)
            a.duration[i] = metrics_get(&p->duration[i]);
        a.duration_sum_us = metrics_get(&p->duration_sum_us);
        /* never trusted: plugin code can write the block */
        uint32_t q = p->queue < METRICS_MAX_QUEUES ? p->queue : 0;
        add_pair(sum_row(s, q, job, p->version), &a);
    }
}

void metrics_sum_clamp_queues(metrics_sum_t *s, size_t n_queues)
{
    for (size_t i = 0; i < s->n_pairs;) {
        if (s->pairs[i].queue < n_queues || s->pairs[i].queue == 0) {
            i++;
            continue;
        }
        metrics_pair_sum_t moved = s->pairs[i];
        s->pairs[i] = s->pairs[--s->n_pairs]; /* order does not matter */
        add_pair(sum_row(s, 0, moved.job, moved.version), &moved);
    }
}

void metrics_sum_add(metrics_sum_t *s, const metrics_sum_t *add)
{
    s->fetched += add->fetched;
    s->reclaimed += add->reclaimed;
    s->poisoned += add->poisoned;
    s->reconnects += add->reconnects;
    s->reloads += add->reloads;
    s->reload_failures += add->reload_failures;
    s->lag_sum_ms += add->lag_sum_ms;
    for (int i = 0; i <= METRICS_LAG_BUCKETS; i++)
        s->lag[i] += add->lag[i];
    for (int i = 0; i < METRICS_REASONS; i++)
        s->script_dead[i] += add->script_dead[i];
    for (size_t i = 0; i < add->n_pairs; i++)
        add_pair(sum_row(s, add->pairs[i].queue, add->pairs[i].job,
                         add->pairs[i].version),
                 &add->pairs[i]);
}
