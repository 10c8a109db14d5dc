/*
 * limits_ctl.h - reading and writing a queue's :limits hash over a
 * blocking connection: what `jobrt limit set|clear|list` does. The
 * workers' side (polling the hash, applying it) is queue/limits.c.
 */
#ifndef JOBRT_QUEUE_LIMITS_CTL_H
#define JOBRT_QUEUE_LIMITS_CTL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "core/envelope.h"
#include "core/limit_spec.h"
#include "queue/keys.h"

/* Merges name/value pairs (rate_per_s, burst, concurrency; value ""
 * removes it) into job's limits, or with n_pairs 0 clears them all
 * (SCRIPT_LIMIT_SET). old/now get the JSON before and after ("" for
 * none), cut to their lengths. Returns 1 changed, 0 unchanged, -1 with
 * err set. */
int limits_ctl_set(redisContext *c, const queue_keys_t *keys,
                   const char *job, const char *const *pairs, size_t n_pairs,
                   char *old, size_t old_len, char *now, size_t now_len,
                   char *err, size_t err_len);

typedef struct {
    char job[ENVELOPE_MAX_NAME + 1];
    char raw[LIMIT_JSON_MAX + 1]; /* as the hash holds it (cut) */
    limit_t l;
    int valid;          /* raw is a valid limit */
    long long running;  /* concurrency slots held now (unexpired) */
} limit_row_t;

/* The queue's limits, by job name, at most 1024 (free *rows). Returns
 * how many, or -1 with err set. */
long limits_ctl_list(redisContext *c, const queue_keys_t *keys,
                     limit_row_t **rows, char *err, size_t err_len);

#endif
