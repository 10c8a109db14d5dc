/*
 * redis_target.h - where Redis is and how to log in: the URL of --redis
 * (user and password included), the password from JOBRT_REDIS_PASSWORD or
 * a file, and the forms safe to print. The password is never copied into
 * an error message or a display string.
 */
#ifndef JOBRT_REDIS_TARGET_H
#define JOBRT_REDIS_TARGET_H

#include <stddef.h>

#define REDIS_PASSWORD_MAX 4096 /* bytes of a password file's first line */
#define REDIS_SENTINEL_MAX 16   /* Sentinels of one --sentinel list */

typedef struct {
    char *host;     /* NULL when path is set */
    int port;
    char *path;     /* unix socket */
    int db;
    char *user;     /* NULL: AUTH password (the default user) */
    char *password; /* NULL: no AUTH */
    char display[320]; /* for log lines: [user@]host:port[/db], no password */
    /* --sentinel (queue/sentinel.h): the primary is asked of these; host
     * and port are then the URL's, unused. n_sentinels 0: none. */
    char *master_name;
    char *sentinel_host[REDIS_SENTINEL_MAX];
    int sentinel_port[REDIS_SENTINEL_MAX];
    int n_sentinels;
    /* --cluster (queue/cluster.h): host:port is one node of a Redis
     * Cluster, asked where each slot is served; db is 0. */
    int cluster;
} redis_target_t;

/* Where the password may come from besides the URL; every field may be
 * NULL. The *_from strings name the source for error lines ("--redis-
 * password-file", "environment JOBRT_REDIS_PASSWORD_FILE"). */
typedef struct {
    const char *url;
    const char *password;      /* the password itself */
    const char *password_from;
    const char *password_file; /* a file whose first line is the password */
    const char *password_file_from;
} redis_target_spec_t;

/* redis://[[user]:password@]host[:port][/db] or
 * unix://[[user]:password@]/path/to.sock[?db=N]. A userinfo without ':' is
 * a password (as redis-cli reads it); user and password are
 * percent-decoded (%40 is '@', %3A ':', %2F '/'). Returns 0, or -1 with
 * err set (showing the URL with its password replaced by ***). */
int redis_target_parse(const char *url, redis_target_t *t, char *err,
                       size_t err_len);

/* Parses spec->url and adds the password from the other sources. A
 * password given in two places, an unreadable or empty file, or a user
 * without a password is an error naming the places. Returns 0, or -1 with
 * err set; t needs redis_target_free() only after success. */
int redis_target_resolve(const redis_target_spec_t *spec, redis_target_t *t,
                         char *err, size_t err_len);

/* The first line of path, without its line end, in a new string. Returns
 * 0, or -1 with err set (missing, unreadable, empty, longer than
 * REDIS_PASSWORD_MAX). */
int redis_password_read_file(const char *path, char **out, char *err,
                             size_t err_len);

/* url with the password part of its userinfo replaced by "***". */
void redis_url_redact(const char *url, char *out, size_t out_len);

/* A deep copy. Returns 0, or -1 when out of memory (dst is then empty). */
int redis_target_copy(redis_target_t *dst, const redis_target_t *src);

/* Frees the strings and wipes the password's bytes. */
void redis_target_free(redis_target_t *t);

#endif
