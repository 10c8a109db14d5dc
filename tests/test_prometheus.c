/*
 * test_prometheus.c - /metrics as Prometheus text (observe/prometheus.c):
 * a known sum renders to exact lines (counters by (job, version) and
 * outcome, dead letters only for reasons that happened, cumulative
 * histogram buckets with +Inf, _sum and _count, the queue's gauges);
 * label values are escaped as the format wants; without Redis numbers
 * only jobrt_redis_up 0 stands for them; every sample follows its
 * family's one TYPE line.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "observe/prometheus.h"

static metrics_sum_t *sum;
static queue_stats_t stats;
static buf_t out;

static void setup(void)
{
    sum = calloc(1, sizeof *sum);
    cr_assert_not_null(sum);
    metrics_sum_init(sum);
    memset(&stats, 0, sizeof stats);
    memset(&out, 0, sizeof out);
}

static void teardown(void)
{
    free(sum);
    buf_free(&out);
}


static metrics_pair_sum_t *add_pair(const char *job, uint32_t version)
{
    metrics_pair_sum_t *p = &sum->pairs[sum->n_pairs++];
    memset(p, 0, sizeof *p);
    strcpy(p->job, job);
    p->version = version;
    return p;
}

static int reason(const char *name)
{
    for (int i = 0; i < METRICS_REASONS; i++)
        if (strcmp(metrics_reason_names[i], name) == 0)
            return i;
    cr_assert_fail("no reason %s", name);
    return -1;
}

static const char *render(const char *queue, const queue_stats_t *st)
{
    prometheus_input_t in = {queue, sum, st, 1, 2, 3, NULL, NULL, 0};
    cr_assert_eq(prometheus_render(&out, &in), 0);
    cr_assert_not_null(out.data);
    cr_assert_eq(strlen(out.data), out.len, "a NUL inside the text");
    return out.data;
}

/* The text has this exact line. */
static void has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    cr_assert_fail("no line\n  %s\nin\n%s", line, text);
}

