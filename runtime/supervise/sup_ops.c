/*
 * sup_ops.c - the supervisor's side of the operations endpoint
 * (observe/ops.h): the boards of its live workers, what the workers that
 * are gone had counted (kept, so that counters never go back), and its
 * own numbers: worker restarts by cause.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/reasons.h"
#include "observe/ops.h"
#include "observe/prometheus.h"
#include "supervise/supervisor_internal.h"

static size_t live_boards(void *arg, const board_t **v, int *numbers,
                          size_t max)
{
    supervisor_t *s = arg;
    size_t n = 0;
    for (child_t *c = s->children; c && n < max; c = c->next) {
        v[n] = c->board;
        numbers[n++] = c->number;
    }
    return n;
}

/* What exited workers counted, and the dead letters the supervisor
 * wrote itself when it settled a dead worker's jobs. */
static const metrics_sum_t *gone_sum(void *arg)
{
    supervisor_t *s = arg;
    memcpy(s->gone_view, s->gone, sizeof *s->gone_view);
    for (int i = 0; i < s->wc->n_queues; i++) {
        if (s->qs[i] == NULL)
            continue;
        const queue_health_t *h = queue_redis_health(s->qs[i]);
        s->gone_view->script_dead[metrics_reason_index(REASON_POISON)] +=
            h->lost_poisoned;
        s->gone_view->script_dead[metrics_reason_index(REASON_TIMEOUT)] +=
            h->lost_timed_out;
        s->gone_view->script_dead[metrics_reason_index(REASON_TOO_MANY_FIELDS)] +=
            h->lost_too_many_fields;
    }
    return s->gone_view;
}

static void restart_metrics(void *arg, buf_t *out)
{
    supervisor_t *s = arg;
    prometheus_header(out, "jobrt_worker_restarts_total", "counter",
                      "Worker processes replaced, by cause (crash, timeout: "
                      "killed for an overrunning handler, memory, wedged, "
                      "recycled, exited)");
    for (int k = 0; k < CAUSE_N; k++) {
        unsigned long long n = 0;
        for (int i = 0; i < s->cfg->workers; i++)
            n += s->slots[i].by_cause[k];
        buf_append(out, "jobrt_worker_restarts_total{queue=\"", 35);
        prometheus_label(out, s->wc->queue);
        buf_appendf(out, "\",cause=\"%s\"} %llu\n",
                    supervisor_cause_names[k], n);
    }
}

void supervisor_keep_counts(supervisor_t *s, const board_t *b)
{
    if (s->gone)
        metrics_merge(s->gone, &b->metrics, 0);
}

int supervisor_ops_start(supervisor_t *s)
{
    const worker_config_t *wc = s->wc;
    s->gone = malloc(sizeof *s->gone);
    s->gone_view = malloc(sizeof *s->gone_view);
    if (s->gone == NULL || s->gone_view == NULL) {
        LOGE("supervisor", "out of memory");
        return 1;
    }
    metrics_sum_init(s->gone);
    ops_config_t oc = {
        .listen = wc->http,
        .token_file = wc->http_token_file,
        .public_read = wc->http_public_read,
        .health_file = wc->health_file,
        .redis = wc->redis,
        .ns = wc->ns,
        .queue = wc->queue,
        .queues = wc->queues,
        .n_queues = wc->n_queues,
        .group = wc->group,
        .mode = "supervisor",
        .api = api_handle,
    };
    ops_source_t src = {live_boards, gone_sum, restart_metrics, s};
    char err[512];
    s->ops = ops_start(&s->loop, &oc, &src, err, sizeof err);
    if (s->ops == NULL) {
        LOGE("supervisor", "%s", err);
        return 1;
    }
    return 0;
}
