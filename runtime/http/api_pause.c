/*
 * api_pause.c - the dashboard's pause and resume buttons:
 *   POST /api/queue/pause {"reason": "..."}  (reason optional)
 *   POST /api/queue/resume {}
 * on the dashboard's queue, with the code `jobrt pause/resume` runs
 * (queue/pause_ctl.h). Like every write, the server has checked the token
 * and the request's origin before this is called.
 */
#include <stdio.h>
#include <string.h>

#include "http/api_internal.h"
#include "queue/pause_ctl.h"

#define PAUSE_BODY_MAX 4096

/* {"paused": bool, "changed": bool, "previous": {...} or null} */
static int reply(buf_t *out, int paused, int changed, const char *prev)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "paused", paused);
    cJSON_AddBoolToObject(doc, "changed", changed);
    cJSON *p = prev[0] ? cJSON_Parse(prev) : NULL;
    cJSON_AddItemToObject(doc, "previous", p ? p : cJSON_CreateNull());
    return api_reply(out, doc, 200);
}

int api_pause_route(api_ctx_t *a, const char *method, const char *path,
                    const char *query, const char *body, size_t body_len,
                    buf_t *out)
{
    int pause = strcmp(path, "/pause") == 0;
    if (!pause && strcmp(path, "/resume") != 0)
        return api_error(out, 404, "no such API endpoint");
    if (strcmp(method, "POST") != 0)
        return api_error(out, 405, "/api/queue%s: only POST", path);
    if (*query)
        return api_error(out, 400, "/api/queue%s takes no query parameters",
                         path);
    if (body_len > PAUSE_BODY_MAX)
        return api_error(out, 413, "body longer than %d bytes",
                         PAUSE_BODY_MAX);
    cJSON *doc = body ? cJSON_ParseWithLength(body, body_len) : NULL;
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(doc, "reason");
    const char *why = NULL;
    if (!cJSON_IsObject(doc))
        why = "body: expected a JSON object";
    else if (!pause && doc->child)
        why = "body: resume takes no members ({})";
    else if (pause && doc->child &&
             (doc->child->next || !reason))
        why = "body: pause takes one optional member, \"reason\"";
    else if (reason && (!cJSON_IsString(reason) ||
                        !pause_reason_ok(reason->valuestring)))
        why = "reason: expected a string of at most 200 printable ASCII "
              "characters";
    if (why) {
        cJSON_Delete(doc);
        return api_error(out, 400, "%s", why);
    }
    if (a->c == NULL) {
        cJSON_Delete(doc);
        return api_error(out, 503, "Redis is not connected");
    }
    char prev[512], err[600];
    int rc = pause ? pause_ctl_set(a->c, a->keys, "dashboard",
                                   reason ? reason->valuestring : "", prev,
                                   sizeof prev, err, sizeof err)
                   : pause_ctl_clear(a->c, a->keys, prev, sizeof prev, err,
                                     sizeof err);
    cJSON_Delete(doc);
    if (rc < 0)
        return api_error(out, 502, "Redis: %s", err);
    /* pause: 1 set now, 0 paused already; resume: 1 resumed, 0 was not */
    return reply(out, pause ? 1 : 0, rc == 1, prev);
}
