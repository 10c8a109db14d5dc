/*
 * run_dir.c - the private run directory: creation and checks, the liveness
 * lock, the sweep of directories left by dead loaders, and unpredictable
 * names for private copies (see run_dir.h).
 */
#define _GNU_SOURCE
#include "plugin/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "plugin/trust.h"

#define RUN_DIR_PREFIX "jobrt-run-"

static const char *tmp_dir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* A directory we may keep private copies in: ours, and only ours. */
static int check_private(const struct stat *st, const char *path, char *err,
                         size_t err_len)
{
    if (!S_ISDIR(st->st_mode)) {
        snprintf(err, err_len, "run dir %s: refused: not a directory", path);
        return -1;
    }
    if (st->st_uid != geteuid()) {
        snprintf(err, err_len, "run dir %s: refused: owned by uid %u, not "
                 "by this worker's user (uid %u)", path,
                 (unsigned)st->st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        /* a shared sticky directory such as /tmp is never the run dir
         * itself, and must not be chmod-ed: suggest one inside it */
        if (st->st_mode & S_ISVTX)
            snprintf(err, err_len, "run dir %s: refused: a shared directory "
                     "(mode %04o); use one of this user's own inside it, "
                     "e.g. %s/jobrt-run (made 0700 when missing)", path,
                     (unsigned)(st->st_mode & 07777), path);
        else
            snprintf(err, err_len, "run dir %s: refused: writable by group "
                     "or others (mode %04o); fix with chmod go-w", path,
                     (unsigned)(st->st_mode & 07777));
        return -1;
    }
    return 0;
}

static int open_explicit(run_dir_t *rd, const char *path, char *err,
                         size_t err_len)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT || mkdir(path, 0700) != 0) {
            snprintf(err, err_len, "run dir %s: %s%s", path, strerror(errno),
                     errno == ENOENT ? " (it is made when missing, its "
                                       "parent directories are not)"
                                     : "");
            return -1;
        }
    } else if (S_ISLNK(st.st_mode)) {
        snprintf(err, err_len, "run dir %s: refused: it is a symlink", path);
        return -1;
    } else if (!S_ISDIR(st.st_mode)) {
        return check_private(&st, path, err, err_len);
    }
    rd->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rd->fd < 0) {
        snprintf(err, err_len, "run dir %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(rd->fd, &st) != 0) {
        snprintf(err, err_len, "run dir %s: %s", path, strerror(errno));
        return -1;
    }
    return check_private(&st, path, err, err_len);
}

static int open_fresh(run_dir_t *rd, char *err, size_t err_len)
{
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/" RUN_DIR_PREFIX "XXXXXX", tmp_dir());
    if (mkdtemp(tmpl) == NULL) { /* mkdtemp makes it 0700 */
        snprintf(err, err_len, "cannot create run dir %s: %s", tmpl,
                 strerror(errno));
        return -1;
    }
    rd->made = 1;
    rd->path = strdup(tmpl);
    rd->fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rd->path == NULL || rd->fd < 0 || flock(rd->fd, LOCK_EX | LOCK_NB)) {
        snprintf(err, err_len, "run dir %s: %s", tmpl,
                 rd->path ? strerror(errno) : "out of memory");
        if (rd->path == NULL)
            rmdir(tmpl);
        return -1;
    }
    return 0;
}

int run_dir_open(run_dir_t *rd, const char *explicit_path, char *err,
                 size_t err_len)
{
    memset(rd, 0, sizeof *rd);
    rd->fd = -1;
    int rc;
    if (explicit_path) {
        rd->path = strdup(explicit_path);
        rc = rd->path ? open_explicit(rd, explicit_path, err, err_len) : -1;
        if (rd->path == NULL)
            snprintf(err, err_len, "out of memory");
    } else {
        run_dir_sweep_stale(tmp_dir(), RUN_DIR_STALE_AFTER_S);
        rc = open_fresh(rd, err, err_len);
    }
    if (rc == 0) {
        /* Its parents too: whoever may rename a parent may swap the
         * directory between a copy's write and its dlopen. */
        plugin_dir_t pd;
        char why[512];
        if (plugin_dir_open(&pd, rd->path, 0, why, sizeof why) != 0) {
            snprintf(err, err_len, "run dir %s: refused: %s", rd->path, why);
            rc = -1;
        } else {
            plugin_dir_close(&pd);
        }
    }
    if (rc != 0)
        run_dir_close(rd);
    return rc;
}

/* Unlinks the regular files and symlinks in the directory dfd; leaves
 * anything else (so the rmdir that follows fails and nothing is lost). */
static void empty_dir(int dfd)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
            unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

void run_dir_close(run_dir_t *rd)
{
    if (rd->made && rd->path) {
        if (rd->fd >= 0)
            empty_dir(rd->fd);
        rmdir(rd->path); /* while we still hold the lock */
    }
    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->path);
    memset(rd, 0, sizeof *rd);
    rd->fd = -1;
}

/* One candidate of the sweep; returns 1 if it was removed. */
static int sweep_one(int tfd, const char *tmpdir, const char *name,
                     time_t now, int min_age_s)
{
    struct stat st, st2;
    if (fstatat(tfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        now - st.st_mtime < min_age_s)
        return 0;
    int dfd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                    O_CLOEXEC);
    if (dfd < 0)
        return 0;
    int removed = 0;
    /* same directory as checked, and no live loader holds it */
    if (fstat(dfd, &st2) == 0 && st2.st_ino == st.st_ino &&
        st2.st_dev == st.st_dev && st2.st_uid == geteuid() &&
        flock(dfd, LOCK_EX | LOCK_NB) == 0) {
        empty_dir(dfd);
        if (unlinkat(tfd, name, AT_REMOVEDIR) == 0) {
            LOGI("loader", "removed stale run dir %s/%s (its loader is "
                 "gone)", tmpdir, name);
            removed = 1;
        }
    }
    close(dfd);
    return removed;
}

int run_dir_sweep_stale(const char *tmpdir, int min_age_s)
{
    int tfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0)
        return 0;
    int fd = dup(tfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        close(tfd);
        return 0;
    }
    time_t now = time(NULL);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, RUN_DIR_PREFIX, strlen(RUN_DIR_PREFIX)) == 0)
            removed += sweep_one(tfd, tmpdir, e->d_name, now, min_age_s);
    closedir(d);
    close(tfd);
    return removed;
}

int run_dir_create_copy(const run_dir_t *rd, const char *base, char *path,
                        size_t path_len, char *why, size_t why_len)
{
    unsigned char rnd[16];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, why_len, "cannot name a private copy: getrandom: "
                     "%s", strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    char name[NAME_MAX + 1];
    int len = 0;
    for (size_t i = 0; i < sizeof rnd; i++)
        len += snprintf(name + len, sizeof name - (size_t)len, "%02x",
                        rnd[i]);
    snprintf(name + len, sizeof name - (size_t)len, "-%.200s", base);
    int fd = openat(rd->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                      O_CLOEXEC, 0700);
    if (fd < 0) {
        snprintf(why, why_len, "cannot create a private copy in %s: %s",
                 rd->path, strerror(errno));
        return -1;
    }
    snprintf(path, path_len, "%s/%s", rd->path, name);
    return fd;
}
