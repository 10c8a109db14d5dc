/*
 * keys.c - builds the key names; see keys.h.
 */
#include "queue/keys.h"

#include <stdio.h>
#include <string.h>

#include "core/envelope.h"

int queue_keys_init(queue_keys_t *k, const char *ns, const char *queue,
                    char *err, size_t err_len)
{
    if (!envelope_valid_name(ns, strlen(ns))) {
        snprintf(err, err_len, "namespace '%s' must be 1-128 characters of "
                 "[A-Za-z0-9_.:/-]", ns);
        return -1;
    }
    if (!envelope_valid_name(queue, strlen(queue))) {
        snprintf(err, err_len, "queue name '%s' must be 1-128 characters of "
                 "[A-Za-z0-9_.:/-]", queue);
        return -1;
    }
    /* `jobrt run --queue NAME:W` reads a trailing :digits as a weight */
    const char *colon = strrchr(queue, ':');
    if (colon && colon[1] &&
        strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        snprintf(err, err_len, "queue name '%s' must not end in ':' and "
                 "digits (read as a weight by jobrt run --queue NAME:W)",
                 queue);
        return -1;
    }
    snprintf(k->name, sizeof k->name, "%s", queue);
    snprintf(k->stream, sizeof k->stream, "%s:{%s}:stream", ns, queue);
    snprintf(k->dlq, sizeof k->dlq, "%s:{%s}:dlq", ns, queue);
    snprintf(k->job_prefix, sizeof k->job_prefix, "%s:{%s}:job:", ns, queue);
    snprintf(k->done, sizeof k->done, "%s:{%s}:done", ns, queue);
    snprintf(k->delayed, sizeof k->delayed, "%s:{%s}:delayed", ns, queue);
    snprintf(k->seq, sizeof k->seq, "%s:{%s}:seq", ns, queue);
    snprintf(k->cancelled, sizeof k->cancelled, "%s:{%s}:cancelled", ns,
             queue);
    snprintf(k->idem_prefix, sizeof k->idem_prefix, "%s:{%s}:idem:", ns,
             queue);
    snprintf(k->workers, sizeof k->workers, "%s:{%s}:workers", ns, queue);
    snprintf(k->worker_prefix, sizeof k->worker_prefix, "%s:{%s}:worker:", ns,
             queue);
    snprintf(k->reload, sizeof k->reload, "%s:{%s}:reload", ns, queue);
    snprintf(k->reload_prefix, sizeof k->reload_prefix, "%s:{%s}:reload:",
             ns, queue);
    snprintf(k->paused, sizeof k->paused, "%s:{%s}:paused", ns, queue);
    snprintf(k->disabled, sizeof k->disabled, "%s:{%s}:disabled", ns,
             queue);
    snprintf(k->schedules, sizeof k->schedules, "%s:{%s}:schedules", ns,
             queue);
    snprintf(k->schedule_due, sizeof k->schedule_due, "%s:{%s}:schedule_due",
             ns, queue);
    snprintf(k->schedule_fired, sizeof k->schedule_fired,
             "%s:{%s}:schedule_fired", ns, queue);
    snprintf(k->progress_prefix, sizeof k->progress_prefix,
             "%s:{%s}:progress:", ns, queue);
    snprintf(k->limits, sizeof k->limits, "%s:{%s}:limits", ns, queue);
    snprintf(k->rate_prefix, sizeof k->rate_prefix, "%s:{%s}:rate:", ns,
             queue);
    snprintf(k->running_prefix, sizeof k->running_prefix, "%s:{%s}:running:",
             ns, queue);
    snprintf(k->queues, sizeof k->queues, "%s:queues", ns);
    snprintf(k->events, sizeof k->events, "%s:{%s}:events", ns, queue);
    snprintf(k->events_config, sizeof k->events_config,
             "%s:{%s}:events:config", ns, queue);
    return 0;
}
