/*
 * prometheus.c - renders the metrics sum and the queue's numbers as
 * Prometheus text. Names follow the Prometheus conventions: _total for
 * counters, base units (seconds), one family per name.
 */
#include "observe/prometheus.h"

#include <string.h>

#include "core/version.h"

int prometheus_header(buf_t *out, const char *name, const char *type,
                      const char *help)
{
    return buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}

int prometheus_label(buf_t *out, const char *value)
{
    int rc = 0;
    for (const char *p = value; *p && rc == 0; p++) {
        if (*p == '\\' || *p == '"')
            rc = buf_appendf(out, "\\%c", *p);
        else if (*p == '\n')
            rc = buf_append(out, "\\n", 2);
        else
            rc = buf_append(out, p, 1);
    }
    return rc;
}

/* `{queue="Q",job="J",version="V"` (no closing brace). */
static int pair_labels(buf_t *out, const char *queue,
                       const metrics_pair_sum_t *p)
{
    int rc = buf_append(out, "{queue=\"", 8);
    rc |= prometheus_label(out, queue);
    rc |= buf_append(out, "\",job=\"", 7);
    rc |= prometheus_label(out, p->job);
    rc |= buf_appendf(out, "\",version=\"%u\"", p->version);
    return rc;
}

static int queue_labels(buf_t *out, const char *queue)
{
    int rc = buf_append(out, "{queue=\"", 8);
    rc |= prometheus_label(out, queue);
    rc |= buf_append(out, "\"", 1);
    return rc;
}

static int counter(buf_t *out, const char *name, const char *help,
                   const char *queue, unsigned long long v)
{
    int rc = prometheus_header(out, name, "counter", help);
    rc |= buf_appendf(out, "%s", name);
    rc |= queue_labels(out, queue);
    rc |= buf_appendf(out, "} %llu\n", v);
    return rc;
}

static int gauge(buf_t *out, const char *name, const char *help,
                 const char *queue, double v)
{
    int rc = prometheus_header(out, name, "gauge", help);
    rc |= buf_appendf(out, "%s", name);
    rc |= queue_labels(out, queue);
    rc |= buf_appendf(out, "} %.15g\n", v); /* 2.021, not 2.0209999999999999 */
    return rc;
}

/* The queue label of a (queue, job, version) row. */
static const char *row_queue(const prometheus_input_t *in,
                             const metrics_pair_sum_t *p)
{
    return in->n_queues > 0 && p->queue < in->n_queues ? in->queues[p->queue]
                                                       : in->queue;
}

static int render_jobs(buf_t *out, const prometheus_input_t *in)
{
    const metrics_sum_t *s = in->sum;
    int rc = prometheus_header(out, "jobrt_jobs_total", "counter",
                               "Jobs that left a worker, by outcome");
    for (size_t i = 0; i < s->n_pairs; i++)
        for (int o = 0; o < OUTCOME_N; o++) {
            rc |= buf_append(out, "jobrt_jobs_total", 16);
            rc |= pair_labels(out, row_queue(in, &s->pairs[i]), &s->pairs[i]);
            rc |= buf_appendf(out, ",outcome=\"%s\"} %llu\n",
                              metrics_outcome_names[o],
                              (unsigned long long)s->pairs[i].outcomes[o]);
        }
    rc |= prometheus_header(out, "jobrt_dead_letters_total", "counter",
                            "Jobs dead-lettered by a worker, by reason");
    for (size_t i = 0; i < s->n_pairs; i++)
        for (int r = 0; r < METRICS_REASONS; r++) {
            if (s->pairs[i].dead[r] == 0)
                continue;
            rc |= buf_append(out, "jobrt_dead_letters_total", 24);
            rc |= pair_labels(out, row_queue(in, &s->pairs[i]), &s->pairs[i]);
            rc |= buf_appendf(out, ",reason=\"%s\"} %llu\n",
                              metrics_reason_names[r],
                              (unsigned long long)s->pairs[i].dead[r]);
        }
    /* made by Redis scripts for jobs no handler finished: no job label */
    for (int r = 0; r < METRICS_REASONS; r++) {
        if (s->script_dead[r] == 0)
            continue;
        rc |= buf_append(out, "jobrt_dead_letters_total{queue=\"", 32);
        rc |= prometheus_label(out, in->queue);
        rc |= buf_appendf(out, "\",job=\"\",version=\"\",reason=\"%s\"} %llu\n",
                          metrics_reason_names[r],
                          (unsigned long long)s->script_dead[r]);
    }
    rc |= prometheus_header(out, "jobrt_job_duration_seconds", "histogram",
                            "Time handlers ran");
    for (size_t i = 0; i < s->n_pairs; i++) {
        const metrics_pair_sum_t *p = &s->pairs[i];
        unsigned long long cum = 0;
        for (int b = 0; b <= METRICS_DURATION_BUCKETS; b++) {
            cum += p->duration[b];
            rc |= buf_append(out, "jobrt_job_duration_seconds_bucket", 33);
            rc |= pair_labels(out, row_queue(in, p), p);
            if (b < METRICS_DURATION_BUCKETS)
                rc |= buf_appendf(out, ",le=\"%g\"} %llu\n",
                                  metrics_duration_le_us[b] / 1e6, cum);
            else
                rc |= buf_appendf(out, ",le=\"+Inf\"} %llu\n", cum);
        }
        rc |= buf_append(out, "jobrt_job_duration_seconds_sum", 30);
        rc |= pair_labels(out, row_queue(in, p), p);
        rc |= buf_appendf(out, "} %.6f\n", (double)p->duration_sum_us / 1e6);
        rc |= buf_append(out, "jobrt_job_duration_seconds_count", 32);
        rc |= pair_labels(out, row_queue(in, p), p);
        rc |= buf_appendf(out, "} %llu\n", cum);
    }
    return rc;
}

