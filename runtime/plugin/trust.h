/*
 * trust.h - whether the worker may run the code in a plugin directory:
 * anyone who can write a plugin file, its directory or a parent of it can
 * run code as the worker. The rule is OpenSSH's and sudo's for their
 * configuration files: the directory, every parent up to / and every file
 * must be owned by root or by the worker's effective user and not be
 * writable by group or others; a root-owned sticky parent (like /tmp) is
 * fine. A symlink in the directory is followed only if it resolves inside
 * it. Paths are opened component by component without following symlinks,
 * so what is checked is what is read.
 *
 * With insecure set (--insecure-plugin-dir, for development) an owner or
 * mode problem is a WARN line naming the path instead of a refusal; the
 * other checks stay.
 */
#ifndef JOBRT_TRUST_H
#define JOBRT_TRUST_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum {
    TRUST_FILE,   /* a plugin file */
    TRUST_DIR,    /* the plugin directory, or a directory inside it */
    TRUST_PARENT  /* a parent of the plugin directory */
} trust_kind_t;

/* The owner/mode rule for st as seen by euid. Returns 0 if trusted, else
 * 1 with what is wrong in reason ("writable by group (mode 0664)") and the
 * command that fixes it in fix ("chmod g-w"; "mkdir" for a shared sticky
 * directory such as /tmp, which is to hold the plugins, not be them). */
int trust_problem(const struct stat *st, uid_t euid, trust_kind_t kind,
                  char *reason, size_t reason_len, char *fix,
                  size_t fix_len);

typedef struct {
    int fd;       /* the directory, opened for reading */
    char *path;   /* as the caller named it */
    char *real;   /* absolute, symlinks resolved */
    int insecure;
} plugin_dir_t;

/* Opens path and checks it and its parents. Returns 0, or -1 with a
 * one-line reason in why (without the path the caller gave). */
int plugin_dir_open(plugin_dir_t *dir, const char *path, int insecure,
                    char *why, size_t why_len);
void plugin_dir_close(plugin_dir_t *dir);

/* Opens the entry name of dir for reading: a regular file, or a symlink
 * whose target resolves inside dir, that passes the owner/mode rule. On
 * success returns the descriptor and fills st; else -1 with why set. */
int plugin_dir_open_file(const plugin_dir_t *dir, const char *name,
                         struct stat *st, char *why, size_t why_len);

#endif