static size_t lines_starting(const char *text, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (const char *p = text; *p;) {
        n += strncmp(p, prefix, len) == 0;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return n;
}

Test(prometheus, a_known_sum_renders_to_exact_lines)
{
    setup();
    metrics_pair_sum_t *a = add_pair("email", 2);
    a->outcomes[OUTCOME_SUCCEEDED] = 7;
    a->outcomes[OUTCOME_DEAD] = 2;
    a->dead[reason("timeout")] = 2;
    a->duration[0] = 1;  /* <= 100 us */
    a->duration[2] = 4;  /* <= 1 ms */
    a->duration[METRICS_DURATION_BUCKETS] = 2; /* past 60 s */
    a->duration_sum_us = 123456789;
    metrics_pair_sum_t *b = add_pair("resize.v2/x-y:z", 1);
    b->outcomes[OUTCOME_PARKED] = 1;
    sum->fetched = 11;
    sum->reclaimed = 1;
    sum->poisoned = 1;
    sum->reconnects = 3;
    sum->reloads = 2;
    sum->reload_failures = 1;
    sum->in_flight = 4;
    sum->plugins_loaded = 2;
    sum->generations_live = 3;
    sum->generations_leaked = 1;
    sum->lag[1] = 5; /* <= 2 ms */
    sum->lag[METRICS_LAG_BUCKETS] = 1;
    sum->lag_sum_ms = 400010;
    stats.waiting = 12;
    stats.running = 4;
    stats.delayed = 2;
    stats.parked = 5;
    stats.dlq = 9;
    stats.live_workers = 2;
    stats.oldest_waiting_ms = 1500;
    stats.n_parked_pairs = 1;
    strcpy(stats.parked_pairs[0].job, "email");
    stats.parked_pairs[0].version = 3;
    stats.parked_pairs[0].count = 5;
    const char *t = render("q1", &stats);

    has_line(t, "jobrt_build_info{version=\"" JOBRT_VERSION "\"} 1");
    has_line(t, "jobrt_ready{queue=\"q1\"} 1");
    has_line(t, "jobrt_worker_processes{queue=\"q1\"} 3");
    has_line(t, "jobrt_worker_processes_ready{queue=\"q1\"} 2");
#define E "{queue=\"q1\",job=\"email\",version=\"2\""
    has_line(t, "jobrt_jobs_total" E ",outcome=\"succeeded\"} 7");
    has_line(t, "jobrt_jobs_total" E ",outcome=\"retried\"} 0");
    has_line(t, "jobrt_jobs_total" E ",outcome=\"dead_lettered\"} 2");
    has_line(t, "jobrt_jobs_total" E ",outcome=\"parked\"} 0");
    has_line(t, "jobrt_jobs_total" E ",outcome=\"released\"} 0");
    has_line(t, "jobrt_jobs_total{queue=\"q1\",job=\"resize.v2/x-y:z\","
                "version=\"1\",outcome=\"parked\"} 1");
    cr_assert_eq(lines_starting(t, "jobrt_jobs_total{"), 2 * OUTCOME_N);
    has_line(t, "jobrt_dead_letters_total" E ",reason=\"timeout\"} 2");
    cr_assert_eq(lines_starting(t, "jobrt_dead_letters_total{"), 1,
                 "only reasons that happened");
    /* buckets are cumulative; le is in seconds */
    has_line(t, "jobrt_job_duration_seconds_bucket" E ",le=\"0.0001\"} 1");
    has_line(t, "jobrt_job_duration_seconds_bucket" E ",le=\"0.0005\"} 1");
    has_line(t, "jobrt_job_duration_seconds_bucket" E ",le=\"0.001\"} 5");
    has_line(t, "jobrt_job_duration_seconds_bucket" E ",le=\"60\"} 5");
    has_line(t, "jobrt_job_duration_seconds_bucket" E ",le=\"+Inf\"} 7");
    has_line(t, "jobrt_job_duration_seconds_sum" E "} 123.456789");
    has_line(t, "jobrt_job_duration_seconds_count" E "} 7");
#undef E
    cr_assert_eq(lines_starting(t, "jobrt_job_duration_seconds_bucket{"),
                 2 * (METRICS_DURATION_BUCKETS + 1));
    has_line(t, "jobrt_pickup_lag_seconds_bucket{queue=\"q1\",le=\"0.001\"} 0");
    has_line(t, "jobrt_pickup_lag_seconds_bucket{queue=\"q1\",le=\"0.002\"} 5");
    has_line(t, "jobrt_pickup_lag_seconds_bucket{queue=\"q1\",le=\"300\"} 5");
    has_line(t, "jobrt_pickup_lag_seconds_bucket{queue=\"q1\",le=\"+Inf\"} 6");
    has_line(t, "jobrt_pickup_lag_seconds_sum{queue=\"q1\"} 400.010");
    has_line(t, "jobrt_pickup_lag_seconds_count{queue=\"q1\"} 6");
    has_line(t, "jobrt_jobs_in_flight{queue=\"q1\"} 4");
    has_line(t, "jobrt_entries_fetched_total{queue=\"q1\"} 11");
    has_line(t, "jobrt_reclaimed_total{queue=\"q1\"} 1");
    has_line(t, "jobrt_poison_total{queue=\"q1\"} 1");
    has_line(t, "jobrt_redis_reconnects_total{queue=\"q1\"} 3");
    has_line(t, "jobrt_reloads_total{queue=\"q1\"} 2");
    has_line(t, "jobrt_reload_failures_total{queue=\"q1\"} 1");
    has_line(t, "jobrt_plugins_loaded{queue=\"q1\"} 2");
    has_line(t, "jobrt_plugin_generations_live{queue=\"q1\"} 3");
    has_line(t, "jobrt_plugin_generations_leaked{queue=\"q1\"} 1");
    has_line(t, "jobrt_redis_up{queue=\"q1\"} 1");
    has_line(t, "jobrt_queue_waiting{queue=\"q1\"} 12");
    has_line(t, "jobrt_queue_running{queue=\"q1\"} 4");
    has_line(t, "jobrt_queue_delayed{queue=\"q1\"} 2");
    has_line(t, "jobrt_queue_parked{queue=\"q1\"} 5");
    has_line(t, "jobrt_queue_dead_letters{queue=\"q1\"} 9");
    has_line(t, "jobrt_queue_oldest_waiting_seconds{queue=\"q1\"} 1.5");
    has_line(t, "jobrt_queue_live_workers{queue=\"q1\"} 2");
    has_line(t, "jobrt_queue_parked_jobs{queue=\"q1\",job=\"email\","
                "version=\"3\"} 5");
    has_line(t, "# TYPE jobrt_jobs_total counter");
    has_line(t, "# TYPE jobrt_job_duration_seconds histogram");
    has_line(t, "# TYPE jobrt_queue_waiting gauge");
    teardown();
}

Test(prometheus, without_redis_numbers_only_redis_up_0)
{
    setup();
    stats.oldest_waiting_ms = -1;
    const char *t = render("q", NULL);
    has_line(t, "jobrt_redis_up{queue=\"q\"} 0");
    cr_assert_eq(lines_starting(t, "jobrt_queue_"), 0, "%s", t);
    cr_assert_eq(lines_starting(t, "jobrt_jobs_total{"), 0);
    has_line(t, "jobrt_pickup_lag_seconds_count{queue=\"q\"} 0");
    buf_free(&out);
    memset(&out, 0, sizeof out);
    t = render("q", &stats); /* nothing waits: age 0, not -0.001 */
    has_line(t, "jobrt_queue_oldest_waiting_seconds{queue=\"q\"} 0");
    teardown();
}

Test(prometheus, label_values_are_escaped)
{
    setup();
    cr_assert_eq(prometheus_label(&out, "a\\b\"c\nd{}=,e"), 0);
    cr_assert_eq(out.len, strlen("a\\\\b\\\"c\\nd{}=,e"));
    cr_assert_eq(memcmp(out.data, "a\\\\b\\\"c\\nd{}=,e", out.len), 0, "%.*s",
                 (int)out.len, out.data);
    buf_free(&out);
    memset(&out, 0, sizeof out);
    add_pair("j", 1)->outcomes[OUTCOME_SUCCEEDED] = 1;
    const char *t = render("q\"\n\\", NULL);
    has_line(t, "jobrt_jobs_total{queue=\"q\\\"\\n\\\\\",job=\"j\","
                "version=\"1\",outcome=\"succeeded\"} 1");
    has_line(t, "jobrt_ready{queue=\"q\\\"\\n\\\\\"} 1");
    teardown();
}

/* The family a sample belongs to: its name, less a histogram's suffix
 * when that family is a histogram. */
static void family_of(const char *text, const char *sample, char *fam,
                      size_t len)
{
    size_t n = strcspn(sample, "{ ");
    snprintf(fam, len, "%.*s", (int)n, sample);
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]), fl = strlen(fam);
        if (fl > sl && strcmp(fam + fl - sl, suffixes[i]) == 0) {
            char type[200];
            snprintf(type, sizeof type, "# TYPE %.*s histogram\n",
                     (int)(fl - sl), fam);
            if (strstr(text, type))
                fam[fl - sl] = '\0';
        }
    }
}

