/*
 * enqueue.h - sends jobs built by queue/enqueue_parse.h to a queue over a
 * blocking connection, pipelined in batches (one round trip per batch): a
 * plain XADD for most, EVALSHA of the ENQUEUE script (loaded once with
 * SCRIPT LOAD) for a job with a delay, a due time or a dedupe key, both
 * kinds in the same batches, replies read in order. The fate of every job
 * is reported in the order the jobs were added. Prints nothing.
 */
#ifndef JOBRT_ENQUEUE_H
#define JOBRT_ENQUEUE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "queue/enqueue_parse.h"
#include "queue/keys.h"

typedef enum {
    ENQUEUE_ADDED,     /* in the stream, or in the delayed set */
    ENQUEUE_DUPLICATE, /* its key was used within the window: nothing
                          enqueued; job_id is the first job's */
    ENQUEUE_FAILED,    /* Redis refused it: not enqueued */
    ENQUEUE_UNKNOWN    /* the connection broke before its reply: it may or
                          may not have been enqueued */
} enqueue_status_t;

typedef struct {
    unsigned long long tag; /* as given to enqueue_sender_add */
    enqueue_status_t status;
    const char *job_id; /* ADDED and DUPLICATE */
    const char *key;    /* DUPLICATE: the idempotency key */
    const char *error;  /* FAILED and UNKNOWN: one line */
    /* With enqueue_sender_set_wait: how many replicas acknowledged the
     * batch's writes (WAIT's answer; -1 when it was not asked or its
     * answer was lost), and whether that is fewer than asked: an ADDED job
     * is then on the primary only, and a failover could still lose it. */
    long long replicas;
    int under_replicated;
} enqueue_result_t;

typedef void (*enqueue_report_fn)(void *arg, const enqueue_result_t *r);

typedef struct enqueue_sender enqueue_sender_t;

/* c and keys must outlive the sender. batch >= 1 jobs per round trip.
 * Returns NULL when out of memory. */
enqueue_sender_t *enqueue_sender_create(redisContext *c,
                                        const queue_keys_t *keys,
                                        size_t batch,
                                        enqueue_report_fn report, void *arg);

/* Queues e (built by enqueue_build or enqueue_parse_line) and sends the
 * batch when it is full. A scripted job without an id gets one generated
 * (it is not XADDed now, so Redis assigns none): e changes. Returns 0, or
 * -1 once the connection is broken (every job not answered is reported
 * ENQUEUE_UNKNOWN; nothing more is sent). */
int enqueue_sender_add(enqueue_sender_t *s, enqueue_entry_t *e,
                       unsigned long long tag);

/* Lifecycle events (queue/events.h): with max_len > 0 every job added
 * after this call goes through the ENQUEUE script, which appends its
 * `enqueued` event to keys->events (MAXLEN ~ max_len) in the same call;
 * a job without an id gets one generated. 0: no events (the default). */
void enqueue_sender_set_events(enqueue_sender_t *s, long max_len);
/* Reads keys->events_config once (one HGET): the max len while events are
 * on, else 0. A read that fails counts as off, with one line on stderr. */
long enqueue_events_setting(redisContext *c, const queue_keys_t *keys);

/* --wait-replicas: after each batch, WAIT for replicas replicas (at most
 * timeout_ms ms; 0 waits for ever) before the batch's jobs are reported,
 * each with WAIT's answer. replicas 0: no WAIT (the default). */
void enqueue_sender_set_wait(enqueue_sender_t *s, int replicas,
                             long timeout_ms);

/* Sends what is queued and reports it. Returns 0, or -1 as above. */
int enqueue_sender_flush(enqueue_sender_t *s);

void enqueue_sender_destroy(enqueue_sender_t *s);

#endif
