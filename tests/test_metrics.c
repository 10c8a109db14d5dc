/*
 * test_metrics.c - counting into a worker's metrics block through its
 * writer (observe/metrics.c) and merging blocks for /metrics: one row per
 * (job, version), invalid names in "_invalid", pairs past the block's
 * limit in "_other", histogram bucket edges (an upper bound is
 * inclusive), merging several blocks and sums without losing a count or
 * overrunning the sum's rows, and a block with garbage names skipped.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/metrics.h"

static metrics_t *new_block(void)
{
    metrics_t *m = calloc(1, sizeof *m);
    cr_assert_not_null(m);
    return m;
}

static const metrics_pair_sum_t *find(const metrics_sum_t *s, const char *job,
                                      uint32_t version)
{
    for (size_t i = 0; i < s->n_pairs; i++)
        if (s->pairs[i].version == version && strcmp(s->pairs[i].job, job) == 0)
            return &s->pairs[i];
    return NULL;
}

static size_t used_rows(const metrics_t *m)
{
    size_t n = 0;
    for (int i = 0; i < METRICS_PAIRS; i++)
        n += atomic_load(&m->pairs[i].used) != 0;
    return n;
}

static void count_ok(metrics_writer_t *w, const char *job, uint32_t v)
{
    metrics_count(w, job, strlen(job), v, OUTCOME_SUCCEEDED, NULL, -1);
}

Test(metrics, one_row_per_job_and_version)
{
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    count_ok(&w, "email", 1);
    count_ok(&w, "email", 1);
    count_ok(&w, "email", 2);
    count_ok(&w, "resize", 1);
    metrics_count(&w, "email", 5, 1, OUTCOME_DEAD, "timeout", 10);
    metrics_count(&w, "email", 5, 1, OUTCOME_DEAD, "no such reason", 10);
    cr_assert_eq(used_rows(m), 3);
    metrics_pair_t *a = metrics_row(&w, "email", 5, 1);
    cr_assert_str_eq(a->job, "email");
    cr_assert_eq(a->version, 1);
    cr_assert_eq(metrics_get(&a->outcomes[OUTCOME_SUCCEEDED]), 2);
    cr_assert_eq(metrics_get(&a->outcomes[OUTCOME_DEAD]), 2);
    int timeout = -1;
    for (int i = 0; i < METRICS_REASONS; i++)
        if (strcmp(metrics_reason_names[i], "timeout") == 0)
            timeout = i;
    cr_assert_geq(timeout, 0);
    cr_assert_eq(metrics_get(&a->dead[timeout]), 1);
    cr_assert_eq(metrics_get(&a->dead[METRICS_REASONS - 1]), 1,
                 "an unknown reason counts as the last, 'other'");
    cr_assert_str_eq(metrics_reason_names[METRICS_REASONS - 1], "other");
    cr_assert_eq(metrics_get(&metrics_row(&w, "email", 5, 2)
                                  ->outcomes[OUTCOME_SUCCEEDED]), 1);
    /* a prefix or an extension of a name is another row */
    metrics_pair_t *e = metrics_row(&w, "emai", 4, 1);
    cr_assert_neq(e, a);
    cr_assert_str_eq(e->job, "emai");
    cr_assert_neq(metrics_row(&w, "emails", 6, 1), a);
    /* the name is the len bytes given, not up to a NUL */
    cr_assert_eq(metrics_row(&w, "email-x", 5, 1), a);
    free(m);
}

