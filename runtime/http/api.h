/*
 * api.h - the dashboard's JSON API (/api/...), behind the HTTP endpoint of
 * `jobrt run` (http/server.h). Each request runs on a libuv pool thread
 * with a blocking Redis connection of its own, never on the loop; the
 * server has checked the token and cross-site rules before it calls in.
 */
#ifndef JOBRT_HTTP_API_H
#define JOBRT_HTTP_API_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "core/util.h"
#include "queue/keys.h"

typedef struct {
    redisContext *c;        /* connected; NULL while Redis is unreachable */
    const queue_keys_t *keys;
    const char *ns, *queue, *group;
    /* This process's own view, a JSON object (its worker processes, their
     * state, restarts, readiness), or NULL. */
    const char *local_json;
    size_t local_json_len;
    /* Every queue the workers serve (the first is queue/keys): a request
     * may pick one with the query parameter queue=NAME, which api_handle
     * takes off the query. n_queues 0: queue alone. */
    const char *const *queues;
    const queue_keys_t *queue_keys;
    size_t n_queues;
} api_ctx_t;

/* Serves method (GET or POST) on path (starting "/api/", no query) with
 * the raw query string (after '?', or "") and body, on the queue the
 * query's queue=NAME picks (404 for one not served), else the first. Writes a JSON body to
 * out and returns the HTTP status (404 for an unknown path, 405 for a
 * wrong method, 400 for a bad body, 503 when c is NULL). */
int api_handle(api_ctx_t *a, const char *method, const char *path,
               const char *query, const char *body, size_t body_len,
               buf_t *out);

#endif
