/*
 * worker_admit.c - what the worker does with an entry before any handler
 * may run it: the size limits checked before it is copied, cancellation,
 * expiry and not_before, and what happens to a job no handler here
 * serves (parked for one that does, or dead-lettered); and the dead
 * letter itself, with its record and its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "exec/outcome.h"
#include "exec/worker_internal.h"

void worker_dead_letter(worker_t *w, struct jobrt_job *job, const char *reason,
                        const char *error)
{
    const char *status =
        strcmp(reason, REASON_CANCELLED) == 0 ? "cancelled" : "dead";
    outcome_record(&w->record, job, job->queue, w->consumer, status, reason,
                   error);
    queue_redis_dead_letter(worker_job_queue(w, job), job->stream_id,
                            job->id, reason, error, w->record.data,
                            w->record.len);
    w->n_dead++;
    w->queues[job->queue_index].n_dead++;
    log_job_t lj;
    job_log_fields(job, 1, &lj);
    worker_count(w, job, OUTCOME_DEAD, reason);
    if (job->env.job.ptr == NULL) /* the envelope itself was invalid */
        LOGJW("worker", &lj, "job %s (stream entry %s) dead-lettered: %s: %s",
              job->id, job->stream_id, reason,
              error && *error ? error : "-");
    else
        LOGJW("worker", &lj, "job %s (%s v%u, attempt %u) dead-lettered: "
              "%s: %s", job->id, job->env.job.ptr, job->env.version,
              job->env.attempt, reason, error && *error ? error : "-");
}

/* How many bytes the fields other than the payload may take together. */
#define ENTRY_OTHER_FIELDS_MAX (64 * 1024)

/* Dead-letters an entry from Redis as it is, without copying it into the
 * slot (too big, or too many fields to be worth it): the slot only carries
 * the ids for the dead letter's record. */
static void reject_uncopied(worker_t *w, struct jobrt_job *job,
                            const char *stream_id, const strview_t *fv,
                            size_t n, uint32_t deliveries, const char *reason,
                            const char *why)
{
    memset(&job->env, 0, sizeof job->env);
    job->n_fields = 0; /* nothing copied: no stale fields in its log line */
    job->handler = NULL;
    job->has_result = 0;
    job->started_ms = job->finished_ms = job->dispatched_ms = 0;
    job->run_us = -1;
    job->deliveries = deliveries;
    util_copy_str(job->stream_id, sizeof job->stream_id, stream_id);
    job_set_id(job, stream_id, fv, n);
    worker_dead_letter(w, job, reason, why);
}

/* The limits checked before an entry is copied: how many fields it has,
 * how big its payload is, and how big everything else is. Returns 1 if the
 * entry was dead-lettered. */
int worker_over_limits(worker_t *w, struct jobrt_job *job,
                       const char *stream_id, const strview_t *fv, size_t n,
                       uint32_t deliveries)
{
    char why[256];
    const char *reason = NULL;
    size_t payload = 0, other = 0;
    size_t own = n > 2 * ENVELOPE_MAX_FIELDS ? envelope_own_fields(fv, n) : 0;
    if (own > ENVELOPE_MAX_FIELDS) {
        reason = REASON_TOO_MANY_FIELDS;
        snprintf(why, sizeof why, "stream entry has %zu fields of its own, "
                 "over the limit of %d", own, ENVELOPE_MAX_FIELDS);
    } else {
        int seen_payload = 0;
        for (size_t i = 0; i + 1 < n; i += 2) {
            /* A second payload field (invalid anyway) counts as other. */
            if (!seen_payload && strview_is(&fv[i], "payload")) {
                payload = fv[i + 1].len;
                seen_payload = 1;
            } else {
                other += fv[i + 1].len;
            }
            other += fv[i].len;
        }
        if (payload > (size_t)w->cfg->max_payload) {
            reason = REASON_PAYLOAD_TOO_LARGE;
            snprintf(why, sizeof why, "payload is %zu bytes, over the "
                     "--max-payload limit of %ld bytes", payload,
                     w->cfg->max_payload);
        } else if (other > ENTRY_OTHER_FIELDS_MAX) {
            reason = REASON_ENTRY_TOO_LARGE;
            snprintf(why, sizeof why, "the fields other than the payload "
                     "take %zu bytes, over the limit of %d bytes", other,
                     ENTRY_OTHER_FIELDS_MAX);
        }
    }
    if (reason == NULL)
        return 0;
    reject_uncopied(w, job, stream_id, fv, n, deliveries, reason, why);
    return 1;
}

/* A job that must not run: dead-letter it with a record saying why. */
static void skip_job(worker_t *w, struct jobrt_job *job, const char *reason,
                     const char *error)
{
    worker_dead_letter(w, job, reason, error);
    worker_slot_put(w, job);
}

