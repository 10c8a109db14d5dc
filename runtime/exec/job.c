/*
 * job.c - copying a stream entry into a reusable job slot.
 */
#include "exec/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void job_set_id(struct jobrt_job *job, const char *stream_id,
                const strview_t *fv, size_t n)
{
    const strview_t *id = envelope_find_id(fv, n);
    if (id) {
        memcpy(job->id, id->ptr, id->len);
        job->id[id->len] = '\0';
    } else {
        util_copy_str(job->id, sizeof job->id, stream_id);
    }
}

int job_load_entry(struct jobrt_job *job, const char *stream_id,
                   const strview_t *fv, size_t n, char *why, size_t why_len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += fv[i].len + 1;
    buf_reset(&job->raw);
    if (buf_reserve(&job->raw, total) != 0)
        return -2;
    if (n > job->fields_cap) {
        strview_t *f = realloc(job->fields, n * sizeof *f);
        if (f == NULL)
            return -2;
        job->fields = f;
        job->fields_cap = n;
    }
    char *p = job->raw.data;
    for (size_t i = 0; i < n; i++) {
        if (fv[i].len)
            memcpy(p, fv[i].ptr, fv[i].len);
        p[fv[i].len] = '\0';
        job->fields[i].ptr = p;
        job->fields[i].len = fv[i].len;
        p += fv[i].len + 1;
    }
    job->raw.len = total;
    job->n_fields = n;

    util_copy_str(job->stream_id, sizeof job->stream_id, stream_id);
    job->handler = NULL;
    job->deliveries = 1;
    job->retry_after_ms = 0;
    job->has_result = 0;
    job->error[0] = '\0';
    job->disposition = JOB_RAN;
    job->outcome = JOBRT_OK;
    job->started_ms = job->finished_ms = job->deadline_ms = 0;
    job->run_us = -1;
    job->dispatched_ms = job->dispatched_mono_ms = 0;
    job->start_event_sent = 0;
    progress_reset(&job->progress);
    job->overdue_logged = 0;
    atomic_store(&job->cancel, 0);

    if (envelope_parse(job->fields, n, &job->env, why, why_len) != 0) {
        /* Keep the producer's id if it gave a usable one, so the dead
         * letter and its record can be found by it. */
        memset(&job->env, 0, sizeof job->env);
        job_set_id(job, stream_id, job->fields, n);
        return -1;
    }
    if (job->env.id.len)
        memcpy(job->id, job->env.id.ptr, job->env.id.len + 1);
    else
        util_copy_str(job->id, sizeof job->id, stream_id);
    return 0;
}

/* The value of the first field named name among the entry's copies. */
static const char *raw_field(const struct jobrt_job *job, const char *name,
                             size_t *len)
{
    for (size_t i = 0; i + 1 < job->n_fields; i += 2)
        if (strview_is(&job->fields[i], name)) {
            *len = job->fields[i + 1].len;
            return job->fields[i + 1].ptr;
        }
    *len = 0;
    return NULL;
}

void job_log_fields(const struct jobrt_job *job, int with_payload,
                    log_job_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = job->id;
    if (job->stream_id[0] && strcmp(job->stream_id, job->id) != 0)
        out->stream_id = job->stream_id;
    out->queue = job->queue;
    if (job->env.job.ptr) {
        out->job = job->env.job.ptr;
        out->version = job->env.version;
        out->has_version = 1;
        out->attempt = job->env.attempt;
        if (job->env.correlation_id.len)
            out->correlation_id = job->env.correlation_id.ptr;
        if (with_payload) {
            out->payload = job->env.payload.ptr;
            out->payload_len = job->env.payload.len;
        }
    } else { /* invalid envelope: what the entry says, escaped by the log */
        size_t len;
        out->job = raw_field(job, "job", &len);
        if (with_payload)
            out->payload = raw_field(job, "payload", &out->payload_len);
    }
    if (job->handler && job->handler->plugin) {
        out->plugin = job->handler->plugin->name;
        out->build_id = job->handler->plugin->build_id;
    }
}

void job_free_buffers(struct jobrt_job *job)
{
    buf_free(&job->raw);
    buf_free(&job->result);
    free(job->fields);
    job->fields = NULL;
    job->fields_cap = job->n_fields = 0;
}

uint32_t job_backoff_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms,
                        uint64_t *seed)
{
    uint64_t ceiling = base_ms;
    for (uint32_t i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    /* xorshift64*: cheap, per worker, no locking */
    uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *seed = x;
    return (uint32_t)(((x * 0x2545f4914f6cdd1dull) >> 11) % (ceiling + 1));
}
