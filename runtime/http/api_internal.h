/*
 * api_internal.h - what the dashboard API's files (api.c: routing, JSON
 * helpers and /api/overview; api_running.c: the overview's jobs in
 * flight; api_dlq.c: the /api/dlq endpoints) share.
 * Not for other modules: they use api.h.
 */
#ifndef JOBRT_HTTP_API_INTERNAL_H
#define JOBRT_HTTP_API_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "fleet/fleet_view.h"
#include "http/api.h"

#define API_ERROR_CUT 200   /* characters of a handler error in a summary */
#define API_MAX_VALUE (1024 * 1024) /* bytes of one field shown by show */
#define API_MAX_IDS 1000    /* ids of one retry or purge */
#define API_MAX_BODY (128 * 1024) /* bytes of a POST body */
#define API_DLQ_PAGE_MAX 500 /* entries of one /api/dlq page */
#define API_DLQ_PAGE_DEFAULT 50
#define API_FAILURES 20     /* newest dead letters in the overview */
#define API_OVERVIEW_CACHE_MS 5000 /* an overview's Redis part is reused */
#define API_RUNNING_MAX 100 /* jobs in flight listed in the overview */

/* {"error": "<one line>"} into out (reset first); returns status. */
int api_error(buf_t *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints doc into out (reset first) and deletes it; returns status, or
 * 500 when out of memory. */
int api_reply(buf_t *out, cJSON *doc, int status);

/* p[0..n) as a JSON string (api_str_item), or added to obj as member
 * name (api_add_str), valid UTF-8 whatever the bytes: each byte that is
 * not part of a valid UTF-8 sequence, and NUL, becomes U+FFFD. With
 * max > 0 the text is cut to at most max bytes (on a sequence boundary)
 * and "..." is appended. Returns the item or NULL. */
cJSON *api_str_item(const char *p, size_t n, size_t max);
cJSON *api_add_str(cJSON *obj, const char *name, const char *p, size_t n,
                   size_t max);
/* The same for a reply element, adding JSON null when v is NULL. */
cJSON *api_add_reply(cJSON *obj, const char *name, const redisReply *v,
                     size_t max);

/* One dead letter's summary object: entry, id, job, v (a number, or null
 * when absent or not one), reason, attempt (a number; 1 when absent, as
 * `jobrt dlq list` shows), error (cut), worker, at (dlq_at in ms, or
 * null). */
cJSON *api_dlq_summary(const redisReply *e);

/* Adds "running" (the jobs in flight on f's workers as their records list
 * them, oldest first, at most API_RUNNING_MAX, each {"id","job",
 * "version","attempt","worker","state" ("running", or "waiting" for a
 * limit: started_ms 0),"started_ms","progress"}, progress null or
 * {"percent","message","at_ms"}), "running_omitted" and, when the
 * progress could not be read, "running_progress_error" to doc
 * (api_running.c). Returns 0, or -1 with a line in err (out of memory). */
int api_running_add(api_ctx_t *a, const fleet_t *f, cJSON *doc, char *err,
                    size_t err_len);

/* Forgets the cached overview (a DLQ write, tests). */
void api_overview_cache_clear(void);

/* POST /api/queue/pause and /resume; path is the part after "/api/queue"
 * (api_pause.c). */
int api_pause_route(api_ctx_t *a, const char *method, const char *path,
                    const char *query, const char *body, size_t body_len,
                    buf_t *out);

/* The /api/dlq endpoints; path is the part after "/api/dlq" ("", or
 * "/<id>", "/retry", "/purge"). */
int api_dlq_route(api_ctx_t *a, const char *method, const char *path,
                  const char *query, const char *body, size_t body_len,
                  buf_t *out);

#endif
