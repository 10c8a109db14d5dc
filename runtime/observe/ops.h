/*
 * ops.h - what `jobrt run` tells operators about itself: the HTTP
 * endpoint (--http: /metrics, /healthz, /readyz, the dashboard and its
 * API), the health file (--health-file) and systemd's readiness and
 * watchdog (sd_notify). One per `jobrt run`, on the loop of the
 * supervisor, or of the single process with --workers 0; it reads the
 * worker boards it is given (supervise/board.h), never asks a worker.
 *
 * Readiness: ready while at least one worker process is (observe/
 * health.h), re-judged every OPS_TICK_MS; the health file and systemd
 * follow it. Redis reads (queue numbers for /metrics, the dashboard's
 * API) run on libuv's thread pool over one blocking connection of its
 * own, one request at a time, so a slow or lost Redis never blocks the
 * loop and never holds more than one pool thread; at most 16 requests
 * wait for it (more, or one that waited 2 s without starting, get 503),
 * and every /metrics waiting when a read completes is answered from it.
 * /healthz and /readyz never wait for Redis.
 */
#ifndef JOBRT_OPS_H
#define JOBRT_OPS_H

#include <stddef.h>
#include <uv.h>

#include "core/util.h"
#include "http/api.h"
#include "observe/metrics.h"
#include "queue/redis_target.h"
#include "supervise/board.h"

#define OPS_TICK_MS 250

typedef int (*ops_api_fn)(api_ctx_t *a, const char *method, const char *path,
                          const char *query, const char *body,
                          size_t body_len, buf_t *out);

typedef struct {
    const char *listen;      /* --http ADDR:PORT, or NULL for none */
    const char *token_file;  /* --http-token-file, or NULL */
    int public_read;         /* --http-public-read */
    const char *health_file; /* --health-file, or NULL */
    const redis_target_t *redis;
    const char *ns, *queue, *group;
    /* every queue the workers serve (queue is the first; the API works on
     * it); n_queues 0: queue alone */
    const char *const *queues;
    int n_queues;
    const char *mode;        /* "supervisor" or "single" (for the API) */
    ops_api_fn api;          /* the dashboard's API, or NULL (404) */
} ops_config_t;

/* Where the numbers come from. */
typedef struct {
    /* The live worker processes' boards (at most max), and each one's
     * number (1..K) in numbers; returns how many. */
    size_t (*boards)(void *arg, const board_t **v, int *numbers, size_t max);
    /* What worker processes that are gone had counted (NULL: none). */
    const metrics_sum_t *(*gone)(void *arg);
    /* Appends more /metrics lines (the supervisor's restarts); may be
     * NULL. */
    void (*more_metrics)(void *arg, buf_t *out);
    void *arg;
} ops_source_t;

typedef struct ops ops_t;

/* Starts what cfg asks for (possibly nothing but the systemd
 * notifications). Returns NULL with one line in err (naming the flag)
 * when --http cannot listen or the token file cannot be read. */
ops_t *ops_start(uv_loop_t *loop, const ops_config_t *cfg,
                 const ops_source_t *src, char *err, size_t err_len);
/* The port --http listens on (for ADDR:0), or -1. */
int ops_http_port(const ops_t *o);
/* The process is stopping: not ready from now on, health file removed,
 * STOPPING=1 to systemd. The endpoint keeps answering until ops_close. */
void ops_stopping(ops_t *o);
/* Closes the endpoint and timers; frees o once they are closed. */
void ops_close(ops_t *o);

#endif
