/*
 * run_dir.h - the loader's private run directory, where each plugin is
 * written as an unpredictably named copy that is dlopen()ed and unlinked.
 *
 * The default one is a fresh jobrt-run-XXXXXX in $TMPDIR (or /tmp), mode
 * 0700, held with flock(LOCK_EX) for as long as the loader lives: that
 * lock is how a later start tells a dead loader's directory from a live
 * one without trusting pids, and run_dir_sweep_stale() removes the dead
 * ones. An explicit --run-dir is created 0700 if missing; if it exists it
 * must be a real directory (not a symlink) owned by this user and not
 * writable by group or others. It is never locked or removed.
 */
#ifndef JOBRT_RUN_DIR_H
#define JOBRT_RUN_DIR_H

#include <stddef.h>

typedef struct {
    char *path;
    int fd;   /* the open directory (holding the lock if made) */
    int made; /* created in $TMPDIR by us: locked, removed at close */
} run_dir_t;

/* Seconds a jobrt-run-* directory must have been left untouched before a
 * sweep may take it (a new loader locks its own at once). */
#define RUN_DIR_STALE_AFTER_S 10

/* explicit_path NULL: sweep stale ones, then make a fresh one in $TMPDIR.
 * Returns 0, or -1 with a one-line reason (naming the path) in err. */
int run_dir_open(run_dir_t *rd, const char *explicit_path, char *err,
                 size_t err_len);
/* Removes a directory we made (and any copy left in it); closes it. */
void run_dir_close(run_dir_t *rd);

/* Removes the jobrt-run-* directories in tmpdir that are ours (this euid),
 * real directories, untouched for min_age_s seconds and not locked by a
 * live loader: their regular files, then the directory. Logs one line per
 * directory removed. Returns how many were removed. */
int run_dir_sweep_stale(const char *tmpdir, int min_age_s);

/* Creates a new private copy named <random hex>-<base> in rd, mode 0700,
 * refusing to follow or reuse anything already there. Returns its open
 * descriptor (for writing) and its path, or -1 with why set. */
int run_dir_create_copy(const run_dir_t *rd, const char *base, char *path,
                        size_t path_len, char *why, size_t why_len);

#endif
