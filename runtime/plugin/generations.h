/*
 * generations.h - the plugins a worker serves, as generations, and the
 * reload that replaces them (drain-then-swap).
 *
 * Each load of a plugin file is a generation. A reload looks at every
 * *.so of the plugin directory: a file whose bytes are unchanged (same
 * SHA-256) stays as it is; a new or changed one is staged as a new
 * generation through every loader check and its init(); a file that is
 * gone is removed. Then, in one step, the router is pointed at the new set
 * (router_replace): a job dispatched after that runs on the new generation,
 * one already running finishes on the old. The old generations are
 * retired, and generations_reap() unloads each when its last job has
 * returned (fini, dlclose, and a check that it left the address space;
 * a generation that did not is counted as leaked).
 *
 * A rejected new build changes nothing: the old generation keeps serving.
 * A plugin whose ELF says dlclose() cannot unmap it (pin_reason) is served,
 * but a reload never replaces or removes it: that needs a restart.
 *
 * Threads: one thread (the worker's loop) owns g and calls everything but
 * the two parts that run plugin code or touch files, which may run on a
 * helper thread while the loop goes on dispatching: generations_stage()
 * (at most one at a time, and only the loop's commit or discard after it)
 * and generations_unload() of generations taken with
 * generations_take_drained(). The executor threads only take and release
 * references through the router.
 */
#ifndef JOBRT_GENERATIONS_H
#define JOBRT_GENERATIONS_H

#include <stddef.h>

#include "plugin/loader.h"
#include "plugin/plugin_set.h"
#include "plugin/router.h"

typedef enum {
    GEN_LOADED,    /* a new file: its first generation */
    GEN_RELOADED,  /* a changed file: a new generation replaced the old */
    GEN_REMOVED,   /* the file is gone: its generation drains and unloads */
    GEN_UNCHANGED, /* same bytes as the generation serving it */
    GEN_REJECTED,  /* the new build failed a check or init(); see reason */
    GEN_REFUSED    /* the serving generation cannot be unloaded */
} gen_change_kind_t;

typedef struct {
    gen_change_kind_t kind;
    char file[512];
    char plugin[160];      /* "" when the file never got that far */
    char from_build[96];   /* the replaced generation's label, or "" */
    char to_build[96];     /* the new generation's label, or "" */
    unsigned long long generation; /* the new one, else the serving one */
    char reason[640];      /* rejected/refused: why; else "" */
    const struct jobrt_plugin *gen; /* loaded/reloaded: the new generation,
                                       valid until the next reload */
} gen_change_t;

typedef struct {
    gen_change_t *items;
    size_t n, cap;
} gen_changes_t;

void gen_changes_free(gen_changes_t *c);
const char *gen_change_name(gen_change_kind_t kind);

/* Whether the entry name is being written right now (watch.h): a reload
 * leaves such a file as it is. */
typedef int (*gen_skip_fn)(void *arg, const char *name);

typedef struct {
    loader_t *loader; /* not owned */
    char *dir;
    plugin_set_t active;  /* what the router serves, in load order */
    plugin_set_t retired; /* replaced or removed, draining */
    plugin_set_t staged;  /* loaded by a stage, not yet committed */
    router_t *router;
    unsigned long long seq; /* the last generation number given out */
    /* reloads after the first load, those with a rejected or refused
     * file, generations unloaded and verified gone, and leaked */
    unsigned long long reloads, reload_failures, unloaded, leaked;
    size_t stage_from;              /* the stage's first change in out */
    unsigned long long stage_first; /* its first generation number */
    int stage_removed;              /* it marked a gone file leaving */
} generations_t;

generations_t *generations_create(loader_t *loader, const char *dir);

/* Loads what changed in the directory and swaps the router to it; the
 * first call loads everything. Appends one change per file looked at (and
 * per removed file) to out. Returns 0, or -1 with err set when the
 * directory cannot be opened or read (then nothing changed). */
int generations_reload(generations_t *g, gen_skip_fn skip, void *skip_arg,
                       gen_changes_t *out, char *err, size_t err_len);

/* generations_reload() in two steps. The stage looks at the directory
 * and loads what is new or changed (every check, init()) into g->staged,
 * marking what it replaces or removes as leaving; it changes nothing the
 * router or the loop reads. Returns 0, or -1 with err set when the
 * directory cannot be read (nothing was staged). Then, on the loop
 * thread, either the commit (the swap; -1 with err only when the very
 * first route table cannot be built) or the discard (the staged
 * generations are unloaded, nothing changes). */
int generations_stage(generations_t *g, gen_skip_fn skip, void *skip_arg,
                      gen_changes_t *out, char *err, size_t err_len);
int generations_commit(generations_t *g, gen_changes_t *out, char *err,
                       size_t err_len);
void generations_discard(generations_t *g);

/* Unloads every retired generation with no job in flight and logs what
 * happened to it. Returns how many are still draining. */
size_t generations_reap(generations_t *g);

/* generations_reap() in three steps: detach the drained generations (a
 * list through ->next; loop thread), unload each (any thread; what gets a
 * description for the log, why the reason if it leaked; returns 0 if it
 * is verified gone), and count and log each result (loop thread). */
struct jobrt_plugin *generations_take_drained(generations_t *g);
int generations_unload(struct jobrt_plugin *p, char *what, size_t what_len,
                       char *why, size_t why_len);
void generations_unloaded(generations_t *g, int rc, const char *what,
                          const char *why);

/* Jobs in flight in any generation, active or retired. */
unsigned generations_inflight(const generations_t *g);

/* "src-1a2b3c4d5e6f", or "sha256:<12 hex>" when the build id does not
 * tell builds apart ("", "dev", "unstamped"). */
const char *generation_label(const struct jobrt_plugin *p, char *buf,
                             size_t len);

/* Unloads everything if no job is in flight (else leaves it mapped) and
 * frees g. */
void generations_destroy(generations_t *g);

#endif
