/*
 * sweep.c - acked-but-not-yet-trimmed stream ids; see the header.
 */
#include "queue/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int stream_id_parse(const char *s, size_t len, stream_id_t *out)
{
    const char *dash = memchr(s, '-', len);
    if (dash == NULL)
        return -1;
    size_t a = (size_t)(dash - s);
    if (util_parse_u64(s, a, UINT64_MAX, &out->ms) != 0 ||
        util_parse_u64(dash + 1, len - a - 1, UINT64_MAX, &out->seq) != 0)
        return -1;
    return 0;
}

int stream_id_less(stream_id_t a, stream_id_t b)
{
    return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq);
}

int stream_sweep_add(stream_sweep_t *s, const char *id, size_t len)
{
    stream_id_t sid;
    if (stream_id_parse(id, len, &sid) != 0)
        return -1;
    if (s->n >= STREAM_SWEEP_MAX)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        sweep_entry_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].id = sid;
    s->v[s->n].round = s->round;
    s->n++;
    return 0;
}

void stream_sweep_trimmed(stream_sweep_t *s, stream_id_t point)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!stream_id_less(s->v[i].id, point))
            s->v[kept++] = s->v[i];
    s->n = kept;
    s->round++;
}

size_t stream_sweep_take_stale(stream_sweep_t *s, uint32_t rounds,
                               char *out, size_t width, size_t max)
{
    size_t taken = 0, kept = 0;
    for (size_t i = 0; i < s->n; i++) {
        sweep_entry_t e = s->v[i];
        if (taken < max && s->round - e.round >= rounds) {
            snprintf(out + taken * width, width, "%llu-%llu",
                     (unsigned long long)e.id.ms,
                     (unsigned long long)e.id.seq);
            taken++;
        } else {
            s->v[kept++] = e;
        }
    }
    s->n = kept;
    return taken;
}

size_t stream_sweep_count(const stream_sweep_t *s) { return s->n; }

void stream_sweep_free(stream_sweep_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
