/*
 * registry.h - the fleet registry's two documents, as JSON: the heartbeat
 * record each worker keeps in Redis (who it is and what it serves, under
 * NS:{QUEUE}:worker:CONSUMER with a TTL, indexed by NS:{QUEUE}:workers)
 * and a worker's answer to one `jobrt reload` request (a field of the hash
 * NS:{QUEUE}:reload:ID). The worker builds them; the command line parses
 * them, as untrusted input with size limits (`jobrt workers`, `rollout`,
 * `reload`, and the served check of `enqueue`). Pure code: fleet_view.h reads
 * them from Redis.
 */
#ifndef JOBRT_REGISTRY_H
#define JOBRT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "plugin/plugin_set.h"
#include "queue/keys.h"

/* A worker writes its record every FLEET_HEARTBEAT_MS with a TTL of
 * FLEET_WORKER_TTL_MS (queue/keys.h); it is live while its zset score is
 * at least the Redis server's time minus the TTL and the record exists. */

#define REGISTRY_RECORD_VERSION 1 /* "v" of both documents */
/* Limits of what the parsers accept. */
#define REGISTRY_MAX_RECORD (256 * 1024) /* bytes of one document */
#define REGISTRY_MAX_STR 4096            /* bytes of one string value */
#define REGISTRY_MAX_ITEMS 4096 /* entries of one list (plugins, serves of
                                   all plugins, draining, running, changes) */

/* ---- the heartbeat record ------------------------------------------------ */

/* Jobs in flight for one (job, version). */
typedef struct {
    const char *job;
    uint32_t version;
    unsigned count;
} registry_running_t;

/* One job in flight, for `jobrt status`: a worker lists at most
 * REGISTRY_MAX_JOBS, and stops at REGISTRY_JOBS_BYTES of JSON (the rest
 * of its `inflight` are counted in "jobs_omitted"): the record is
 * written every second and read by every stats, top and dashboard poll,
 * so it stays small at any concurrency. started_ms: when the worker
 * handed it to a handler thread (wall clock ms). */
#define REGISTRY_MAX_JOBS 64
#define REGISTRY_JOBS_BYTES (64 * 1024)
typedef struct {
    const char *id, *stream_id, *job;
    uint32_t version, attempt, deliveries;
    int64_t started_ms;
} registry_job_t;

/* What the worker says about itself. */
typedef struct {
    const char *consumer, *host, *ns, *queue;
    const char *state; /* "running" | "draining" */
    int pid;
    int64_t started_ms;
    int concurrency;
    size_t inflight;
    unsigned long long reloads, reload_failures, generations_leaked;
    long long park_ttl_ms; /* --park-ttl: 0 = unserved jobs dead-letter */
    const registry_running_t *running; /* jobs in flight by (job, version) */
    size_t n_running;
    /* Since the worker started: jobs succeeded, retried (requeued for
     * another attempt) and dead-lettered; rate: jobs settled per second
     * over about the last 10 s. */
    unsigned long long done, retried, dead;
    double rate;
    const registry_job_t *jobs; /* jobs in flight, one by one (at most */
    size_t n_jobs;              /* REGISTRY_MAX_JOBS are listed) */
} registry_self_t;

/* The record as JSON into out (reset first):
 * {"v":1,"consumer","host","pid","ns","queue","state","started_ms",
 *  "concurrency","inflight","reloads","reload_failures",
 *  "generations_leaked","park_ttl_ms",
 *  "plugins":[{"name","version","build_id","sha256","file","generation",
 *              "pinned" (the reason, or ""),
 *              "serves":[{"job","min","max"}]}],
 *  "draining":[{"name","build_id","generation","inflight"}],
 *  "running":[{"job","version","count"}],
 *  "done","retried","dead","rate" (a number, 2 decimals),
 *  "jobs":[{"id","stream_id","job","v","attempt","deliveries",
 *           "started_ms"}],"jobs_omitted"}
 * active: the generations the routes point at; retired: the ones still
 * draining (either may be NULL). Returns 0, or -1 when out of memory. */
int registry_build_record(buf_t *out, const registry_self_t *self,
                          const plugin_set_t *active,
                          const plugin_set_t *retired);

/* A parsed record. Strings point into the parsed document and live until
 * registry_record_free(); every one is present (maybe ""). */
