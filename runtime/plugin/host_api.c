/*
 * host_api.c - the functions behind jobrt_host_api. Every log line a plugin
 * writes is tagged with the plugin name, and job_log's with the job's
 * fields too (core/log.h: id, job, v, queue, attempt, build, correlation
 * id). What the plugin writes is escaped by the log like any message.
 */
#include "plugin/host_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json_check.h"
#include "core/log.h"

static void host_log(jobrt_plugin_ref *plugin, int level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    const char *name = plugin && plugin->name ? plugin->name : "?";
    char module[160];
    snprintf(module, sizeof module, "plugin %s", name);
    log_job_t fields = {.plugin = name,
                        .build_id = plugin ? plugin->build_id : NULL};
    va_list ap;
    va_start(ap, fmt);
    log_vjob(level, module, &fields, fmt, ap);
    va_end(ap);
}

static void host_job_log(const jobrt_job *job, int level, const char *fmt,
                         ...)
{
    if (!log_enabled(level))
        return;
    char module[160];
    snprintf(module, sizeof module, "plugin %s",
             job->handler ? job->handler->plugin->name : "?");
    log_job_t fields;
    job_log_fields(job, 0, &fields);
    va_list ap;
    va_start(ap, fmt);
    log_vjob(level, module, &fields, fmt, ap);
    va_end(ap);
}

static const char *h_job_id(const jobrt_job *job) { return job->id; }
static const char *h_job_name(const jobrt_job *job) { return job->env.job.ptr; }
static uint32_t h_job_version(const jobrt_job *job) { return job->env.version; }
static uint32_t h_job_attempt(const jobrt_job *job) { return job->env.attempt; }

static const char *h_job_correlation_id(const jobrt_job *job)
{
    return job->env.correlation_id.len ? job->env.correlation_id.ptr : NULL;
}

static const char *h_job_payload(const jobrt_job *job, size_t *len)
{
    if (len)
        *len = job->env.payload.len;
    return job->env.payload.ptr;
}

static int64_t h_job_deadline_ms(const jobrt_job *job)
{
    return job->deadline_ms;
}

static int h_job_cancel_requested(const jobrt_job *job)
{
    if (atomic_load_explicit(&job->cancel, memory_order_relaxed))
        return 1;
    return job->deadline_ms && util_now_ms() >= job->deadline_ms;
}

static int h_job_set_result(jobrt_job *job, const char *json, size_t len)
{
    if (json == NULL ||
        json_check(json, len, JSON_CHECK_DEFAULT_DEPTH, NULL) != 0)
        return -1;
    buf_reset(&job->result);
    if (buf_append(&job->result, json, len) != 0)
        return -1;
    job->has_result = 1;
    return 0;
}

static void h_job_set_error(jobrt_job *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(job->error, sizeof job->error, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof job->error) /* cut, but not inside a character */
        utf8_truncate(job->error, sizeof job->error - 1);
}

static void h_job_retry_after(jobrt_job *job, uint32_t ms)
{
    job->retry_after_ms = ms ? ms : 1;
}

static uint32_t h_job_delivery_count(const jobrt_job *job)
{
    return job->deliveries;
}

static const char *h_job_idempotency_key(const jobrt_job *job)
{
    return job->env.idempotency_key.len ? job->env.idempotency_key.ptr : NULL;
}

static int h_job_progress(jobrt_job *job, int percent, const char *message)
{
    return progress_set(&job->progress, percent, message, util_now_ms());
}

static const jobrt_host_api host_table = {
    .struct_size = sizeof(jobrt_host_api),
    .abi_major = JOBRT_ABI_MAJOR,
    .abi_minor = JOBRT_ABI_MINOR,
    .log = host_log,
    .job_log = host_job_log,
    .job_id = h_job_id,
    .job_name = h_job_name,
    .job_version = h_job_version,
    .job_attempt = h_job_attempt,
    .job_correlation_id = h_job_correlation_id,
    .job_payload = h_job_payload,
    .job_deadline_ms = h_job_deadline_ms,
    .job_cancel_requested = h_job_cancel_requested,
    .job_set_result = h_job_set_result,
    .job_set_error = h_job_set_error,
    .job_retry_after = h_job_retry_after,
    .job_delivery_count = h_job_delivery_count,
    .job_idempotency_key = h_job_idempotency_key,
    .job_progress = h_job_progress,
};

const jobrt_host_api *host_api_get(void) { return &host_table; }

void host_run_job(struct jobrt_job *job)
{
    int64_t t0 = util_mono_us();
    job->started_ms = util_now_ms();
    /* The worker sets the deadline on the loop thread before submitting
     * (its lease bookkeeping reads it there); other callers get it here. */
    if (job->deadline_ms == 0 && job->timeout_ms)
        job->deadline_ms = job->started_ms + (int64_t)job->timeout_ms;
    if (envelope_check_payload(&job->env, job->max_payload, job->error,
                               sizeof job->error) != 0) {
        job->disposition = job->max_payload &&
                                   job->env.payload.len > job->max_payload
                               ? JOB_PAYLOAD_TOO_LARGE
                               : JOB_INVALID_PAYLOAD;
        job->outcome = JOBRT_FAIL;
        job->finished_ms = util_now_ms();
        job->run_us = -1;
        return;
    }
    int rc = job->handler->run(&host_table, job->handler->plugin->ctx, job);
    job->finished_ms = util_now_ms();
    job->run_us = util_mono_us() - t0;
    if (rc != JOBRT_OK && rc != JOBRT_RETRY && rc != JOBRT_FAIL) {
        snprintf(job->error, sizeof job->error,
                 "handler returned %d, which is not JOBRT_OK, JOBRT_RETRY or "
                 "JOBRT_FAIL", rc);
        rc = JOBRT_FAIL;
    }
    if (rc != JOBRT_OK && job->error[0] == '\0')
        snprintf(job->error, sizeof job->error, "handler returned %s "
                 "without an error message",
                 rc == JOBRT_RETRY ? "JOBRT_RETRY" : "JOBRT_FAIL");
    if (rc != JOBRT_OK && job->deadline_ms && job->finished_ms >= job->deadline_ms) {
        char prefix[64];
        int n = snprintf(prefix, sizeof prefix, "timeout after %u ms: ",
                         job->timeout_ms);
        size_t plen = (size_t)n;
        utf8_truncate(job->error, sizeof job->error - plen - 1);
        size_t elen = strlen(job->error);
        memmove(job->error + plen, job->error, elen);
        memcpy(job->error, prefix, plen);
        job->error[plen + elen] = '\0';
    }
    job->outcome = rc;
}
