/*
 * schedule_ctl.h - reading and writing a queue's recurring jobs over a
 * blocking connection, for `jobrt schedule`: the definitions hash, the
 * due set and the fired counts (keys.h). The workers' side (firing) is
 * queue/schedule_tick.c. Prints nothing.
 */
#ifndef JOBRT_QUEUE_SCHEDULE_CTL_H
#define JOBRT_QUEUE_SCHEDULE_CTL_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "queue/keys.h"

/* One schedule as stored. */
typedef struct {
    char *name;        /* owned */
    char *def;         /* owned: the definition's JSON text */
    size_t def_len;
    int64_t due;       /* next fire time (ms), -1 if none */
    long long fired;   /* jobs enqueued so far */
    int64_t last_tick; /* the newest tick fired (ms), -1 if none */
} schedule_row_t;

void schedule_row_free(schedule_row_t *r);

/* Reads schedule name. Returns 1 (free *out with schedule_row_free), 0
 * when there is none, -1 with err set. */
int schedule_ctl_get(redisContext *c, const queue_keys_t *keys,
                     const char *name, schedule_row_t *out, char *err,
                     size_t err_len);

/* Every schedule of the queue, by name (at most SCHEDULE_MAX_PER_QUEUE).
 * Returns the count (free with schedule_rows_free), or -1 with err. */
long schedule_ctl_list(redisContext *c, const queue_keys_t *keys,
                       schedule_row_t **out, char *err, size_t err_len);
void schedule_rows_free(schedule_row_t *rows, long n);

/* How schedule_ctl_put sets the due time. */
#define SCHEDULE_DUE_KEEP (-2) /* leave it as it is */
#define SCHEDULE_DUE_NONE (-1) /* remove it: paused, or no next tick */

/* Writes definition def of name if the stored one still is old (NULL:
 * none), with due time due (ms, or SCHEDULE_DUE_KEEP/NONE). Returns 1
 * written, 0 it changed meanwhile (nothing written), -1 with err set
 * (also when the queue holds SCHEDULE_MAX_PER_QUEUE schedules). */
int schedule_ctl_put(redisContext *c, const queue_keys_t *keys,
                     const char *name, const char *old, const char *def,
                     int64_t due, char *err, size_t err_len);

/* Removes name. Returns 1 removed, 0 none, -1 with err set. */
int schedule_ctl_remove(redisContext *c, const queue_keys_t *keys,
                        const char *name, char *err, size_t err_len);

/* Puts the queue in the namespace's queue index (ZADD NX, score now) so
 * `jobrt schedule list` and `jobrt stats` find it before a worker runs.
 * Returns 0, or -1 with err set. */
int schedule_ctl_index_queue(redisContext *c, const queue_keys_t *keys,
                             const char *queue, int64_t now, char *err,
                             size_t err_len);

#endif
