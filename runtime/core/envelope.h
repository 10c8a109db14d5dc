/*
 * envelope.h - the wire format v1 of a job (docs/protocol.md): the fields of
 * one Redis stream entry, validated into a jobrt_envelope. Pure code, no I/O:
 * the queue backend hands in the entry's field/value pairs and gets back
 * either an envelope or the reason it is invalid.
 */
#ifndef JOBRT_ENVELOPE_H
#define JOBRT_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_MAX_NAME 128
#define ENVELOPE_MAX_ID 128
/* An envelope's timeout_ms is at most a day (the worker's --max-timeout
 * caps it further). */
#define ENVELOPE_MAX_TIMEOUT_MS 86400000
#define ENVELOPE_MAX_VERSION 2147483647u
#define ENVELOPE_MAX_ATTEMPTS 1000
/* Field/value pairs one entry may have of its own, besides the three the
 * runtime manages (id, attempt, last_error: a retry adds them), so in all
 * at most ENVELOPE_MAX_ENTRY_FIELDS. Every script that re-adds an entry
 * field by field passes its values to one Lua call, which Lua caps at
 * about 8 000; entries over the limit are dead-lettered as
 * too_many_fields by a path that never does that (scripts.h). */
#define ENVELOPE_MAX_FIELDS 256
#define ENVELOPE_MAX_ENTRY_FIELDS (ENVELOPE_MAX_FIELDS + 3)

typedef struct {
    const char *ptr;
    size_t len;
} strview_t;

/* Whether v holds exactly the NUL-terminated name. */
int strview_is(const strview_t *v, const char *name);

/* Borrowed views into the entry's fields; valid as long as they are. */
typedef struct {
    strview_t job;            /* required */
    uint32_t version;         /* required: field "v" */
    strview_t payload;        /* required: JSON text */
    strview_t id;             /* optional; empty = use the stream entry id */
    strview_t correlation_id; /* optional */
    uint32_t max_attempts;    /* optional; 0 = not given */
    uint32_t timeout_ms;      /* optional deadline; 0 = the handler's */
    uint32_t attempt;         /* runtime-managed; 1 on first delivery */
    int64_t enqueued_at_ms;   /* optional; 0 = unknown */
    int64_t not_before_ms;    /* optional; 0 = run as soon as possible */
    int64_t expires_at_ms;    /* optional, see has_expires_at */
    int has_expires_at;       /* the field is there (0 is a time too) */
    strview_t idempotency_key; /* optional */
} jobrt_envelope;

/* Parses n field/value pairs (fields[2i] is a name, fields[2i+1] its value).
 * On success returns 0. On failure returns -1 and writes a one-line reason
 * (naming the field) into why[why_len]; the entry is then invalid_envelope.
 * Payload JSON is NOT checked here (see envelope_check_payload). */
int envelope_parse(const strview_t *fields, size_t n, jobrt_envelope *env,
                   char *why, size_t why_len);

/* Checks the payload is valid JSON within max_bytes; same reason contract. */
int envelope_check_payload(const jobrt_envelope *env, size_t max_bytes,
                           char *why, size_t why_len);

/* The value of the first field "id" among n field/value views, when it is
 * a valid id (envelope_valid_id), else NULL: the producer's id, so that an
 * entry dead-lettered before (or for) failing validation can still be
 * found by it. */
const strview_t *envelope_find_id(const strview_t *fields, size_t n);

/* How many of n field/value views are the entry's own pairs: all but the
 * first named id, attempt and last_error (see ENVELOPE_MAX_FIELDS). */
size_t envelope_own_fields(const strview_t *fields, size_t n);

/* An id (job id, correlation id) is 1..128 printable non-space ASCII
 * bytes: ids end up in Redis keys and log lines. */
int envelope_valid_id(const char *ptr, size_t len);

/* A job name is 1..128 bytes of [A-Za-z0-9_.:/-]. */
int envelope_valid_name(const char *s, size_t len);

#endif
