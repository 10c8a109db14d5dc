/*
 * sentinel.h - finding the primary through Redis Sentinel (--sentinel
 * HOST:PORT,... --master-name NAME): the list on the target, and one
 * lookup, `SENTINEL get-master-addr-by-name NAME`, asked of each Sentinel
 * in turn until one answers. Blocking, with a timeout per Sentinel: the
 * CLI calls it directly, a worker's connections from the libuv thread
 * pool (redis_conn.c), which also asks again every SENTINEL_CHECK_MS while
 * connected and reconnects when the answer changes, so a worker follows a
 * failover and stops writing to a demoted primary.
 */
#ifndef JOBRT_QUEUE_SENTINEL_H
#define JOBRT_QUEUE_SENTINEL_H

#include <stddef.h>

#include "queue/redis_target.h"

#define SENTINEL_MAX REDIS_SENTINEL_MAX /* Sentinels of one --sentinel */
#define SENTINEL_NAME_MAX 128     /* bytes of --master-name */
#define SENTINEL_TIMEOUT_MS 1000  /* connect and answer, per Sentinel */
#define SENTINEL_CHECK_MS 1000    /* a connected worker asks again */

/* Sets t's Sentinels from list ("host:port,host:port", at most
 * SENTINEL_MAX) and master name (1 to SENTINEL_NAME_MAX of [A-Za-z0-9._-])
 * and its display ("[user@]NAME via sentinel HOST:PORT[,...]"); t's own
 * host and port are then only the last answer. Returns 0, or -1 with err
 * naming the bad part. */
int sentinel_set(redis_target_t *t, const char *list, const char *name,
                 char *err, size_t err_len);

/* Asks t's Sentinels, in order, where the primary is: 0 with host and
 * *port set; -1 with err saying what each answered, and *config 1 when a
 * Sentinel answered that it knows no master of that name (retrying
 * cannot fix that; the others, if any, did not answer), else 0. */
int sentinel_lookup(const redis_target_t *t, char *host, size_t host_len,
                    int *port, int *config, char *err, size_t err_len);

#endif