static int render_lag(buf_t *out, const prometheus_input_t *in)
{
    const metrics_sum_t *s = in->sum;
    int rc = prometheus_header(out, "jobrt_pickup_lag_seconds", "histogram",
                               "Time from an entry's arrival in the stream "
                               "to its handler's start");
    unsigned long long cum = 0;
    for (int b = 0; b <= METRICS_LAG_BUCKETS; b++) {
        cum += s->lag[b];
        rc |= buf_append(out, "jobrt_pickup_lag_seconds_bucket", 31);
        rc |= queue_labels(out, in->queue);
        if (b < METRICS_LAG_BUCKETS)
            rc |= buf_appendf(out, ",le=\"%g\"} %llu\n",
                              metrics_lag_le_ms[b] / 1e3, cum);
        else
            rc |= buf_appendf(out, ",le=\"+Inf\"} %llu\n", cum);
    }
    rc |= buf_append(out, "jobrt_pickup_lag_seconds_sum", 28);
    rc |= queue_labels(out, in->queue);
    rc |= buf_appendf(out, "} %.3f\n", (double)s->lag_sum_ms / 1e3);
    rc |= buf_append(out, "jobrt_pickup_lag_seconds_count", 30);
    rc |= queue_labels(out, in->queue);
    rc |= buf_appendf(out, "} %llu\n", cum);
    return rc;
}

/* One gauge of every queue read: the header once, a line each. */
typedef double (*stat_fn)(const queue_stats_t *st);
static double st_waiting(const queue_stats_t *st) { return (double)st->waiting; }
static double st_running(const queue_stats_t *st) { return (double)st->running; }
static double st_delayed(const queue_stats_t *st) { return (double)st->delayed; }
static double st_parked(const queue_stats_t *st) { return (double)st->parked; }
static double st_dlq(const queue_stats_t *st) { return (double)st->dlq; }
static double st_oldest(const queue_stats_t *st)
{
    return st->oldest_waiting_ms < 0 ? 0 : st->oldest_waiting_ms / 1e3;
}
static double st_live(const queue_stats_t *st)
{
    return (double)st->live_workers;
}
static double st_paused(const queue_stats_t *st) { return st->paused ? 1 : 0; }
static double st_disabled(const queue_stats_t *st)
{
    return (double)st->disabled_total;
}

static const struct {
    const char *name, *help;
    stat_fn get;
} queue_gauges[] = {
    {"jobrt_queue_waiting", "Jobs in the stream not yet delivered to any "
     "worker (-1: Redis cannot tell)", st_waiting},
    {"jobrt_queue_running", "Jobs delivered to a worker and not finished",
     st_running},
    {"jobrt_queue_delayed", "Jobs waiting for their time (retry backoff, "
     "--delay, not_before)", st_delayed},
    {"jobrt_queue_parked", "Jobs parked until a worker serves their (job, "
     "version)", st_parked},
    {"jobrt_queue_dead_letters", "Entries in the dead-letter stream", st_dlq},
    {"jobrt_queue_oldest_waiting_seconds", "Age of the oldest job not yet "
     "delivered (0 when none waits)", st_oldest},
    {"jobrt_queue_live_workers", "Workers of the queue in the fleet "
     "registry", st_live},
    {"jobrt_queue_paused", "1 while `jobrt pause` holds the queue (no "
     "worker takes jobs from it), else 0", st_paused},
    {"jobrt_queue_disabled_jobs", "Job types `jobrt disable` holds on the "
     "queue (their jobs park)", st_disabled},
};

