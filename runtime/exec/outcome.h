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

#endif
