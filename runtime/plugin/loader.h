/*
 * loader.h - finds plugin .so files, validates them and loads the good ones.
 *
 * Each file is opened once (trust.h: owner, mode, symlinks) and read whole
 * into memory; everything else works on that copy: the ELF structure
 * (elf_image.h), the SHA-256 that identifies the build, the descriptor's
 * integers (magic, ABI, sizes) read from the file, and the private copy
 * that is written to the run directory (run_dir.h), dlopen()ed
 * (RTLD_NOW|RTLD_LOCAL) and unlinked. A file refused up to here never runs
 * any code. dlopen() runs the plugin's ELF constructors; then the live
 * descriptor is checked field by field (descriptor.h) and init() is called,
 * the first plugin function the runtime itself calls. A rejection is one
 * line naming the reason; the remaining plugins still load. With the
 * probe on (loader_set_probe), the constructors and init() of each new
 * file first run in a short-lived child process, so one that crashes,
 * exits or hangs is a rejection too, not the end of this process.
 */
#ifndef JOBRT_LOADER_H
#define JOBRT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "plugin/descriptor.h"
#include "plugin/plugin_set.h"
#include "plugin/trust.h"

typedef struct loader loader_t;

/* Files larger than this are refused. */
#define LOADER_MAX_FILE_SIZE (256u << 20)

/* run_dir: where private copies go; NULL makes a fresh directory under
 * $TMPDIR (or /tmp), after removing those of loaders that died. On failure
 * returns NULL with a reason in err. */
loader_t *loader_create(const char *run_dir, const jobrt_host_api *host,
                        char *err, size_t err_len);
/* Removes the private directory if the loader made it. */
void loader_destroy(loader_t *loader);

/* --insecure-plugin-dir: owner/mode problems of plugin directories and
 * files become WARN lines instead of refusals. Logs one WARN line. */
void loader_set_insecure(loader_t *loader);

/* The probe (probe.h), off by default: with exe (a jobrt binary, see
 * probe_self_exe()) and timeout_ms > 0, every file this loader is about
 * to dlopen() is first loaded by `exe __probe` in a child process, which
 * runs its constructors, init() and fini() within timeout_ms; a crash, an
 * exit or a hang there rejects the file like any other check (one line,
 * the other plugins still load). A reload only loads new or changed files
 * (generations.h), so an unchanged one is not probed again. exe NULL or
 * timeout_ms <= 0 turns it off. exe is copied. Returns 0, or -1 when out
 * of memory (nothing changed). */
int loader_set_probe(loader_t *loader, const char *exe, int64_t timeout_ms);

/* Validates and loads the entry name of the opened plugin directory dir
 * into set (the function a reload uses for one file). Returns the plugin,
 * or NULL with a one-line reason (without the file name) in why. */
struct jobrt_plugin *loader_load_at(loader_t *loader, const plugin_dir_t *dir,
                                    const char *name, plugin_set_t *set,
                                    char *why, size_t why_len);

/* The same for one file named by path (its directory is checked too). */
struct jobrt_plugin *loader_load_file(loader_t *loader, const char *path,
                                      plugin_set_t *set, char *why,
                                      size_t why_len);

/* Opens and checks dir (trust.h) and lists its *.so entries, sorted, into
 * *names (free each and the array). Returns 0, or -1 with err set. */
int loader_open_dir(const loader_t *loader, const char *dir, plugin_dir_t *pd,
                    char ***names, size_t *n, char *err, size_t err_len);

/* The hex SHA-256 of the entry name of dir, read the way a load reads it
 * (so "unchanged" means the same bytes a load would take). Returns 0, or
 * -1 with why set. */
int loader_hash_at(const plugin_dir_t *dir, const char *name, char sha[65],
                   char *why, size_t why_len);

/* Unloads one generation that has no job in flight: fini(), dlclose(),
 * then checks that the library really left the address space (dlopen
 * RTLD_NOLOAD of its private copy's name, and /proc/self/maps). Frees p
 * either way. Returns 0, or -1 with why set if it is still mapped (a
 * leak: it stays mapped for the life of the process). */
int loader_unload(struct jobrt_plugin *p, char *why, size_t why_len);

/* What loader_trial() has got through, for the probe child's verdict. */
typedef enum {
    LOADER_STEP_DLOPEN, /* dlopen() returned: the constructors ran */
    LOADER_STEP_DESC    /* the live descriptor passed its checks */
} loader_step_t;
typedef void (*loader_step_fn)(void *arg, loader_step_t step);

/* The probe child's load (cmd_probe.c; never in a process that serves
 * jobs): the file at path, a private copy the loading process wrote and
 * checked, is read and its ELF and descriptor integers checked again, it
 * is dlopen()ed in place (RTLD_NOW|RTLD_LOCAL), its live descriptor is
 * checked as a load checks it (against no other plugin), and init() is
 * called with host. step is told each step it got through. Returns the
 * plugin, whose fini() the caller calls, or NULL with the loader's
 * one-line reason in why. Nothing is ever dlclose()d: the process exits. */
struct jobrt_plugin *loader_trial(const char *path, const jobrt_host_api *host,
                                  loader_step_fn step, void *arg, char *why,
                                  size_t why_len);

/* Called once for every file the scan looked at: plugin is NULL and why set
 * for a rejected file. */
typedef void (*loader_report_fn)(void *arg, const char *path,
                                 const struct jobrt_plugin *plugin,
                                 const char *why);

/* Loads every *.so in dir, in file-name order. Returns the number of
 * rejected files, or -1 with err set if dir cannot be read or trusted. */
int loader_scan_dir(loader_t *loader, const char *dir, plugin_set_t *set,
                    loader_report_fn report, void *arg, char *err,
                    size_t err_len);

#endif