Test(metrics, invalid_names_count_as_invalid)
{
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    char long_name[ENVELOPE_MAX_NAME + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const struct {
        const char *job;
        size_t len;
    } bad[] = {
        {NULL, 0},          {"", 0},           {"with space", 10},
        {"new\nline", 8},   {"nul\0byte", 8},  {"\x1b[31m", 5},
        {"caf\xc3\xa9", 5}, {long_name, ENVELOPE_MAX_NAME + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        metrics_count(&w, bad[i].job, bad[i].len, 7, OUTCOME_DEAD,
                      "invalid_envelope", -1);
    cr_assert_eq(used_rows(m), 1, "every bad name lands in one row");
    metrics_pair_t *p = metrics_row(&w, NULL, 0, 0);
    cr_assert_str_eq(p->job, METRICS_INVALID_JOB);
    cr_assert_eq(p->version, 0, "the version of an invalid job is not kept");
    cr_assert_eq(metrics_get(&p->outcomes[OUTCOME_DEAD]),
                 sizeof bad / sizeof bad[0]);
    /* "nul\0..." is not the job "nul", wherever its probe lands */
    count_ok(&w, "nul", 1);
    metrics_pair_t *nul = metrics_row(&w, "nul", 3, 1);
    for (int i = 0; i < 2000; i++) {
        char name[16] = "nul";
        int n = snprintf(name + 4, sizeof name - 4, "%d", i);
        cr_assert_neq(metrics_row(&w, name, (size_t)(4 + n), 1), nul,
                      "'nul\\0%d' is counted as 'nul'", i);
    }
    cr_assert_eq(metrics_get(&metrics_row(&w, "nul", 3, 1)
                                  ->outcomes[OUTCOME_SUCCEEDED]), 1);
    cr_assert_eq(metrics_get(&metrics_row(&w, "nul", 3, 1)
                                  ->outcomes[OUTCOME_DEAD]), 0);
    /* the longest valid name is a row of its own */
    count_ok(&w, long_name + 1, 1);
    cr_assert_str_eq(metrics_row(&w, long_name + 1, ENVELOPE_MAX_NAME, 1)->job,
                     long_name + 1);
    free(m);
}

Test(metrics, pairs_past_the_limit_share_the_other_row)
{
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    char name[32];
    for (int i = 0; i < METRICS_PAIRS - 1; i++) {
        snprintf(name, sizeof name, "job%d", i);
        count_ok(&w, name, 1);
    }
    cr_assert_eq(used_rows(m), METRICS_PAIRS - 1);
    cr_assert_eq(atomic_load(&m->pairs[METRICS_PAIRS - 1].used), 0,
                 "the overflow row is made only when needed");
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "late%d", i);
        count_ok(&w, name, 3);
    }
    count_ok(&w, "job0", 2); /* a known job at a new version is a new pair */
    const metrics_pair_t *other = &m->pairs[METRICS_PAIRS - 1];
    cr_assert_eq(used_rows(m), METRICS_PAIRS);
    cr_assert_str_eq(other->job, METRICS_OTHER_JOB);
    cr_assert_eq(other->version, 0);
    cr_assert_eq(metrics_get(&other->outcomes[OUTCOME_SUCCEEDED]), 11);
    /* the pairs seen first still count in their own rows */
    count_ok(&w, "job5", 1);
    cr_assert_eq(metrics_get(&metrics_row(&w, "job5", 4, 1)
                                  ->outcomes[OUTCOME_SUCCEEDED]), 2);
    /* invalid names, once full, go to _other too (no row is free) */
    metrics_count(&w, "bad name", 8, 1, OUTCOME_SUCCEEDED, NULL, -1);
    cr_assert_eq(metrics_get(&other->outcomes[OUTCOME_SUCCEEDED]), 12);
    free(m);
}

Test(metrics, histogram_upper_bounds_are_inclusive)
{
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    metrics_pair_t *p = metrics_row(&w, "t", 1, 1);
    for (int b = 0; b < METRICS_DURATION_BUCKETS; b++) {
        int64_t le = metrics_duration_le_us[b];
        metrics_count(&w, "t", 1, 1, OUTCOME_SUCCEEDED, NULL, le);
        cr_assert_eq(metrics_get(&p->duration[b]), 1 + (b > 0),
                     "bucket %d (le %lld us)", b, (long long)le);
        metrics_count(&w, "t", 1, 1, OUTCOME_SUCCEEDED, NULL, le + 1);
        cr_assert_eq(metrics_get(&p->duration[b + 1]), 1,
                     "le %lld + 1 us lands in bucket %d", (long long)le,
                     b + 1);
    }
    metrics_count(&w, "t", 1, 1, OUTCOME_SUCCEEDED, NULL, 0);
    cr_assert_eq(metrics_get(&p->duration[0]), 2);
    metrics_count(&w, "t", 1, 1, OUTCOME_SUCCEEDED, NULL, INT64_MAX / 2);
    cr_assert_eq(metrics_get(&p->duration[METRICS_DURATION_BUCKETS]), 2);
    /* run_us -1: counted as an outcome, not in the histogram */
    uint64_t sum = metrics_get(&p->duration_sum_us);
    metrics_count(&w, "t", 1, 1, OUTCOME_PARKED, NULL, -1);
    cr_assert_eq(metrics_get(&p->duration_sum_us), sum);
    cr_assert_eq(metrics_get(&p->outcomes[OUTCOME_PARKED]), 1);
    uint64_t in_hist = 0;
    for (int b = 0; b <= METRICS_DURATION_BUCKETS; b++)
        in_hist += metrics_get(&p->duration[b]);
    cr_assert_eq(in_hist, 2 * METRICS_DURATION_BUCKETS + 2);

    for (int b = 0; b < METRICS_LAG_BUCKETS; b++) {
        metrics_count_lag(m, metrics_lag_le_ms[b]);
        cr_assert_eq(metrics_get(&m->lag[b]), 1, "lag bucket %d", b);
    }
    metrics_count_lag(m, metrics_lag_le_ms[METRICS_LAG_BUCKETS - 1] + 1);
    cr_assert_eq(metrics_get(&m->lag[METRICS_LAG_BUCKETS]), 1);
    metrics_count_lag(m, -5000); /* a producer's clock ahead of ours */
    cr_assert_eq(metrics_get(&m->lag[0]), 2);
    uint64_t want = 0;
    for (int b = 0; b < METRICS_LAG_BUCKETS; b++)
        want += metrics_lag_le_ms[b];
    want += metrics_lag_le_ms[METRICS_LAG_BUCKETS - 1] + 1;
    cr_assert_eq(metrics_get(&m->lag_sum_ms), want);
    free(m);
}

Test(metrics, merge_adds_blocks_and_gauges_only_when_asked)
{
    metrics_t *a = new_block(), *b = new_block();
    metrics_writer_t wa, wb;
    metrics_writer_init(&wa, a);
    metrics_writer_init(&wb, b);
    count_ok(&wa, "x", 1);
    count_ok(&wb, "x", 1);
    count_ok(&wb, "x", 1);
    count_ok(&wb, "y", 2);
    metrics_count(&wa, "x", 1, 1, OUTCOME_RETRIED, NULL, 2000);
    metrics_add(&a->fetched, 5);
    metrics_add(&b->fetched, 7);
    metrics_add(&b->reconnects, 1);
    metrics_count_lag(a, 3);
    metrics_count_lag(b, 3);
    atomic_store(&a->in_flight, 2);
    atomic_store(&b->in_flight, 3);
    atomic_store(&b->plugins_loaded, 4);

    metrics_sum_t *s = malloc(sizeof *s);
    cr_assert_not_null(s);
    metrics_sum_init(s);
    metrics_merge(s, a, 1);
    metrics_merge(s, b, 0); /* a worker gone: its gauges mean nothing now */
    cr_assert_eq(s->n_pairs, 2);
    const metrics_pair_sum_t *x = find(s, "x", 1), *y = find(s, "y", 2);
    cr_assert(x && y);
    cr_assert_eq(x->outcomes[OUTCOME_SUCCEEDED], 3);
    cr_assert_eq(x->outcomes[OUTCOME_RETRIED], 1);
    cr_assert_eq(x->duration[3], 1); /* 2000 us: le 2500 */
    cr_assert_eq(x->duration_sum_us, 2000);
    cr_assert_eq(y->outcomes[OUTCOME_SUCCEEDED], 1);
    cr_assert_eq(s->fetched, 12);
    cr_assert_eq(s->reconnects, 1);
    cr_assert_eq(s->lag[2], 2);
    cr_assert_eq(s->lag_sum_ms, 6);
    cr_assert_eq(s->in_flight, 2);
    cr_assert_eq(s->plugins_loaded, 0);

    /* a sum kept for workers that are gone, added to a fresh one */
    metrics_sum_t *t = malloc(sizeof *t);
    cr_assert_not_null(t);
    metrics_sum_init(t);
    metrics_merge(t, b, 1);
    metrics_sum_add(t, s);
    cr_assert_eq(find(t, "x", 1)->outcomes[OUTCOME_SUCCEEDED], 5);
    cr_assert_eq(find(t, "y", 2)->outcomes[OUTCOME_SUCCEEDED], 2);
    cr_assert_eq(t->fetched, 19);
    cr_assert_eq(t->in_flight, 3, "metrics_sum_add adds no gauges");
    cr_assert_eq(t->plugins_loaded, 4);
    free(s);
    free(t);
    free(a);
    free(b);
}

Test(metrics, merged_pairs_past_the_sum_limit_go_to_other)
{
    /* more blocks than the sum has rows for: every count stays, in the
     * _other row once the sum is full, and n_pairs never passes the
     * array (supervisor_keep_counts merges every worker that ever ran) */
    enum { BLOCKS = 2 * METRICS_SUM_PAIRS / (METRICS_PAIRS - 1) + 2 };
    metrics_sum_t *s = malloc(sizeof *s), *t = malloc(sizeof *t);
    cr_assert(s && t);
    metrics_sum_init(s);
    metrics_sum_init(t);
    uint64_t total = 0;
    char name[32];
    for (int k = 0; k < BLOCKS; k++) {
        metrics_t *m = new_block();
        metrics_writer_t w;
        metrics_writer_init(&w, m);
        for (int i = 0; i < METRICS_PAIRS + 3; i++) {
            snprintf(name, sizeof name, "b%d_j%d", k, i);
            count_ok(&w, name, 1);
            total++;
        }
        metrics_merge(s, m, 0);
        free(m);
        cr_assert_leq(s->n_pairs, METRICS_SUM_PAIRS, "after block %d", k);
    }
    cr_assert_eq(s->n_pairs, METRICS_SUM_PAIRS);
    uint64_t counted = 0;
    for (size_t i = 0; i < s->n_pairs; i++)
        counted += s->pairs[i].outcomes[OUTCOME_SUCCEEDED];
    cr_assert_eq(counted, total);
    const metrics_pair_sum_t *other = find(s, METRICS_OTHER_JOB, 0);
    cr_assert_not_null(other);
    size_t others = 0;
    for (size_t i = 0; i < s->n_pairs; i++)
        others += strcmp(s->pairs[i].job, METRICS_OTHER_JOB) == 0;
    cr_assert_eq(others, 1, "one _other row");

    /* blocks without an overflow row of their own: the sum makes its
     * _other when it fills up, and never passes its last row */
    metrics_sum_t *u = malloc(sizeof *u);
    cr_assert_not_null(u);
    metrics_sum_init(u);
    uint64_t total_u = 0;
    for (int k = 0; k < BLOCKS; k++) {
        metrics_t *m = new_block();
        metrics_writer_t w;
        metrics_writer_init(&w, m);
        for (int i = 0; i < METRICS_PAIRS - 5; i++) {
            snprintf(name, sizeof name, "u%d_j%d", k, i);
            count_ok(&w, name, 1);
            total_u++;
        }
        metrics_merge(u, m, 0);
        free(m);
        cr_assert_leq(u->n_pairs, METRICS_SUM_PAIRS, "after block %d", k);
    }
    cr_assert_eq(u->n_pairs, METRICS_SUM_PAIRS);
    cr_assert_str_eq(u->pairs[METRICS_SUM_PAIRS - 1].job, METRICS_OTHER_JOB);
    counted = 0;
    for (size_t i = 0; i < u->n_pairs; i++)
        counted += u->pairs[i].outcomes[OUTCOME_SUCCEEDED];
    cr_assert_eq(counted, total_u);
    free(u);

    /* and a full sum added to another: the same */
    metrics_sum_add(t, s);
    metrics_sum_add(t, s);
    cr_assert_leq(t->n_pairs, METRICS_SUM_PAIRS);
    counted = 0;
    for (size_t i = 0; i < t->n_pairs; i++)
        counted += t->pairs[i].outcomes[OUTCOME_SUCCEEDED];
    cr_assert_eq(counted, 2 * total);
    free(s);
    free(t);
}

Test(metrics, a_block_with_garbage_names_is_skipped)
{
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    count_ok(&w, "good", 1);
    count_ok(&w, "bad", 1);
    count_ok(&w, "long", 1);
    /* what plugin code scribbling on the board could leave */
    metrics_pair_t *bad = metrics_row(&w, "bad", 3, 1);
    memcpy(bad->job, "b\"}\n", 5);
    metrics_pair_t *lng = metrics_row(&w, "long", 4, 1);
    memset(lng->job, 0xff, sizeof lng->job); /* no NUL at all */
    metrics_pair_t *empty = &m->pairs[10];
    atomic_store(&empty->used, 1); /* used, with an empty name */
    metrics_add(&empty->outcomes[OUTCOME_SUCCEEDED], 99);
    metrics_pair_t *unused = &m->pairs[11];
    memcpy(unused->job, "ghost", 6); /* a name, but not used */
    metrics_add(&unused->outcomes[OUTCOME_SUCCEEDED], 99);

    metrics_sum_t *s = malloc(sizeof *s);
    cr_assert_not_null(s);
    metrics_sum_init(s);
    metrics_merge(s, m, 1);
    cr_assert_eq(s->n_pairs, 1, "only the row with a valid name is kept");
    cr_assert_str_eq(s->pairs[0].job, "good");
    cr_assert_eq(s->pairs[0].outcomes[OUTCOME_SUCCEEDED], 1);
    free(s);
    free(m);
}

Test(metrics, a_row_per_queue_and_merged_by_queue)
{
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    metrics_count_in(&w, 0, "report", 6, 1, OUTCOME_SUCCEEDED, NULL, -1);
    metrics_count_in(&w, 1, "report", 6, 1, OUTCOME_SUCCEEDED, NULL, -1);
    metrics_count_in(&w, 1, "report", 6, 1, OUTCOME_SUCCEEDED, NULL, -1);
    cr_assert_eq(used_rows(m), 2, "(queue, job, version) rows");
    cr_assert_neq(metrics_row_in(&w, 0, "report", 6, 1),
                  metrics_row_in(&w, 1, "report", 6, 1));
    cr_assert_eq(metrics_row_in(&w, 99, "report", 6, 1),
                 metrics_row_in(&w, 0, "report", 6, 1),
                 "an index past the limit counts as queue 0");
    metrics_sum_t *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    metrics_sum_init(s);
    metrics_merge(s, m, 1);
    metrics_merge(s, m, 1); /* a second process, same rows */
    cr_assert_eq(s->n_pairs, 2);
    for (size_t i = 0; i < s->n_pairs; i++)
        cr_assert_eq(s->pairs[i].outcomes[OUTCOME_SUCCEEDED],
                     s->pairs[i].queue == 1 ? 4 : 2, "queue %u",
                     s->pairs[i].queue);
    m->pairs[1].queue = 77; /* plugin code scribbled on the board */
    metrics_sum_init(s);
    metrics_merge(s, m, 1);
    cr_assert_eq(s->n_pairs, 1, "a bad index merges into queue 0");
    cr_assert_eq(s->pairs[0].queue, 0);
    cr_assert_eq(s->pairs[0].outcomes[OUTCOME_SUCCEEDED], 3);
    free(s);
    free(m);
}

Test(metrics, rows_of_a_queue_not_served_merge_into_the_first)
{
    metrics_sum_t *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    metrics_sum_init(s);
    metrics_t *m = new_block();
    metrics_writer_t w;
    metrics_writer_init(&w, m);
    metrics_count_in(&w, 0, "a", 1, 1, OUTCOME_SUCCEEDED, NULL, -1);
    metrics_count_in(&w, 1, "a", 1, 1, OUTCOME_SUCCEEDED, NULL, -1);
    metrics_count_in(&w, 5, "a", 1, 1, OUTCOME_SUCCEEDED, NULL, -1);
    metrics_count_in(&w, 5, "b", 1, 2, OUTCOME_SUCCEEDED, NULL, -1);
    metrics_merge(s, m, 1);
    cr_assert_eq(s->n_pairs, 4);
    metrics_sum_clamp_queues(s, 2); /* the fleet serves two queues */
    cr_assert_eq(s->n_pairs, 3, "(5, a, 1) went into (0, a, 1)");
    for (size_t i = 0; i < s->n_pairs; i++) {
        const metrics_pair_sum_t *p = &s->pairs[i];
        cr_assert_lt(p->queue, 2);
        if (p->queue == 0 && strcmp(p->job, "a") == 0)
            cr_assert_eq(p->outcomes[OUTCOME_SUCCEEDED], 2);
    }
    free(m);
    free(s);
}
