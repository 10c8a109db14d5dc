/*
 * stats.h - one queue's numbers, read in one round trip over a blocking
 * connection: how many jobs wait, run, are parked, delayed or dead, and
 * how old the oldest waiting one is, whether it is paused, all by the Redis server's clock.
 * Used by `jobrt stats`, `jobrt top`, and the /metrics and dashboard
 * endpoint of `jobrt run`. Prints nothing.
 */
#ifndef JOBRT_QUEUE_STATS_H
#define JOBRT_QUEUE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "core/envelope.h"
#include "queue/keys.h"

/* Parked (job, version) pairs listed one by one, the largest first (by
 * count, then name); `parked` counts all. */
#define QUEUE_STATS_PARKED_PAIRS 64

/* Disabled jobs listed by name, the first in name order. */
#define QUEUE_STATS_DISABLED 16

typedef struct {
    char job[ENVELOPE_MAX_NAME + 1];
    uint32_t version;
    long long count;
} queue_parked_pair_t;

typedef struct {
    int64_t server_ms;          /* the Redis server's clock when read */
    long long length;           /* XLEN of the stream */
    long long waiting;          /* not yet delivered to any consumer; -1
                                   when Redis cannot tell (group lag nil) */
    long long pending;          /* delivered and not acknowledged */
    long long running;          /* pending to workers (not parked) */
    long long parked;           /* pending to parked:* pseudo-consumers */
    long long delayed;          /* ZCARD of the delayed set */
    long long dlq;              /* XLEN of the dead-letter stream */
    long long live_workers;     /* registry members within the TTL */
    int64_t oldest_waiting_ms;  /* age of the oldest waiting entry; -1 when
                                   nothing waits */
    int paused;                 /* `jobrt pause` holds the queue */
    char paused_json[512];      /* its record ({"at","by","reason"}, cut
                                   at 511 bytes), "" when not paused */
    long long disabled_total;   /* jobs `jobrt disable` holds */
    size_t n_disabled;          /* of them listed, in name order */
    char disabled[QUEUE_STATS_DISABLED][ENVELOPE_MAX_NAME + 1];
    size_t n_parked_pairs;
    queue_parked_pair_t parked_pairs[QUEUE_STATS_PARKED_PAIRS];
} queue_stats_t;

/* Splits the consumer name[0..len) "parked:<job>:v<N>" (the last ":v"
 * splits, as a job name may hold ':') into p's job and version (count
 * untouched). Returns 1, or 0 when it is not one: another prefix, a job
 * name envelope_valid_name refuses, a version that is not a number up to
 * ENVELOPE_MAX_VERSION. */
int queue_parse_parked_pair(const char *name, size_t len,
                            queue_parked_pair_t *p);

/* Reads keys' queue through consumer group `group`. A queue never used
 * (no stream) reads as all zeros; a stream without the group (jobs added
 * before any worker started) counts all its entries as waiting. Returns 0, or -1 with one
 * line naming the queue and Redis's error in err. */
int queue_stats_read(redisContext *c, const queue_keys_t *keys,
                     const char *group, queue_stats_t *out, char *err,
                     size_t err_len);

#endif
