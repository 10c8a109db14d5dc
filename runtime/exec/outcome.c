/*
 * outcome.c - the retry / dead-letter rules and outcome records: the full
 * JSON record of a dead or cancelled job, and the compact form of a
 * succeeded one with the build table entry it names.
 */
#include "exec/outcome.h"

#include <stdio.h>
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

/* ---- succeeded records (the compact form of the record buckets) ---- */

/* Appends v in decimal, without printf: this runs once per job. */
static int append_i64(buf_t *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* ",finished - t" or ",null" when t is unknown. */
static int append_delta(buf_t *b, int64_t finished, int64_t t)
{
    if (t <= 0 || finished <= 0)
        return buf_append(b, ",null", 5);
    return buf_append(b, ",", 1) | append_i64(b, finished - t);
}

int outcome_success_record(buf_t *b, const struct jobrt_job *job,
                           const char *build_key)
{
    int rc = 0;
    buf_reset(b);
    rc |= buf_append(b, "[1,\"", 4);
    rc |= buf_append(b, build_key, strlen(build_key));
    rc |= buf_append(b, "\",", 2);
    if (job->env.job.ptr)
        rc |= buf_append_json_str(b, job->env.job.ptr, job->env.job.len);
    else
        rc |= buf_append(b, "null", 4);
    rc |= buf_append(b, ",", 1);
    rc |= append_i64(b, job->env.version);
    rc |= buf_append(b, ",", 1);
    rc |= append_i64(b, job->env.attempt ? job->env.attempt : 1);
    rc |= buf_append(b, ",", 1);
    rc |= append_i64(b, job->deliveries ? job->deliveries : 1);
    rc |= buf_append(b, ",", 1);
    if (job->finished_ms > 0)
        rc |= append_i64(b, job->finished_ms);
    else
        rc |= buf_append(b, "null", 4);
    rc |= append_delta(b, job->finished_ms, job->env.enqueued_at_ms);
    rc |= append_delta(b, job->finished_ms, job->dispatched_ms);
    rc |= append_delta(b, job->finished_ms, job->started_ms);
    rc |= buf_append(b, "]", 1);
    if (job->has_result && job->result.len)
        rc |= buf_append(b, job->result.data, job->result.len);
    return rc ? -1 : 0;
}

static int build_json(buf_t *b, const struct jobrt_plugin *p,
                      const char *worker)
{
    int rc = 0;
    const char *build = p->build_id ? p->build_id : "";
    buf_reset(b);
    rc |= buf_append(b, "{\"plugin\":", 10);
    rc |= buf_append_json_str(b, p->name, strlen(p->name));
    rc |= buf_append(b, ",\"plugin_version\":", 18);
    rc |= buf_append_json_str(b, p->version, strlen(p->version));
    rc |= buf_append(b, ",\"build_id\":", 12);
    rc |= buf_append_json_str(b, build, strlen(build));
    rc |= buf_appendf(b, ",\"sha256\":\"%.12s\",\"generation\":%llu",
                      p->sha256, p->generation);
    rc |= buf_append(b, ",\"worker\":", 10);
    rc |= buf_append_json_str(b, worker, strlen(worker));
    rc |= buf_append(b, "}", 1);
    return rc ? -1 : 0;
}

const outcome_build_t *outcome_build_of(outcome_builds_t *c,
                                        const struct jobrt_plugin *p,
                                        const char *worker)
{
    for (unsigned i = 0; i < OUTCOME_BUILDS; i++) {
        outcome_build_t *s = &c->slot[i];
        /* a freed plugin's address may come back: the generation and
         * file hash tell them apart */
        if (s->plugin == p && s->generation == p->generation &&
            strncmp(s->sha256, p->sha256, 12) == 0)
            return s;
    }
    outcome_build_t *s = &c->slot[c->next];
    c->next = (c->next + 1) % OUTCOME_BUILDS;
    s->plugin = NULL;
    if (build_json(&s->json, p, worker) != 0)
        return NULL;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < s->json.len; i++) {
        h ^= (unsigned char)s->json.data[i];
        h *= 1099511628211ull;
    }
    snprintf(s->key, sizeof s->key, "%016llx", (unsigned long long)h);
    snprintf(s->sha256, sizeof s->sha256, "%.12s", p->sha256);
    s->generation = p->generation;
    s->plugin = p;
    return s;
}

void outcome_builds_free(outcome_builds_t *c)
{
    for (unsigned i = 0; i < OUTCOME_BUILDS; i++)
        buf_free(&c->slot[i].json);
    memset(c, 0, sizeof *c);
}
