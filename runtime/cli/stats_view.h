/*
 * stats_view.h - what `jobrt stats` and `jobrt top` show: per queue the
 * numbers of queue/stats.h (one round trip each) and the queue's live
 * workers from the fleet registry, whose heartbeat records carry the
 * counters and settle rates summed here; rendered as a table, a workers
 * table, or the JSON document of `jobrt stats --json` (docs/inspecting.md).
 */
#ifndef JOBRT_CLI_STATS_VIEW_H
#define JOBRT_CLI_STATS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "cli/redis_opts.h"
#include "core/util.h"
#include "fleet/fleet_view.h"
#include "queue/stats.h"

typedef struct {
    char *queue;
    queue_stats_t s;
    fleet_t fleet;        /* its live workers */
    double rate;          /* jobs settled per second, summed over them */
    unsigned long long done, retried, dead; /* summed, since each started */
    size_t n_without_counters; /* live workers of an older jobrt */
    int64_t heartbeat_ms; /* its score in the index (the last heartbeat of
                             any of its workers); -1 when read by name */
} stats_queue_t;

typedef struct {
    int64_t now_ms; /* the Redis server's clock */
    stats_queue_t *q;
    size_t n;
    int truncated; /* the index names more queues than were read */
} stats_view_t;

#define STATS_MAX_QUEUES FLEET_MAX_QUEUES /* of the index, read at most */

/* Reads the queue named (not NULL) or every queue of the namespace's
 * index NS:queues, those without a live worker too (the
 * STATS_MAX_QUEUES most recently heard from), through consumer group
 * `group`. A queue name of the
 * index that is not valid is skipped with a note on stderr naming cmd.
 * Returns 0 (free v with stats_view_free), or -1 with err set. */
int stats_view_read(redisContext *c, const redis_cli_opts_t *ro,
                    const char *queue, const char *group, const char *cmd,
                    stats_view_t *v, char *err, size_t err_len);

void stats_view_free(stats_view_t *v);

/* The queue table, one row per queue (a header first). */
void stats_view_table(buf_t *b, const stats_view_t *v);

/* The workers table of every queue: consumer, host, pid, state, running
 * of concurrency, rate, plugins and builds; at most max_rows rows (then
 * one line saying how many more). */
void stats_view_workers(buf_t *b, const stats_view_t *v, size_t max_rows);

/* The --json document (docs/inspecting.md). NULL when out of memory. */
cJSON *stats_view_json(const stats_view_t *v);

/* "0.4s" under 10 s, else the two largest units: "2m 5s", "3d 4h". */
void stats_fmt_age(char *out, size_t n, int64_t ms);

#endif
