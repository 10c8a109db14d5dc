/*
 * watch.h - `run --watch`: inotify on the plugin directory, so installing
 * a build is enough to deploy it. A settled change (a file renamed in or
 * out, a file closed after writing, a file deleted) starts a debounce
 * timer, and so does a chmod or chown (which may fix a file a reload
 * refused as untrusted); when it fires the callback asks for a reload. A
 * *.so that is open
 * for writing (created or modified, not yet closed) is "busy" and a reload
 * leaves it alone, so a half-written file is never loaded; the close that
 * ends the write triggers the reload that picks it up.
 *
 * Runs on the loop thread.
 */
#ifndef JOBRT_WATCH_H
#define JOBRT_WATCH_H

#include <stddef.h>
#include <uv.h>

typedef struct plugin_watch plugin_watch_t;

typedef void (*plugin_watch_fn)(void *arg);

#define PLUGIN_WATCH_DEBOUNCE_MS 250

/* Starts watching dir. Returns NULL with err set if inotify cannot watch
 * it. */
plugin_watch_t *plugin_watch_start(uv_loop_t *loop, const char *dir,
                                   plugin_watch_fn fn, void *arg, char *err,
                                   size_t err_len);

/* Whether the entry name is being written (for generations_reload's skip
 * argument; w is a plugin_watch_t *, may be NULL). */
int plugin_watch_busy(void *w, const char *name);

/* Copies the names being written now into names (at most max, each
 * PLUGIN_WATCH_NAME_MAX bytes); returns how many. A reload staged on
 * another thread checks the copy, not the live set. */
#define PLUGIN_WATCH_NAME_MAX 256
size_t plugin_watch_busy_names(const plugin_watch_t *w,
                               char (*names)[PLUGIN_WATCH_NAME_MAX],
                               size_t max);

/* Stops watching; frees w once its handles are closed. */
void plugin_watch_stop(plugin_watch_t *w);

#endif
