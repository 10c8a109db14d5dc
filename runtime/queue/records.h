/*
 * records.h - where outcome records live and how a reader finds one
 * (docs/protocol.md, "Outcome records"). A dead or cancelled job's record
 * is a string key of its own, <ns>:{<queue>}:job:<id>, with the failure
 * TTL. A succeeded job's record goes, in a compact form (exec/outcome.h),
 * into the hash of the queue's record bucket for the time it was written:
 * <done>:<start>, start a multiple of the bucket width in seconds since
 * the epoch (the worker's clock); the bucket's build table <done>:<start>:builds holds the
 * build each record names once. The sorted set <done> lists the buckets,
 * scored by when each may go (start + width + the result TTL), and has
 * no TTL of its own: a worker that opens a new bucket UNLINKs those past
 * their time by the server's clock (freed off the main thread), and each
 * bucket key expires one width later anyway (a TTL set relative to when
 * the batch reaches Redis). So a record lives at least the result TTL and
 * at most about two widths more, and costs a hash field, not a key with
 * a TTL.
 */
#ifndef JOBRT_QUEUE_RECORDS_H
#define JOBRT_QUEUE_RECORDS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "queue/keys.h"

/* Most buckets a reader looks in (newest first). */
#define RECORDS_MAX_BUCKETS 4096

/* The bucket width for a result TTL: a 64th of it, at least 1 s (so a
 * queue has at most about 66 buckets, whatever the TTL). */
int64_t records_bucket_width_s(int64_t ttl_s);

/* The full JSON record of job id of queue (docs/protocol.md) from its
 * compact form and the JSON of the build it names (NULL or "" when the
 * build table has no entry for it), into out (reset first). 0, or -1 with
 * err set when compact is not a record of this form. */
int records_expand(const char *compact, size_t compact_len, const char *build,
                   size_t build_len, const char *id, const char *queue,
                   buf_t *out, char *err, size_t err_len);

/* Finds the record of job id: its own key (a dead or cancelled job, or
 * one recorded by an older jobrt) and the record buckets, newest first;
 * when both have one (a dead letter retried, an id used again), the one
 * that finished later. 1 found (*out malloc'd, NUL-terminated, the full JSON
 * record), 0 none, -1 error with err set. */
int records_get(redisContext *c, const queue_keys_t *k, const char *queue,
                const char *id, char **out, size_t *out_len, char *err,
                size_t err_len);

#endif
