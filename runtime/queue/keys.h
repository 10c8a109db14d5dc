/*
 * keys.h - the Redis key names of one queue. The queue name is the
 * hash tag, so every key of a queue lives in one cluster slot and a script
 * may touch them together:  <ns>:{<queue>}:stream, :dlq, :job:<id>,
 * :delayed, :seq, :cancelled, :idem:<key>.
 */
#ifndef JOBRT_QUEUE_KEYS_H
#define JOBRT_QUEUE_KEYS_H

#include <stddef.h>

typedef struct {
    char stream[512];
    char dlq[512];
    char job_prefix[512]; /* append the job id */
    char delayed[512];    /* sorted set of delayed jobs */
    char seq[512];        /* counter for scheduled-job tokens and ids */
    char cancelled[512];  /* sorted set: job id -> cancel time (ms) */
    char idem_prefix[512]; /* append an idempotency key */
} queue_keys_t;

/* Returns 0, or -1 with err set if the namespace or queue name is invalid
 * (1-128 characters of [A-Za-z0-9_.:/-]; no braces). */
int queue_keys_init(queue_keys_t *k, const char *ns, const char *queue,
                    char *err, size_t err_len);

#endif
