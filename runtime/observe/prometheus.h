/*
 * prometheus.h - /metrics in the Prometheus text exposition format
 * (version 0.0.4): the counters of every worker process merged
 * (observe/metrics.h), the queue's numbers read from Redis
 * (queue/stats.h) and readiness. docs/operations.md lists every metric.
 */
#ifndef JOBRT_PROMETHEUS_H
#define JOBRT_PROMETHEUS_H

#include "core/util.h"
#include "observe/metrics.h"
#include "queue/stats.h"

#define PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
    const char *queue;
    const metrics_sum_t *sum;
    const queue_stats_t *stats; /* NULL: Redis did not answer the read */
    int ready;                  /* /readyz's verdict */
    unsigned workers_ready, workers_total; /* worker processes */
    /* A worker fleet serving several queues: their names (the index in
     * a metrics row's `queue`) and stats (NULL: that read failed). With
     * n_queues 0, queue and stats alone. Process-wide numbers carry the
     * first queue's label. */
    const char *const *queues;
    const queue_stats_t *const *queue_stats;
    size_t n_queues;
} prometheus_input_t;

/* Appends the whole exposition (but what a supervisor adds). Returns 0,
 * or -1 when out of memory. */
int prometheus_render(buf_t *out, const prometheus_input_t *in);

/* Helpers for the lines others add (the supervisor's restarts): a
 * "# HELP" and "# TYPE" pair, and a label value escaped as the format
 * wants. */
int prometheus_header(buf_t *out, const char *name, const char *type,
                      const char *help);
int prometheus_label(buf_t *out, const char *value);

#endif