static int render_queue(buf_t *out, const prometheus_input_t *in)
{
    const char *const one_name[1] = {in->queue};
    const queue_stats_t *const one_stats[1] = {in->stats};
    size_t n = in->n_queues ? in->n_queues : 1;
    const char *const *names = in->n_queues ? in->queues : one_name;
    const queue_stats_t *const *stats = in->n_queues ? in->queue_stats
                                                     : one_stats;
    int rc = prometheus_header(out, "jobrt_redis_up", "gauge", "1 if this "
                               "scrape's read of the queue from Redis "
                               "succeeded");
    for (size_t q = 0; q < n; q++) {
        rc |= buf_append(out, "jobrt_redis_up", 14);
        rc |= queue_labels(out, names[q]);
        rc |= buf_appendf(out, "} %d\n", stats[q] ? 1 : 0);
    }
    for (size_t g = 0; g < sizeof queue_gauges / sizeof queue_gauges[0];
         g++) {
        int any = 0;
        for (size_t q = 0; q < n; q++) {
            if (stats[q] == NULL)
                continue;
            if (!any++)
                rc |= prometheus_header(out, queue_gauges[g].name, "gauge",
                                        queue_gauges[g].help);
            rc |= buf_appendf(out, "%s", queue_gauges[g].name);
            rc |= queue_labels(out, names[q]);
            rc |= buf_appendf(out, "} %.15g\n",
                              queue_gauges[g].get(stats[q]));
        }
    }
    int header = 0;
    for (size_t q = 0; q < n; q++) {
        const queue_stats_t *st = stats[q];
        if (st == NULL)
            continue;
        if (!header++)
            rc |= prometheus_header(out, "jobrt_queue_parked_jobs", "gauge",
                                    "Parked jobs by (job, version), the "
                                    "largest pairs");
        for (size_t i = 0; i < st->n_parked_pairs; i++) {
            const queue_parked_pair_t *p = &st->parked_pairs[i];
            rc |= buf_append(out, "jobrt_queue_parked_jobs{queue=\"", 31);
            rc |= prometheus_label(out, names[q]);
            rc |= buf_append(out, "\",job=\"", 7);
            rc |= prometheus_label(out, p->job);
            rc |= buf_appendf(out, "\",version=\"%u\"} %lld\n", p->version,
                              p->count);
        }
    }
    return rc;
}

int prometheus_render(buf_t *out, const prometheus_input_t *in)
{
    const metrics_sum_t *s = in->sum;
    int rc = prometheus_header(out, "jobrt_build_info", "gauge",
                               "Always 1; the version of jobrt serving");
    rc |= buf_appendf(out, "jobrt_build_info{version=\"%s\"} 1\n",
                      JOBRT_VERSION);
    rc |= gauge(out, "jobrt_ready", "1 while /readyz says ready", in->queue,
                in->ready);
    rc |= gauge(out, "jobrt_worker_processes", "Worker processes running",
                in->queue, in->workers_total);
    rc |= gauge(out, "jobrt_worker_processes_ready", "Worker processes "
                "ready to take jobs", in->queue, in->workers_ready);
    rc |= render_jobs(out, in);
    rc |= render_lag(out, in);
    rc |= gauge(out, "jobrt_jobs_in_flight", "Jobs held by worker processes "
                "now (queued for a thread or running)", in->queue,
                (double)s->in_flight);
    rc |= counter(out, "jobrt_entries_fetched_total", "Stream entries handed "
                  "to workers (fetched, reclaimed or unparked)", in->queue,
                  s->fetched);
    rc |= counter(out, "jobrt_reclaimed_total", "Entries taken over from a "
                  "worker that stopped renewing its leases", in->queue,
                  s->reclaimed);
    rc |= counter(out, "jobrt_poison_total", "Entries dead-lettered as poison "
                  "by lease reclaim (delivered --max-deliveries times)",
                  in->queue, s->poisoned);
    rc |= counter(out, "jobrt_redis_reconnects_total", "Redis connections of "
                  "workers set up again after they were lost", in->queue,
                  s->reconnects);
    rc |= counter(out, "jobrt_reloads_total", "Plugin reloads finished",
                  in->queue, s->reloads);
    rc |= counter(out, "jobrt_reload_failures_total", "Plugin reloads that "
                  "failed and kept the plugins loaded before", in->queue,
                  s->reload_failures);
    rc |= gauge(out, "jobrt_plugins_loaded", "Plugins serving, summed over "
                "worker processes", in->queue, (double)s->plugins_loaded);
    rc |= gauge(out, "jobrt_plugin_generations_live", "Plugin generations "
                "mapped (serving or draining), summed over worker processes",
                in->queue, (double)s->generations_live);
    rc |= gauge(out, "jobrt_plugin_generations_leaked", "Plugin generations "
                "that stayed mapped after unload, summed over worker "
                "processes", in->queue, (double)s->generations_leaked);
    rc |= render_queue(out, in);
    return rc ? -1 : 0;
}