typedef struct {
    const char *job;
    uint32_t min, max;
} registry_serve_t;

typedef struct {
    const char *name, *version, *build_id, *sha256, *file;
    const char *pinned; /* "" unless a reload needs a restart: why */
    unsigned long long generation;
    const registry_serve_t *serves; /* into registry_record_t.serves */
    size_t n_serves;
} registry_plugin_t;

typedef struct {
    const char *name, *build_id;
    unsigned long long generation, inflight;
} registry_draining_t;

typedef struct {
    struct cJSON *doc; /* owns the strings */
    const char *consumer, *host, *ns, *queue, *state;
    long long pid, concurrency;
    int64_t started_ms;
    unsigned long long inflight, reloads, reload_failures, generations_leaked;
    unsigned long long park_ttl_ms; /* valid if has_park_ttl */
    int has_park_ttl;
    registry_plugin_t *plugins;
    size_t n_plugins;
    registry_serve_t *serves; /* every plugin's, in plugin order */
    size_t n_serves;
    registry_draining_t *draining;
    size_t n_draining;
    registry_running_t *running;
    size_t n_running;
    /* From workers of this version on (has_counters); older records read
     * as 0 and no jobs. */
    int has_counters;
    unsigned long long done, retried, dead, jobs_omitted;
    double rate;
    registry_job_t *jobs;
    size_t n_jobs;
} registry_record_t;

/* Parses one record of len bytes (not NUL-terminated). Refuses, with a
 * one-line reason in why: more than REGISTRY_MAX_RECORD bytes, not JSON,
 * "v" other than 1, a missing required member (v, consumer, host, pid,
 * queue, state, plugins) or any member of the wrong type or out of range,
 * a string longer than REGISTRY_MAX_STR, a list longer than
 * REGISTRY_MAX_ITEMS, a serves range with min > max. Unknown members are
 * ignored (a newer worker may add some). Returns 0 (free r with
 * registry_record_free), or -1 (r needs no freeing). */
int registry_parse_record(const char *json, size_t len, registry_record_t *r,
                          char *why, size_t why_len);

void registry_record_free(registry_record_t *r);

/* 1 if one of the record's active plugins serves (job, version). */
int registry_serves(const registry_record_t *r, const char *job,
                    uint32_t version);

/* The plugin of the record that serves (job, version), or NULL. */
const registry_plugin_t *registry_server_of(const registry_record_t *r,
                                            const char *job,
                                            uint32_t version);

/* How many jobs the record says are running for (job, version). */
unsigned long long registry_running_count(const registry_record_t *r,
                                          const char *job, uint32_t version);

/* ---- a reload outcome ---------------------------------------------------- */

/* One file's fate in a reload. NULL strings are left out of the JSON;
 * parsed, absent ones are NULL. generation 0 is left out too. */
typedef struct {
    const char *file, *plugin;
    const char *action; /* loaded | reloaded | removed | unchanged |
                           rejected | refused */
    const char *from_build, *to_build, *reason;
    unsigned long long generation;
} registry_change_t;

/* {"v":1,"consumer","host","pid","status","changes":[{"file","plugin",
 *  "action","from_build","to_build","generation","reason"}]} into out
 * (reset first). status: reloaded | unchanged | rejected | partial.
 * Returns 0, or -1 when out of memory. */
int registry_build_reload_outcome(buf_t *out, const char *consumer,
                                  const char *host, int pid,
                                  const char *status,
                                  const registry_change_t *changes, size_t n);

typedef struct {
    struct cJSON *doc;
    const char *consumer, *host, *status;
    long long pid;
    registry_change_t *changes;
    size_t n_changes;
} registry_outcome_t;

/* Parses one outcome, with the limits and rules of registry_parse_record
 * (required: v, consumer, status, changes; status one of the four). An
 * unknown action is kept as it is. Returns 0 (free o with
 * registry_outcome_free), or -1 with a reason in why. */
int registry_parse_reload_outcome(const char *json, size_t len,
                                  registry_outcome_t *o, char *why,
                                  size_t why_len);

void registry_outcome_free(registry_outcome_t *o);

/* 1 if the change failed: action rejected or refused. */
int registry_change_failed(const registry_change_t *c);

#endif
