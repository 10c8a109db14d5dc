/*
 * trust.c - owner and mode checks of the plugin directory, its parents and
 * its files, and symlink containment (see trust.h).
 */
#define _GNU_SOURCE
#include "plugin/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

int trust_problem(const struct stat *st, uid_t euid, trust_kind_t kind,
                  char *reason, size_t reason_len, char *fix, size_t fix_len)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if (st->st_uid != 0 && st->st_uid != euid) {
        snprintf(reason, reason_len, "owned by uid %u, not by root or by "
                 "this worker's user (uid %u)", (unsigned)st->st_uid,
                 (unsigned)euid);
        snprintf(fix, fix_len, "chown");
        return 1;
    }
    int group = (st->st_mode & S_IWGRP) != 0;
    int other = (st->st_mode & S_IWOTH) != 0;
    if (!group && !other)
        return 0;
    /* only root can replace what a user made in a root-owned sticky
     * directory: /tmp as a parent is fine */
    if (kind == TRUST_PARENT && st->st_uid == 0 && (st->st_mode & S_ISVTX))
        return 0;
    snprintf(reason, reason_len, "writable by %s (mode %04o)",
             group && other ? "group and others" : group ? "group" : "others",
             mode);
    if (other && (st->st_mode & S_ISVTX) && S_ISDIR(st->st_mode) &&
        kind == TRUST_DIR)
        snprintf(fix, fix_len, "mkdir"); /* shared, like /tmp: never chmod */
    else
        snprintf(fix, fix_len, "chmod %s-w", group && other ? "go"
                                             : group        ? "g"
                                                            : "o");
    return 1;
}

/* Applies the rule to what st describes. path names it; label, if not
 * NULL, is how the reason introduces it ("/opt", "its target /x/a.so"). */
static int judge(const char *path, const char *label, const struct stat *st,
                 trust_kind_t kind, int insecure, char *why, size_t why_len)
{
    char reason[160], fix[32];
    if (!trust_problem(st, geteuid(), kind, reason, sizeof reason, fix,
                       sizeof fix))
        return 0;
    if (insecure) {
        LOGW("loader", "%s is %s: refused without --insecure-plugin-dir, "
             "loaded because it is set (development only)", path, reason);
        return 0;
    }
    /* a plugin file's own line already names it */
    if (strcmp(fix, "mkdir") == 0)
        return util_fail(why, why_len, "not trusted: %s%s%s, a shared "
                         "directory; put the plugins in a directory of "
                         "their own that only root or this user can write, "
                         "or run with --insecure-plugin-dir for development",
                         label ? label : "", label ? " is " : "", reason);
    return util_fail(why, why_len, "not trusted: %s%s%s; fix with %s%s%s, or "
                  "run with --insecure-plugin-dir for development",
                  label ? label : "", label ? " is " : "", reason, fix,
                  label ? " " : "", label ? path : "");
}

/* Opens the directory component name of at (no symlink followed), checks
 * it, and returns its descriptor; who is its path for messages. */