/* Checks made before routing; returns 1 if the job was taken care of. */
int worker_dispatch_checks(worker_t *w, struct jobrt_job *job)
{
    char why[256];
    int64_t now = util_now_ms();
    if (idset_has(w->queues[job->queue_index].cancelled, job->id,
                  strlen(job->id))) {
        skip_job(w, job, REASON_CANCELLED, "cancelled with `jobrt cancel` "
                 "before it started");
        return 1;
    }
    if (job->env.has_expires_at && now >= job->env.expires_at_ms) {
        snprintf(why, sizeof why, "not started before it expired at %lld "
                 "(%lld ms ago)", (long long)job->env.expires_at_ms,
                 (long long)(now - job->env.expires_at_ms));
        skip_job(w, job, REASON_EXPIRED, why);
        return 1;
    }
    if (job->env.not_before_ms > now + 20) {
        /* Early (enqueued with not_before): wait in the delayed set. */
        queue_redis_requeue(worker_job_queue(w, job), job->stream_id,
                            job->id, job->fields, job->n_fields, 0, NULL, 0,
                            job->env.not_before_ms);
        worker_slot_put(w, job);
        return 1;
    }
    return 0;
}

/* Whether this worker already said it parks jobs of (job, version). */
static int parked_logged(worker_t *w, const char *pair)
{
    for (size_t i = 0; i < w->n_parked_logged; i++)
        if (strcmp(w->parked_logged[i], pair) == 0)
            return 1;
    if (w->n_parked_logged < PARKED_PAIRS_LOGGED)
        snprintf(w->parked_logged[w->n_parked_logged++],
                 sizeof w->parked_logged[0], "%s", pair);
    return 0;
}

/* `jobrt disable` holds the job: park it, whatever serves it, for a worker
 * to take after `jobrt enable` (parked pairs of a disabled job never
 * expire). */
void worker_park_disabled(worker_t *w, struct jobrt_job *job)
{
    char why[256], pair[160];
    snprintf(why, sizeof why, "job '%s' is disabled on queue %s (jobrt "
             "disable); parked until `jobrt enable`", job->env.job.ptr,
             job->queue);
    queue_redis_park(worker_job_queue(w, job), job->stream_id, job->id,
                     job->env.job.ptr, job->env.version, REASON_DISABLED, why);
    w->n_parked++;
    worker_count(w, job, OUTCOME_PARKED, NULL);
    snprintf(pair, sizeof pair, "%.128s v%u disabled", job->env.job.ptr,
             job->env.version);
    log_job_t lj;
    job_log_fields(job, 0, &lj);
    if (!parked_logged(w, pair))
        LOGJI("worker", &lj, "parking jobs of %s v%u: %s", job->env.job.ptr,
              job->env.version, why);
    else
        LOGJD("worker", &lj, "job %s parked: %s", job->id, why);
}

/* No plugin here serves the job's name or schema version: park it for a
 * worker that does (one may be deploying now), or with --park-ttl 0
 * dead-letter it. */
void worker_unserved(worker_t *w, struct jobrt_job *job, route_status_t st)
{
    char why[512], served[256], pair[160];
    router_describe_versions(w->gens->router, job->env.job.ptr,
                             job->env.job.len, served, sizeof served);
    if (st == ROUTE_NO_HANDLER)
        snprintf(why, sizeof why, "no loaded plugin handles job '%s'",
                 job->env.job.ptr);
    else
        snprintf(why, sizeof why, "job '%s' schema v%u is not served "
                 "(loaded handlers serve %s)", job->env.job.ptr,
                 job->env.version, served);
    if (w->cfg->park_ttl_ms == 0) {
        worker_dead_letter(w, job, route_status_reason(st), why);
        return;
    }
    queue_redis_park(worker_job_queue(w, job), job->stream_id, job->id,
                     job->env.job.ptr, job->env.version,
                     route_status_reason(st), why);
    w->n_parked++;
    worker_count(w, job, OUTCOME_PARKED, NULL);
    snprintf(pair, sizeof pair, "%s v%u", job->env.job.ptr, job->env.version);
    log_job_t lj;
    job_log_fields(job, 0, &lj);
    if (!parked_logged(w, pair)) {
        char ttl[32];
        util_format_duration(w->cfg->park_ttl_ms, ttl, sizeof ttl);
        LOGJI("worker", &lj, "parking jobs of %s: %s; a worker that serves "
              "it (here after a reload, or another) takes them, else they "
              "are dead-lettered after --park-ttl %s", pair, why, ttl);
    } else {
        LOGJD("worker", &lj, "job %s (%s) parked: %s", job->id, pair, why);
    }
}

