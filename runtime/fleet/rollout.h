/*
 * rollout.h - where a staged rollout stands, per (job, payload schema
 * version) on one queue: how many live workers serve it and with which
 * builds (the fleet registry, fleet_view.h), and how many of its jobs are
 * queued (undelivered stream entries), delayed, parked (pending to the
 * group's pseudo-consumer parked:JOB:vN) or running (the live records'
 * counts). One job or every job. Every scan is bounded and says when it
 * was cut. Used by `jobrt rollout` and the dashboard (http/api.c); prints
 * nothing.
 */
#ifndef JOBRT_FLEET_ROLLOUT_H
#define JOBRT_FLEET_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "core/envelope.h"
#include "core/util.h"
#include "fleet/fleet_view.h"
#include "queue/keys.h"

#define ROLLOUT_SCAN_MAX 100000 /* stream entries, delayed members: default */
#define ROLLOUT_MAX_ROWS 1024   /* (job, version) rows kept */
#define ROLLOUT_WIDE_RANGE 64   /* a served range wider: only its ends */
#define ROLLOUT_MAX_BUILDS 16   /* builds named per row */

typedef struct {
    char job[ENVELOPE_MAX_NAME + 1];
    uint32_t v;
    size_t serving; /* readable live workers that serve it */
    unsigned long long queued, delayed, parked, running;
} rollout_row_t;

typedef struct {
    rollout_row_t r[ROLLOUT_MAX_ROWS]; /* by job, then version */
    size_t n;
    int full; /* a row was left out */
    int wide; /* a served range was shown by its ends */
    unsigned long long scan_max; /* the limit each scan had */
    unsigned long long scanned, delayed_scanned;
    int scan_cut, delayed_cut;
} rollout_table_t;

/* Fills t (caller-allocated; it is large) for job, or for every job when
 * job is NULL, on the queue of k through consumer group `group`, with
 * the live workers f (fleet_read) and scans of at most scan_max entries
 * each. Returns 0, or -1 with one line in err. */
int rollout_read(redisContext *c, const queue_keys_t *k, const char *group,
                 const char *job, const fleet_t *f,
                 unsigned long long scan_max, rollout_table_t *t, char *err,
                 size_t err_len);

/* The distinct builds serving (job, v), with how many workers run each, in
 * the order the workers are listed: text "src-a (2), src-b (1)" appended to
 * b (at most ROLLOUT_MAX_BUILDS named, then ", ... (N more workers)"), or,
 * when arr is not NULL, [{"build_id", "workers"}] added to arr. */
void rollout_builds(const fleet_t *f, const char *job, uint32_t v, buf_t *b,
                    cJSON *arr);

#endif
