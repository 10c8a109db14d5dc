/*
 * rate_window.c - a rate from a sampled cumulative counter; see
 * rate_window.h.
 */
#include "core/rate_window.h"

void rate_window_add(rate_window_t *r, int64_t now_ms,
                     unsigned long long total)
{
    if (r->n > 0) {
        size_t newest = (r->head + RATE_WINDOW_SLOTS - 1) % RATE_WINDOW_SLOTS;
        if (now_ms - r->at_ms[newest] < RATE_WINDOW_GAP_MS)
            return; /* an extra heartbeat (after a reload): skip it */
    }
    r->at_ms[r->head] = now_ms;
    r->count[r->head] = total;
    r->head = (r->head + 1) % RATE_WINDOW_SLOTS;
    if (r->n < RATE_WINDOW_SLOTS)
        r->n++;
}

double rate_window_per_sec(const rate_window_t *r)
{
    if (r->n < 2)
        return 0;
    size_t newest = (r->head + RATE_WINDOW_SLOTS - 1) % RATE_WINDOW_SLOTS;
    size_t oldest = newest;
    for (size_t k = 1; k < r->n; k++) {
        size_t i = (newest + RATE_WINDOW_SLOTS - k) % RATE_WINDOW_SLOTS;
        if (r->at_ms[newest] - r->at_ms[i] > RATE_WINDOW_MS)
            break;
        oldest = i;
    }
    int64_t span = r->at_ms[newest] - r->at_ms[oldest];
    if (span <= 0 || r->count[newest] < r->count[oldest])
        return 0;
    return (double)(r->count[newest] - r->count[oldest]) * 1000.0 /
           (double)span;
}
