/*
 * enqueue_parse.h - turns one NDJSON line given to `jobrt enqueue` into the
 * fields of a wire-format v1 stream entry. Pure code: the untrusted-input
 * parser of the enqueue path, kept apart so it can be tested and fuzzed.
 */
#ifndef JOBRT_ENQUEUE_PARSE_H
#define JOBRT_ENQUEUE_PARSE_H

#include <stddef.h>

#include "core/envelope.h"
#include "core/util.h"

/* job v payload id correlation_id max_attempts enqueued_at expires_at
 * idempotency_key not_before: 10 pairs, with room to grow */
#define ENQUEUE_MAX_FIELDS 24

typedef struct {
    strview_t fields[ENQUEUE_MAX_FIELDS]; /* name/value pairs */
    size_t n_fields;
    buf_t scratch;    /* owns the bytes fields point into */
    char id[ENVELOPE_MAX_ID + 1]; /* "" if the line gave none */
} enqueue_entry_t;

/* Line: {"job":"x","v":1,"payload":<any JSON>,"id":"..",
 *        "correlation_id":"..","max_attempts":3}
 * Returns 0, or -1 with a one-line reason in why. The produced entry is
 * checked with envelope_parse() too, so what enqueue accepts the worker
 * accepts. enqueued_at_ms is added when non-zero. */
int enqueue_parse_line(const char *line, size_t len, long long enqueued_at_ms,
                       enqueue_entry_t *out, char *why, size_t why_len);

/* The same, from separate values (the single-job command line form). */
int enqueue_build(const char *job, long version, const char *payload,
                  const char *id, const char *correlation_id,
                  long max_attempts, long long enqueued_at_ms,
                  enqueue_entry_t *out, char *why, size_t why_len);

/* Appends one more field/value pair (e.g. expires_at) to a built entry.
 * Returns 0, or -1 when full or out of memory. */
int enqueue_entry_add(enqueue_entry_t *e, const char *name, const char *value);

void enqueue_entry_free(enqueue_entry_t *e);

#endif
