/*
 * fleet_view.h - reading the fleet registry (registry.h) from Redis over a
 * blocking connection, for the command line: the server's clock, which
 * queues of a namespace have live workers, and a queue's live workers
 * with their parsed records. Liveness is judged by the Redis server's
 * clock, never the caller's. Everything read is bounded: at most
 * FLEET_MAX_WORKERS workers and FLEET_MAX_QUEUES queues, each record at
 * most REGISTRY_MAX_RECORD bytes, fetched with GETRANGE so a bigger value
 * never comes over whole. Prints nothing.
 */
#ifndef JOBRT_FLEET_VIEW_H
#define JOBRT_FLEET_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "fleet/registry.h"
#include "queue/keys.h"

#define FLEET_MAX_WORKERS 10000 /* of one queue */
#define FLEET_MAX_QUEUES 10000  /* of the namespace index */

/* One live worker: in the queue's zset within the TTL, record present. */
typedef struct {
    char *consumer;        /* the zset member */
    int64_t heartbeat_ms;  /* its score: the last heartbeat, server time */
    int ok;                /* rec parsed */
    char why[320];         /* !ok: why the record is unreadable */
    registry_record_t rec; /* ok */
} fleet_worker_t;

typedef struct {
    fleet_worker_t *w; /* by consumer name */
    size_t n;
    int truncated; /* more live workers than the limit: the rest unread */
} fleet_t;

/* The Redis server's clock (TIME), ms since the epoch. Returns 0, or -1
 * with err set. */
int fleet_server_time(redisContext *c, int64_t *now_ms, char *err,
                      size_t err_len);

/* A list of NUL-terminated names. */
typedef struct {
    char **v;
    size_t n;
} fleet_names_t;

/* Appends a copy of s. Returns 0, or -1 when out of memory. */
int fleet_names_add(fleet_names_t *l, const char *s, size_t len);
void fleet_names_free(fleet_names_t *l);

/* The queues of the index (keys->queues) whose score is within the TTL
 * of now_ms (those with a live worker, or one that just stopped), in
 * name order, up to FLEET_MAX_QUEUES (*truncated set when there were
 * more: the most recent heartbeats are dropped). Names are not checked:
 * queue_keys_init does. Returns 0 (free out with fleet_names_free), or -1
 * with err set. */
int fleet_live_queues(redisContext *c, const queue_keys_t *keys,
                      int64_t now_ms, fleet_names_t *out, int *truncated,
                      char *err, size_t err_len);

/* What a fleet command looks at: the server's clock into *now_ms, and in
 * out the queue named (queue not NULL) or fleet_live_queues(). Returns 0
 * (free out), or -1 with err set. */
int fleet_targets(redisContext *c, const queue_keys_t *keys,
                  const char *queue, int64_t *now_ms, fleet_names_t *out,
                  int *truncated, char *err, size_t err_len);

/* The live workers of the queue of keys, at most max (<=
 * FLEET_MAX_WORKERS). A member whose record is gone is not live and not
 * listed; one whose record does not parse is listed with ok = 0. Returns
 * 0 (free f with fleet_free), or -1 with err set (f needs no freeing). */
int fleet_read(redisContext *c, const queue_keys_t *keys, int64_t now_ms,
               size_t max, fleet_t *f, char *err, size_t err_len);

void fleet_free(fleet_t *f);

/* How many readable live workers serve (job, version). */
size_t fleet_count_serving(const fleet_t *f, const char *job,
                           uint32_t version);

/* The versions of job the readable live workers serve, as text into out
 * (reset first): "v1", "v1..2, v4" (merged ranges, ascending), or "" if
 * none does. Returns 0, or -1 when out of memory. */
int fleet_served_versions(const fleet_t *f, const char *job, buf_t *out);

#endif