Test(prometheus, every_sample_follows_its_one_type_line)
{
    setup();
    add_pair("a", 1)->dead[reason("poison")] = 1;
    add_pair("b", 2)->duration[3] = 1;
    stats.n_parked_pairs = 2;
    strcpy(stats.parked_pairs[1].job, "b");
    const char *t = render("q", &stats);
    char current[200] = "";
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        cr_assert_not_null(nl, "the text ends with a newline");
        if (strncmp(p, "# TYPE ", 7) == 0) {
            snprintf(current, sizeof current, "%.*s",
                     (int)strcspn(p + 7, " "), p + 7);
            char once[220];
            snprintf(once, sizeof once, "# TYPE %s ", current);
            cr_assert_eq(strstr(strstr(t, once) + 1, once), NULL,
                         "two TYPE lines for %s", current);
        } else if (strncmp(p, "# HELP ", 7) != 0) {
            char fam[200];
            family_of(t, p, fam, sizeof fam);
            cr_assert_str_eq(fam, current, "sample %.*s after TYPE %s",
                             (int)(nl - p), p, current);
            const char *sp = memchr(p, ' ', (size_t)(nl - p));
            const char *brace = memchr(p, '}', (size_t)(nl - p));
            cr_assert_not_null(sp);
            if (brace)
                sp = memchr(brace, ' ', (size_t)(nl - brace));
            cr_assert(sp && sp + 1 < nl, "no value: %.*s", (int)(nl - p), p);
        }
        p = nl + 1;
    }
    teardown();
}

Test(prometheus, several_queues_each_have_their_lines_under_one_header)
{
    setup();
    static const char *const names[] = {"critical", "low"};
    queue_stats_t low;
    memset(&low, 0, sizeof low);
    stats.waiting = 7;
    low.waiting = 9;
    low.paused = 1;
    const queue_stats_t *each[] = {&stats, &low};
    metrics_pair_sum_t *a = add_pair("report", 1);
    a->outcomes[OUTCOME_SUCCEEDED] = 5;
    metrics_pair_sum_t *b = add_pair("report", 1);
    b->queue = 1;
    b->outcomes[OUTCOME_SUCCEEDED] = 2;
    metrics_pair_sum_t *c = add_pair("report", 2);
    c->queue = 40; /* not a queue of this fleet: the first one's */
    prometheus_input_t in = {"critical", sum, &stats, 1, 2, 3,
                             names, each, 2};
    cr_assert_eq(prometheus_render(&out, &in), 0);
    const char *t = out.data;
    has_line(t, "jobrt_queue_waiting{queue=\"critical\"} 7");
    has_line(t, "jobrt_queue_waiting{queue=\"low\"} 9");
    has_line(t, "jobrt_queue_paused{queue=\"low\"} 1");
    has_line(t, "jobrt_queue_paused{queue=\"critical\"} 0");
    has_line(t, "jobrt_redis_up{queue=\"low\"} 1");
    cr_assert_eq(lines_starting(t, "# TYPE jobrt_queue_waiting "), 1,
                 "one TYPE line for the family");
    cr_assert_eq(lines_starting(t, "# TYPE jobrt_redis_up "), 1);
    has_line(t, "jobrt_jobs_total{queue=\"critical\",job=\"report\","
                "version=\"1\",outcome=\"succeeded\"} 5");
    has_line(t, "jobrt_jobs_total{queue=\"low\",job=\"report\","
                "version=\"1\",outcome=\"succeeded\"} 2");
    has_line(t, "jobrt_jobs_total{queue=\"critical\",job=\"report\","
                "version=\"2\",outcome=\"succeeded\"} 0");
    teardown();
}
