/*
 * rate_window.h - a rate from a cumulative counter sampled now and then
 * (the worker samples its settled-job count at each heartbeat, about once
 * a second, on the loop thread): the count's growth per second between
 * the oldest and the newest of the samples taken within the window. No
 * clock of its own: the caller passes the time (uv_now, no syscall).
 */
#ifndef JOBRT_RATE_WINDOW_H
#define JOBRT_RATE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define RATE_WINDOW_MS 10000 /* the span a rate covers, about */
#define RATE_WINDOW_GAP_MS 500 /* samples closer than this are skipped */
#define RATE_WINDOW_SLOTS (RATE_WINDOW_MS / RATE_WINDOW_GAP_MS + 1)

typedef struct {
    int64_t at_ms[RATE_WINDOW_SLOTS];
    unsigned long long count[RATE_WINDOW_SLOTS];
    size_t head, n; /* head: the next slot written */
} rate_window_t;

/* Records that the counter was total at now_ms (monotonic, not going
 * back). A zeroed rate_window_t is empty and ready. */
void rate_window_add(rate_window_t *r, int64_t now_ms,
                     unsigned long long total);

/* Per second over the samples at most RATE_WINDOW_MS older than the
 * newest; 0 with fewer than two such samples. */
double rate_window_per_sec(const rate_window_t *r);

#endif
