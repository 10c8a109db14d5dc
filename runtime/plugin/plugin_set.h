/*
 * plugin_set.h - what a loaded plugin is, inside the runtime. One
 * jobrt_plugin object is one *generation*: one load of one plugin file
 * (handle, copied descriptor, handlers, context, jobs in flight). A reload
 * loads a changed file as a new generation, swaps the routes to it and
 * retires the old one, which is unloaded when its last job returns
 * (reload.h). A plugin_set is a list of generations: the active ones the
 * router indexes, or the retired ones still draining.
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
    unsigned long long generation; /* 1 = first load of this file; +1 per
                                      reload that replaced it */
    char *copy_path; /* the private copy (unlinked once mapped), by which
                        the unload check finds a mapping left behind */
    char pin_reason[192]; /* non-empty: the ELF says dlclose() cannot unmap
                             it (why); a new build needs a restart */
    int leaving;     /* a reload is replacing or removing it: its claims
                        do not conflict with the new generation's */
    uint16_t abi_major, abi_minor;
    void *dl;        /* dlopen handle of the private copy */
    void (*fini)(void *ctx);
    void *ctx;       /* what init() stored */
    plugin_handler_t *handlers;
    uint32_t n_handlers;
    atomic_uint inflight; /* jobs running in this plugin right now */
    struct jobrt_plugin *next;
};

typedef struct plugin_set {
    struct jobrt_plugin *head; /* in load order */
    unsigned count;
    /* Another set whose claims count too when a plugin is loaded into this
     * one (a reload stages new generations beside the active ones), or
     * NULL. */
    const struct plugin_set *also;
} plugin_set_t;

/* Calls fini() and dlclose()s every plugin, then empties the set. Only when
 * no job is in flight (for one-shot commands; a worker unloads generation
 * by generation, generations.h). */
void plugin_set_unload_all(plugin_set_t *set);

#endif