static int open_dir_at(int at, const char *name, const char *who,
                       trust_kind_t kind, int for_reading, int insecure,
                       char *why, size_t why_len)
{
    int flags = (for_reading ? O_RDONLY : O_PATH) | O_DIRECTORY |
                O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(at, name, flags);
    if (fd < 0)
        return util_fail(why, why_len, "%s: %s", who,
                         errno == ENOTDIR ? "not a directory"
                         : errno == ELOOP ? "became a symlink while it was "
                                            "checked"
                                          : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        util_fail(why, why_len, "%s: %s", who, strerror(errno));
        close(fd);
        return -1;
    }
    if (judge(who, who, &st, kind, insecure, why, why_len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Walks rel (components separated by '/') from the directory at, checking
 * every directory on the way as kind; returns the last one's descriptor
 * (O_RDONLY if for_reading). base is at's path, for messages. */
static int walk(int at, const char *base, const char *rel, trust_kind_t kind,
                int for_reading, int insecure, char *why, size_t why_len)
{
    char who[PATH_MAX], comp[NAME_MAX + 1];
    snprintf(who, sizeof who, "%s", base);
    int fd = dup(at);
    if (fd < 0)
        return util_fail(why, why_len, "%s: %s", base, strerror(errno));
    const char *p = rel;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n > NAME_MAX) {
            close(fd);
            return util_fail(why, why_len, "%s: name too long", who);
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        p += n;
        while (*p == '/')
            p++;
        size_t wl = strlen(who);
        snprintf(who + wl, sizeof who - wl, "%s%s",
                 wl && who[wl - 1] == '/' ? "" : "/", comp);
        int last = *p == '\0';
        int next = open_dir_at(fd, comp, who, last ? kind : TRUST_PARENT,
                               last && for_reading, insecure, why, why_len);
        close(fd);
        if (next < 0)
            return -1;
        fd = next;
    }
    return fd;
}

int plugin_dir_open(plugin_dir_t *d, const char *path, int insecure,
                    char *why, size_t why_len)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    d->insecure = insecure;
    why[0] = '\0';
    d->real = realpath(path, NULL);
    if (d->real == NULL)
        return util_fail(why, why_len, "%s", strerror(errno));
    d->path = strdup(path);
    if (d->path == NULL) {
        plugin_dir_close(d);
        return util_fail(why, why_len, "out of memory");
    }
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (root < 0 || fstat(root, &st) != 0) {
        util_fail(why, why_len, "/: %s", strerror(errno));
        if (root >= 0)
            close(root);
        plugin_dir_close(d);
        return -1;
    }
    int is_root = strcmp(d->real, "/") == 0;
    if (judge("/", "/", &st, is_root ? TRUST_DIR : TRUST_PARENT, insecure,
              why, why_len) != 0) {
        close(root);
        plugin_dir_close(d);
        return -1;
    }
    d->fd = is_root ? open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    : walk(root, "/", d->real + 1, TRUST_DIR, 1, insecure,
                           why, why_len);
    close(root);
    if (d->fd < 0) {
        if (why[0] == '\0')
            util_fail(why, why_len, "%s", strerror(errno));
        plugin_dir_close(d);
        return -1;
    }
    return 0;
}

void plugin_dir_close(plugin_dir_t *d)
{
    if (d->fd >= 0)
        close(d->fd);
    free(d->path);
    free(d->real);
    d->fd = -1;
    d->path = d->real = NULL;
}

/* name is a symlink: open its target if it resolves inside d. */
static int open_link_target(const plugin_dir_t *d, const char *name,
                            char *target, size_t target_len, char *why,
                            size_t why_len)
{
    char link[PATH_MAX];
    size_t rl = strlen(d->real);
    int is_root = rl == 1;
    snprintf(link, sizeof link, "%s/%s", is_root ? "" : d->real, name);
    char *t = realpath(link, NULL);
    if (t == NULL)
        return util_fail(why, why_len, "symlink whose target cannot be "
                      "resolved: %s", strerror(errno));
    snprintf(target, target_len, "%s", t);
    int inside = is_root || (strncmp(t, d->real, rl) == 0 && t[rl] == '/');
    free(t);
    if (!inside)
        return util_fail(why, why_len, "symlink to %s, which is outside the "
                      "plugin directory: refused", target);
    const char *rel = target + (is_root ? 1 : rl + 1);
    const char *slash = strrchr(rel, '/');
    int at = d->fd, sub = -1;
    if (slash) {
        char dirs[PATH_MAX];
        snprintf(dirs, sizeof dirs, "%.*s", (int)(slash - rel), rel);
        sub = walk(d->fd, d->real, dirs, TRUST_DIR, 0, d->insecure, why,
                   why_len);
        if (sub < 0)
            return -1;
        at = sub;
    }
    int fd = openat(at, slash ? slash + 1 : rel,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int err = errno;
    if (sub >= 0)
        close(sub);
    if (fd < 0)
        return util_fail(why, why_len, "cannot open symlink target %s: %s",
                      target, strerror(err));
    return fd;
}

int plugin_dir_open_file(const plugin_dir_t *d, const char *name,
                         struct stat *st, char *why, size_t why_len)
{
    char target[PATH_MAX] = "";
    why[0] = '\0';
    /* O_NONBLOCK: a FIFO named *.so must not hang the open */
    int fd = openat(d->fd, name,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP)
        fd = open_link_target(d, name, target, sizeof target, why, why_len);
    else if (fd < 0)
        return util_fail(why, why_len, "cannot open: %s", strerror(errno));
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0) {
        util_fail(why, why_len, "cannot stat: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return util_fail(why, why_len, "not a regular file");
    }
    char path[PATH_MAX], label[PATH_MAX + 16];
    if (target[0]) {
        snprintf(path, sizeof path, "%s", target);
        snprintf(label, sizeof label, "its target %s", target);
    } else {
        size_t dl = strlen(d->path);
        snprintf(path, sizeof path, "%s%s%s", d->path,
                 dl && d->path[dl - 1] == '/' ? "" : "/", name);
    }
    if (judge(path, target[0] ? label : NULL, st, TRUST_FILE, d->insecure,
              why, why_len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
