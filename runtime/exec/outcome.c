/*
 * outcome.c - the retry / dead-letter rules and status records.
 */
#include "exec/outcome.h"

#include <string.h>

#include "jobrt/plugin.h"

outcome_action_t outcome_decide(const struct jobrt_job *job,
                                const char **reason)
{
    *reason = NULL;
    if (job->disposition == JOB_PAYLOAD_TOO_LARGE) {
        *reason = REASON_PAYLOAD_TOO_LARGE;
        return ACTION_DEAD;
    }
    if (job->disposition == JOB_INVALID_PAYLOAD) {
        *reason = REASON_INVALID_ENVELOPE;
        return ACTION_DEAD;
    }
    /* Cancelled by `jobrt cancel` while running, and it did not finish:
     * it stays cancelled, whatever the handler asked for. */
    if (job->outcome != JOBRT_OK &&
        atomic_load(&job->cancel) == JOB_CANCEL_USER) {
        *reason = REASON_CANCELLED;
        return ACTION_DEAD;
    }
    /* Asked to stop because the worker is shutting down, and it said
     * "try again": the attempt was cut short by us, not by the job. */
    if (job->outcome == JOBRT_RETRY &&
        atomic_load(&job->cancel) == JOB_CANCEL_SHUTDOWN)
        return ACTION_RELEASE;
    switch (job->outcome) {
    case JOBRT_OK:
        return ACTION_ACK;
    case JOBRT_RETRY:
        if (job->env.attempt < job->max_attempts)
            return ACTION_RETRY;
        /* Out of attempts: say so, or that the last one ran out of time. */
        *reason = job->deadline_ms && job->finished_ms >= job->deadline_ms
                      ? REASON_TIMEOUT
                      : REASON_RETRIES_EXHAUSTED;
        return ACTION_DEAD;
    default:
        *reason = REASON_PERMANENT_FAILURE;
        return ACTION_DEAD;
    }
}

static int append_ms(buf_t *b, const char *key, int64_t ms)
{
    if (ms <= 0)
        return buf_appendf(b, ",\"%s\":null", key);
    return buf_appendf(b, ",\"%s\":%lld", key, (long long)ms);
}

int outcome_record(buf_t *b, const struct jobrt_job *job, const char *queue,
                   const char *worker, const char *status, const char *reason,
                   const char *error)
{
    int rc = 0;
    buf_reset(b);
    rc |= buf_append(b, "{\"id\":", 6);
    rc |= buf_append_json_str(b, job->id, strlen(job->id));
    rc |= buf_append(b, ",\"queue\":", 9);
    rc |= buf_append_json_str(b, queue, strlen(queue));
    rc |= buf_append(b, ",\"job\":", 7);
    if (job->env.job.ptr)
        rc |= buf_append_json_str(b, job->env.job.ptr, job->env.job.len);
    else
        rc |= buf_append(b, "null", 4);
    rc |= buf_appendf(b, ",\"v\":%u,\"status\":\"%s\",\"attempts\":%u"
                      ",\"deliveries\":%u",
                      job->env.version, status,
                      job->env.attempt ? job->env.attempt : 1,
                      job->deliveries ? job->deliveries : 1);
    rc |= buf_append(b, ",\"reason\":", 10);
    if (reason)
        rc |= buf_append_json_str(b, reason, strlen(reason));
    else
        rc |= buf_append(b, "null", 4);
    rc |= buf_append(b, ",\"result\":", 10);
    if (job->has_result && job->result.len)
        rc |= buf_append(b, job->result.data, job->result.len);
    else
        rc |= buf_append(b, "null", 4);
    rc |= buf_append(b, ",\"error\":", 9);
    if (error && *error)
        rc |= buf_append_json_str(b, error, strlen(error));
    else
        rc |= buf_append(b, "null", 4);
    if (job->handler) {
        rc |= buf_append(b, ",\"plugin\":", 10);
        rc |= buf_append_json_str(b, job->handler->plugin->name,
                                  strlen(job->handler->plugin->name));
        rc |= buf_append(b, ",\"plugin_version\":", 18);
        rc |= buf_append_json_str(b, job->handler->plugin->version,
                                  strlen(job->handler->plugin->version));
        const struct jobrt_plugin *p = job->handler->plugin;
        rc |= buf_append(b, ",\"build_id\":", 12);
        const char *build = p->build_id ? p->build_id : "";
        rc |= buf_append_json_str(b, build, strlen(build));
        rc |= buf_appendf(b, ",\"sha256\":\"%.12s\",\"generation\":%llu",
                          p->sha256, p->generation);
    }
    rc |= append_ms(b, "enqueued_at", job->env.enqueued_at_ms);
    rc |= append_ms(b, "dispatched_at", job->dispatched_ms);
    rc |= append_ms(b, "started_at", job->started_ms);
    rc |= append_ms(b, "finished_at", job->finished_ms);
    rc |= buf_append(b, ",\"worker\":", 10);
    rc |= buf_append_json_str(b, worker, strlen(worker));
    rc |= buf_append(b, "}", 1);
    return rc ? -1 : 0;
}
