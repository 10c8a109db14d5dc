/*
 * dlq.h - reading and acting on a queue's dead-letter stream
 * (NS:{QUEUE}:dlq) over a blocking connection: scanning it page by page,
 * finding a dead letter by entry id or job id, and re-enqueueing or
 * deleting a selection. Used by `jobrt dlq`; nothing here prints. A
 * function that fails leaves one line naming the command in d->err.
 */
#ifndef JOBRT_DLQ_H
#define JOBRT_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "core/envelope.h"
#include "queue/keys.h"

#define DLQ_ENTRY_ID_MAX 48 /* "<20 digits>-<20 digits>" and a NUL */
#define DLQ_MAX_MORE 4      /* other matches of a job id kept by name */

typedef struct {
    redisContext *c;
    queue_keys_t keys;
    const char *queue;  /* its name, for messages */
    const char *reason; /* filter (exact dlq_reason), or NULL */
    const char *job;    /* filter (exact job name), or NULL */
    char err[512];      /* the last error */
} dlq_t;

/* ---- one entry of an XRANGE reply: [id, [field, value, ...]] ---------- */

int dlq_entry_ok(const redisReply *e);
const char *dlq_entry_id(const redisReply *e);
/* The value of the first field `name`, or NULL. */
const redisReply *dlq_field(const redisReply *e, const char *name);
int dlq_value_is(const redisReply *v, const char *s);
/* The job id: field `id`, else the stream id it had (dlq_source_id). */
const redisReply *dlq_job_id_of(const redisReply *e);
/* Whether e passes d's --reason and --job filters. */
int dlq_matches(const dlq_t *d, const redisReply *e);
/* "<ms>-<seq>", as Redis prints stream ids. */
int dlq_looks_like_entry_id(const char *s);

/* ---- the fields of an over-limit entry ----------------------------------- */

/* A dead letter of an entry with more than ENVELOPE_MAX_FIELDS pairs holds
 * them all as the one value of field dlq_fields (DLQ_FIELD_ENCODED): each
 * field and value in order as a netstring, "<decimal length>:<bytes>,"
 * (docs/protocol.md). Reads the next string at *p (before end) into out
 * and moves *p past it. Returns 1, 0 at the end, -1 if malformed. */
int dlq_next_netstring(const char **p, const char *end, strview_t *out);
/* How many strings a dlq_fields value holds (an even number), or -1 when
 * it is malformed. */
long dlq_count_netstrings(const char *p, size_t len);

/* ---- reading ------------------------------------------------------------- */

/* Called per entry; returns 0 to go on, 1 to stop, -1 on error. */
typedef int (*dlq_visit_fn)(dlq_t *d, const redisReply *e, void *arg);

/* Visits the DLQ newest first (reverse) or oldest first up to `last`
 * (inclusive; "+" for all), a page per round trip. Returns 0, or -1 (with
 * d->err set, unless the visitor failed). */
int dlq_scan(dlq_t *d, int reverse, const char *last, dlq_visit_fn fn,
             void *arg);
/* The newest entry id into out[DLQ_ENTRY_ID_MAX]; "" when empty. */
int dlq_newest_id(dlq_t *d, char *out);
/* One entry by its exact id: the XRANGE reply (caller frees) with the entry
 * as element[0]; NULL if absent, or on error with *failed set. */
redisReply *dlq_fetch(dlq_t *d, const char *id, int *failed);
/* XLEN of the DLQ, or -1. */
long long dlq_len(dlq_t *d);

/* ---- finding dead letters by what a user types ------------------------- */

typedef struct {
    char first[DLQ_ENTRY_ID_MAX]; /* newest match, "" if none */
    size_t n_more;                /* older matches */
    char more[DLQ_MAX_MORE][DLQ_ENTRY_ID_MAX];
} dlq_match_t;

typedef struct {
    const char *arg;               /* as given */
    char entry[DLQ_ENTRY_ID_MAX];  /* resolved entry id, "" if none */
    /* "entry id", "job id" or "source stream id" */
    const char *how;
    const dlq_match_t *chosen;     /* the job-id matches, when resolved so */
    dlq_match_t by_id, by_src;
} dlq_target_t;

/* Resolves each target: an existing entry id as is, else the newest dead
 * letter whose `id` equals it, else whose dlq_source_id does (one
 * newest-first scan covers all of them). Unresolved: entry[0] == 0.
 * Returns 0, or -1 with d->err set. */
int dlq_resolve(dlq_t *d, dlq_target_t *t, size_t n);

/* ---- selections, retry and purge ----------------------------------------- */

typedef struct {
    char id[DLQ_ENTRY_ID_MAX];
    char *job_id;      /* raw bytes, job_id_len long; NULL if none */
    size_t job_id_len;
    int expired;       /* expires_at is in the past */
} dlq_sel_t;

typedef struct {
    dlq_sel_t *v;
    size_t n, cap;
    int64_t now; /* ms, for `expired` */
} dlq_sels_t;

/* Adds entry e; with dedupe, not if it is already selected. Returns 0, or
 * -1 when out of memory. */
int dlq_sel_add(dlq_sels_t *s, const redisReply *e, int dedupe);
/* Every dead letter present now that matches the filters, oldest first. */
int dlq_select_all(dlq_t *d, dlq_sels_t *s);
void dlq_sels_free(dlq_sels_t *s);

/* How many selected jobs are in the cancelled set, or -1. */
long long dlq_count_cancelled(dlq_t *d, const dlq_sels_t *s);
/* Re-enqueues (retry) or deletes (purge) the selection in batches. Returns
 * how many moved or were deleted; -1 on error, with *done set to how many
 * had been handled before it. Retry keeps, and counts in kept->n, the
 * dead letters with nothing to re-add field by field (an over-limit entry
 * kept encoded, a delayed-set member that could not be read, only dlq_*
 * fields): re-enqueueing them would lose or re-dead-letter them. */
typedef struct {
    long long n;
    char first[DLQ_ENTRY_ID_MAX]; /* the first one kept, "" if none */
} dlq_kept_t;
long long dlq_retry(dlq_t *d, const dlq_sels_t *s, long long *done,
                    dlq_kept_t *kept);
long long dlq_purge(dlq_t *d, const dlq_sels_t *s, long long *done);

#endif
