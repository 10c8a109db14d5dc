/*
 * sweep.h - which acknowledged stream entries this worker still has
 * to see removed from the stream.
 *
 * Deleting each entry with XDEL when it is acked costs Redis a walk of the
 * entry's listpack node, the largest part of a job's Redis CPU. Instead,
 * completions only XACK, and a periodic TRIM script cuts the stream below
 * the oldest entry any consumer group still has pending or not yet
 * delivered (XTRIM MINID), which frees whole nodes at once. This list
 * remembers the ids this worker acked until a trim passes them; an id that
 * a trim has not passed after a while (a long job pending ahead of it
 * holds the trim point back) is handed out to be deleted one by one, so
 * memory stays bounded whatever runs long. At most STREAM_SWEEP_MAX ids
 * are remembered; past that (trims failing for long), ids are left to
 * later cuts alone.
 *
 * Pure bookkeeping, no I/O; loop thread only.
 */
#ifndef JOBRT_STREAM_SWEEP_H
#define JOBRT_STREAM_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_SWEEP_MAX (1u << 20) /* 24 MiB of ids */

typedef struct {
    uint64_t ms, seq;
} stream_id_t;

typedef struct {
    stream_id_t id;
    uint32_t round; /* sweep round in which it was acked */
} sweep_entry_t;

typedef struct {
    sweep_entry_t *v;
    size_t n, cap;
    uint32_t round; /* bumped by each trim */
} stream_sweep_t;

/* Parses "<ms>-<seq>" (both decimal, no sign). 0 on success. */
int stream_id_parse(const char *s, size_t len, stream_id_t *out);
int stream_id_less(stream_id_t a, stream_id_t b);

/* Remembers an acked id. -1 (and nothing remembered) on a bad id, no
 * memory or STREAM_SWEEP_MAX ids held: the entry is then left to the
 * trims alone. */
int stream_sweep_add(stream_sweep_t *s, const char *id, size_t len);

/* A trim removed everything below `point`: forget those ids, and start a
 * new round. */
void stream_sweep_trimmed(stream_sweep_t *s, stream_id_t point);

/* Moves up to max ids that have waited at least `rounds` rounds into out
 * (formatted "<ms>-<seq>", NUL-terminated, `width` bytes each) and forgets
 * them. Returns how many. */
size_t stream_sweep_take_stale(stream_sweep_t *s, uint32_t rounds,
                               char *out, size_t width, size_t max);

size_t stream_sweep_count(const stream_sweep_t *s);
void stream_sweep_free(stream_sweep_t *s);

#endif
