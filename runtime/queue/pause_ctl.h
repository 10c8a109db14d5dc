/*
 * pause_ctl.h - setting and clearing a queue's pause over a blocking
 * connection, and disabling and enabling a job type on it: what `jobrt
 * pause/resume/disable/enable` and the dashboard's buttons share.
 * The workers' side (reading the flag) is queue/pause.c.
 */
#ifndef JOBRT_QUEUE_PAUSE_CTL_H
#define JOBRT_QUEUE_PAUSE_CTL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "queue/keys.h"

/* A pause reason is at most this many printable ASCII characters. */
#define PAUSE_REASON_MAX 200

/* Whether reason may be stored (printable ASCII, at most the limit). */
int pause_reason_ok(const char *reason);

/* Sets keys->paused to {"at": now ms, "by": by, "reason": reason} unless
 * the queue is paused already. Returns 1 paused now, 0 already paused
 * (prev holds that pause's JSON, cut to prev_len), -1 with err set. */
int pause_ctl_set(redisContext *c, const queue_keys_t *keys, const char *by,
                  const char *reason, char *prev, size_t prev_len, char *err,
                  size_t err_len);

/* Removes the pause. Returns 1 resumed (prev holds the pause it ended), 0
 * when the queue was not paused, -1 with err set. */
int pause_ctl_clear(redisContext *c, const queue_keys_t *keys, char *prev,
                    size_t prev_len, char *err, size_t err_len);

/* Disables job on the queue: HSETNX keys->disabled job {"at","by",
 * "reason"}. Returns 1 disabled now, 0 disabled already (prev: that
 * record, which stays), -1 with err set (also when the queue already has
 * QUEUE_DISABLED_MAX disabled jobs). */
int pause_ctl_disable(redisContext *c, const queue_keys_t *keys,
                      const char *job, const char *by, const char *reason,
                      char *prev, size_t prev_len, char *err,
                      size_t err_len);

/* Enables job again. Returns 1 enabled (prev: the record it removed), 0
 * when it was not disabled, -1 with err set. */
int pause_ctl_enable(redisContext *c, const queue_keys_t *keys,
                     const char *job, char *prev, size_t prev_len, char *err,
                     size_t err_len);

#endif
