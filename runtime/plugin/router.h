/*
 * router.h - maps (job name, payload schema version) to the handler that
 * serves it. Routes are resolved at dispatch time, and resolving takes a
 * reference on the handler's plugin (its jobs-in-flight count), so a later
 * hot reload can swap one plugin's routes while its jobs still run and
 * unload it only when its count drops to zero.
 */
#ifndef JOBRT_ROUTER_H
#define JOBRT_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/plugin_set.h"

typedef enum {
    ROUTE_OK = 0,
    ROUTE_NO_HANDLER = 1,        /* no plugin serves this job name */
    ROUTE_SCHEMA_UNSUPPORTED = 2 /* the name is served, this version is not */
} route_status_t;

typedef struct router router_t;

/* Builds a route table over every handler in set. Returns NULL on OOM. */
router_t *router_create(const plugin_set_t *set);
void router_destroy(router_t *router);

/* Points the router at the handlers of set instead, in one step: lookups
 * after it return the new handlers; jobs that acquired an old one keep it
 * (and their reference) until they release it. Returns -1 on OOM (the old
 * table stays). */
int router_replace(router_t *router, const plugin_set_t *set);

/* Resolves a route and, on ROUTE_OK, takes a reference on the plugin that
 * must be given back with router_release(). Thread-safe. */
route_status_t router_acquire(router_t *router, const char *job, size_t len,
                              uint32_t version,
                              const plugin_handler_t **out);
void router_release(const plugin_handler_t *handler);

/* Writes the versions served for job as "v1..2, v5" into out (for errors
 * and listings). */
void router_describe_versions(router_t *router, const char *job, size_t len,
                              char *out, size_t out_len);

const char *route_status_reason(route_status_t st);

#endif
