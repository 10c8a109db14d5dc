/*
 * outcome.h - what happens to a job once its handler returns, decided in
 * one pure function so the rules are testable without Redis: ack it, put it
 * back for another attempt, or dead-letter it with a reason code. Also
 * builds the JSON status record that `jobrt status ID` reads.
 */
#ifndef JOBRT_OUTCOME_H
#define JOBRT_OUTCOME_H

#include "core/reasons.h"
#include "core/util.h"
#include "exec/job.h"

typedef enum {
    ACTION_ACK,     /* done: ack, with its record */
    ACTION_RETRY,   /* another attempt after a backoff */
    ACTION_DEAD,    /* dead-letter with a reason */
    ACTION_RELEASE  /* stopped for shutdown: back now, attempt not counted */
} outcome_action_t;

/* Dead-letter reason codes: REASON_* (core/reasons.h). */

/* Sets *reason for ACTION_DEAD (static string), else NULL. */
outcome_action_t outcome_decide(const struct jobrt_job *job,
                                const char **reason);

/* Writes the status record of a finished job into out (reset first).
 * status: "succeeded" or "dead"; reason may be NULL. */
int outcome_record(buf_t *out, const struct jobrt_job *job, const char *queue,
                   const char *worker, const char *status, const char *reason,
                   const char *error);

/* The build a succeeded record names (docs/protocol.md, "Outcome
 * records"): the plugin generation that ran the job and the worker it ran
 * in. Records keep only key; the build table of their bucket maps key to
 * json ({"plugin","plugin_version","build_id","sha256","generation",
 * "worker"}). key is 16 hex digits of json's FNV-1a hash. */
typedef struct {
    const struct jobrt_plugin *plugin; /* NULL: a free slot */
    unsigned long long generation;
    char sha256[13];
    char key[17];
    buf_t json;
} outcome_build_t;

#define OUTCOME_BUILDS 8

/* A worker's builds, so the hot path hashes nothing: the last
 * OUTCOME_BUILDS plugin generations it recorded jobs of. */
typedef struct {
    outcome_build_t slot[OUTCOME_BUILDS];
    unsigned next; /* the slot replaced next */
} outcome_builds_t;

/* The build of p in worker (computed on first use), or NULL when out of
 * memory. Valid until OUTCOME_BUILDS other builds were asked for. */
const outcome_build_t *outcome_build_of(outcome_builds_t *c,
                                        const struct jobrt_plugin *p,
                                        const char *worker);
void outcome_builds_free(outcome_builds_t *c);

/* Writes the compact record of a succeeded job, as a record bucket holds
 * it, into out (reset first): the JSON array [1, build key, job, v,
 * attempts, deliveries, finished_at, then finished_at minus enqueued_at,
 * dispatched_at and started_at (null when unknown)], followed directly by
 * the handler's result JSON when it set one. 0, or -1 out of memory. */
int outcome_success_record(buf_t *out, const struct jobrt_job *job,
                           const char *build_key);

#endif
