/*
 * events.h - job lifecycle events (docs/events.md): while `jobrt events
 * on QUEUE` holds (the hash keys.events_config, field max_len), every
 * state change of a job of the queue is appended to the stream
 * keys.events, bounded by XADD MAXLEN ~ max_len, for anyone to follow
 * with XREAD. The writes ride in the scripts that make the change
 * (scripts.c: COMPLETE, REQUEUE, DLQ, PARK; scripts_cli.c: ENQUEUE), so
 * events cost no round trip of their own; `started` events are batched
 * (queue_redis_started, queue.h). Workers read the setting every
 * EVENTS_POLL_MS, so the fleet switches together. Here: the limits, the
 * parse of the setting, and the lines `jobrt events tail` prints.
 */
#ifndef JOBRT_QUEUE_EVENTS_H
#define JOBRT_QUEUE_EVENTS_H

#include <stddef.h>

#include "core/envelope.h"

#define EVENTS_ERROR_MAX 200          /* bytes of an event's error */
#define EVENTS_MAX_LEN_DEFAULT 10000  /* entries kept (about) */
#define EVENTS_MAX_LEN_LIMIT 10000000 /* the most --max-len takes */
#define EVENTS_POLL_MS 250
/* A worker writes its started and completed events as one stream entry
 * per batch, with the jobs in a JSON array "jobs" of at most this many
 * {"id","job","v","attempt"} objects (docs/events.md). */
#define EVENTS_JOBS_PER_ENTRY 128
/* The field of keys.events_config that holds the max length. */
#define EVENTS_FIELD_MAX_LEN "max_len"

/* Parses a stored max_len s[0..len): decimal 1..EVENTS_MAX_LEN_LIMIT.
 * Returns it, or 0 when s is not one (events then stay off). */
long events_parse_max_len(const char *s, size_t len);

/* Formats the event entry stream_id with fields fv[0..n) as one line
 * (no newline) into out: with json, a JSON object of every field (at,
 * v, attempt, delay_ms, due_ms, not_jobs, more_jobs as numbers when they
 * are, the rest as strings) plus "stream_id"; else "<at as UTC time> <type> <id> <job>
 * v<v>" then the other fields as key=value. Field values are cut to 512
 * bytes. Returns the length, or -1 when out is too small or memory ran
 * out (out then holds a truncated line or ""). */
int events_format(const char *stream_id, const strview_t *fv, size_t n,
                  int json, char *out, size_t cap);

/* Formats each job event of one entry (events_format) and calls
 * emit(arg, line) with it: an entry with a "jobs" field (a worker's batch
 * of started or completed events: a JSON array of {"id","job","v",
 * "attempt"} objects, at most EVENTS_JOBS_MAX_BYTES) once per object,
 * formatted as a one-job entry with those four fields in place of
 * "jobs", at most EVENTS_EXPAND_MAX of them; then, when the array held
 * elements that are not jobs (no string "id"), one line with type,
 * not_jobs=N, at and worker, and when it held more than
 * EVENTS_EXPAND_MAX jobs, one with more_jobs=N. Any other entry, or one
 * whose "jobs" holds no job, once, as it is. out[0..cap) is the line's
 * buffer. Returns the number of lines emitted. */
#define EVENTS_JOBS_MAX_BYTES (1024 * 1024)
#define EVENTS_EXPAND_MAX (2 * EVENTS_JOBS_PER_ENTRY)
size_t events_format_each(const char *stream_id, const strview_t *fv,
                          size_t n, int json, char *out, size_t cap,
                          void (*emit)(void *arg, const char *line),
                          void *arg);

#endif
