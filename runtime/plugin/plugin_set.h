/*
 * plugin_set.h - what a loaded plugin is, inside the runtime. One
 * jobrt_plugin object holds all state of one loaded .so (handle, copied
 * descriptor, handlers, context, jobs in flight), so a later hot reload can
 * retire a whole plugin generation at once. A plugin_set is the list of live
 * plugins the loader produced and the router indexes.
 */
#ifndef JOBRT_PLUGIN_SET_H
#define JOBRT_PLUGIN_SET_H

#include <stdatomic.h>
#include <stdint.h>

#include "jobrt/plugin.h"

typedef struct plugin_handler {
    char *job_name;
    uint32_t schema_min, schema_max;
    jobrt_handler_fn run;
    uint32_t timeout_ms;   /* 0 = runtime default */
    uint32_t max_attempts; /* 0 = runtime default */
    uint32_t backoff_base_ms, backoff_cap_ms; /* 0 = runtime default */
    struct jobrt_plugin *plugin;
} plugin_handler_t;

struct jobrt_plugin {
    char *file;      /* the install path, for messages */
    char *name;      /* copied out of the descriptor */
    char *version;
    char *build_id;
    char sha256[65]; /* hex SHA-256 of the file as it was loaded */
    uint16_t abi_major, abi_minor;
    void *dl;        /* dlopen handle of the private copy */
    void (*fini)(void *ctx);
    void *ctx;       /* what init() stored */
    plugin_handler_t *handlers;
    uint32_t n_handlers;
    atomic_uint inflight; /* jobs running in this plugin right now */
    struct jobrt_plugin *next;
};

typedef struct {
    struct jobrt_plugin *head; /* in load order */
    unsigned count;
} plugin_set_t;

/* Calls fini() and dlclose()s every plugin, then empties the set. Only when
 * no job is in flight. */
void plugin_set_unload_all(plugin_set_t *set);

#endif
