/*
 * loader.h - finds plugin .so files, validates them and loads the good ones.
 *
 * Every file is copied to a private run directory and the copy is dlopen()ed
 * (RTLD_NOW|RTLD_LOCAL) and then unlinked, so a later install over the same
 * path can never alias or corrupt a mapped plugin. The exported descriptor
 * is validated field by field before init(), the first plugin code the
 * runtime calls (constructors aside). A rejection is one line naming the
 * file and the reason; the remaining plugins still load.
 */
#ifndef JOBRT_LOADER_H
#define JOBRT_LOADER_H

#include <stddef.h>

#include "plugin/plugin_set.h"

typedef struct loader loader_t;

/* run_dir: where private copies go; NULL makes a fresh directory under
 * $TMPDIR (or /tmp). On failure returns NULL with a reason in err. */
loader_t *loader_create(const char *run_dir, const jobrt_host_api *host,
                        char *err, size_t err_len);
/* Removes the private directory if the loader made it. */
void loader_destroy(loader_t *loader);

/* Validates and loads one file into set. Returns the plugin, or NULL with a
 * one-line reason (without the file name) in why. */
struct jobrt_plugin *loader_load_file(loader_t *loader, const char *path,
                                      plugin_set_t *set, char *why,
                                      size_t why_len);

/* Called once for every file the scan looked at: plugin is NULL and why set
 * for a rejected file. */
typedef void (*loader_report_fn)(void *arg, const char *path,
                                 const struct jobrt_plugin *plugin,
                                 const char *why);

/* Loads every *.so in dir, in file-name order. Returns the number of
 * rejected files, or -1 with err set if dir cannot be read. */
int loader_scan_dir(loader_t *loader, const char *dir, plugin_set_t *set,
                    loader_report_fn report, void *arg, char *err,
                    size_t err_len);

/* The descriptor checks alone, on sym_size bytes at sym (no dlopen, no
 * plugin code): magic, size, ABI version, fields, handler table, conflicts
 * with set. Fills p's copies and d. Returns 0, or -1 with why set. Exposed
 * for tests and the fuzzer. */
int loader_check_descriptor(const void *sym, size_t sym_size,
                            const plugin_set_t *set, struct jobrt_plugin *p,
                            jobrt_plugin_desc *d, char *why, size_t why_len);
/* Frees what loader_check_descriptor copied into p, and p. */
void loader_free_plugin(struct jobrt_plugin *p);

#endif
