/*
 * enqueue_parse.h - "a job to enqueue", as `jobrt enqueue` gets it from
 * its command line or from one NDJSON line, turned into one form: the
 * fields of a wire-format v1 stream entry plus how to send it (a delay or
 * due time, an idempotency key and its dedupe window). Pure code: the
 * untrusted-input parser of the enqueue path, kept apart so it can be
 * tested and fuzzed; queue/enqueue.h sends the result.
 */
#ifndef JOBRT_ENQUEUE_PARSE_H
#define JOBRT_ENQUEUE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"
#include "core/util.h"

/* job v payload id correlation_id max_attempts enqueued_at not_before
 * expires_at idempotency_key timeout_ms: 11 pairs, with room to grow */
#define ENQUEUE_MAX_FIELDS 24

/* The longest --delay, --expires-in and --dedupe-window (and NDJSON
 * "delay", "expires_in", "dedupe_window"). */
#define ENQUEUE_MAX_DURATION_MS (366 * 86400000LL)
#define ENQUEUE_DEFAULT_WINDOW_MS 86400000LL /* 24h */

typedef struct {
    strview_t fields[ENQUEUE_MAX_FIELDS]; /* name/value pairs */
    size_t n_fields;
    buf_t scratch;    /* owns the bytes fields point into */
    char id[ENVELOPE_MAX_ID + 1]; /* "" if the job has none (yet) */
    /* How it is sent. With any of them set the job goes through the
     * ENQUEUE script (queue/scripts.h), otherwise it is a plain XADD. */
    int64_t delay_ms;  /* -1: none; else run no sooner than now + delay */
    int64_t at_ms;     /* -1: none; else the due time, ms since the epoch */
    char idem_key[ENVELOPE_MAX_ID + 1]; /* "": no dedupe */
    int64_t dedupe_window_ms; /* with idem_key */
} enqueue_entry_t;

/* What one job is made of, whichever form gave it. Strings are
 * NUL-terminated except the payload (payload_len bytes). */
typedef struct {
    const char *job;
    long version;            /* -1: not given (an error) */
    const char *payload;
    size_t payload_len;
    const char *id;              /* NULL: not given, for each string */
    const char *correlation_id;
    const char *idempotency_key; /* also the dedupe key */
    long max_attempts;        /* 0: not given */
    int64_t enqueued_at_ms;   /* -1: not given, for each number below */
    int64_t not_before_ms;    /* a field, and the due time */
    int64_t expires_at_ms;
    int64_t delay_ms;         /* conveniences, not fields */
    int64_t at_ms;
    int64_t dedupe_window_ms; /* -1: the default, 24h */
    long timeout_ms;          /* 0: not given (the handler's deadline) */
} enqueue_spec_t;

#define ENQUEUE_SPEC_INIT                                                   \
    {NULL, -1, NULL, 0, NULL, NULL, NULL, 0, -1, -1, -1, -1, -1, -1, 0}

/* Builds e from s (the caller has checked which options conflict: see
 * enqueue_parse_line for the rules). The entry is checked with the
 * worker's envelope_parse() and payload check, so what enqueue accepts the
 * worker accepts. Returns 0, or -1 with a one-line reason in why. */
int enqueue_build(const enqueue_spec_t *s, enqueue_entry_t *e, char *why,
                  size_t why_len);

/* One NDJSON line: a JSON object whose keys are the wire fields of
 * docs/protocol.md under their names and JSON types (job: string, v:
 * integer, payload: any JSON kept byte for byte, id, correlation_id and
 * idempotency_key: strings, max_attempts: integer, enqueued_at, not_before
 * and expires_at: integers, ms since the epoch) and the command line's
 * conveniences: delay and expires_in (durations: "30s", "5m", or a number
 * of seconds), at (ms since the epoch or UTC ISO-8601), key (the same as
 * idempotency_key) and dedupe_window (a duration, only with a key). A null
 * value is the key left out. Unknown keys, worker-managed ones (attempt,
 * last_error), repeated keys, a wrong type and conflicts (delay with at,
 * not_before with either, expires_in with expires_at, key with
 * idempotency_key) are errors. now_ms is the clock for expires_in and,
 * when non-zero and the line gives none, the enqueued_at written.
 * Returns 0, or -1 with a one-line reason in why. */
int enqueue_parse_line(const char *line, size_t len, int64_t now_ms,
                       enqueue_entry_t *out, char *why, size_t why_len);

/* A due time as --at and "at" take it: ms since the epoch, or UTC
 * ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)", a real date from 1970
 * on. Returns 0, -1, or ENQUEUE_AT_SECONDS for a number of ms from 1 to
 * below ENQUEUE_AT_MIN_MS (a time before March 1973: surely seconds
 * since the epoch, which would run the job at once). */
#define ENQUEUE_AT_SECONDS (-2)
#define ENQUEUE_AT_MIN_MS 100000000000LL
int enqueue_parse_at(const char *s, int64_t *out_ms);

/* Whether e goes through the ENQUEUE script (a delay, a due time or a
 * dedupe key) rather than a plain XADD. */
int enqueue_entry_scripted(const enqueue_entry_t *e);

/* Appends one more field/value pair (e.g. a generated id) to a built
 * entry. Returns 0, or -1 when full or out of memory. */
int enqueue_entry_add(enqueue_entry_t *e, const char *name, const char *value);

void enqueue_entry_free(enqueue_entry_t *e);

#endif
