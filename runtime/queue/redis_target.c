/*
 * redis_target.c - parsing where Redis is and the credentials to log in
 * with; see redis_target.h. Error lines show the URL redacted, never the
 * password, and every copy of a password is wiped when freed.
 */
#include "queue/redis_target.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void redis_target_free(redis_target_t *t)
{
    free(t->host);
    free(t->path);
    free(t->user);
    free_secret(t->password);
    free(t->master_name);
    for (int i = 0; i < t->n_sentinels; i++)
        free(t->sentinel_host[i]);
    memset(t, 0, sizeof *t);
}

/* The last occurrence of "@/" in s, or NULL. */
static const char *last_at_slash(const char *s)
{
    const char *found = NULL;
    for (const char *p = strstr(s, "@/"); p; p = strstr(p + 1, "@/"))
        found = p;
    return found;
}

/* Where the userinfo of url is: [*start, *end) with url[*end] == '@'.
 * Returns 0 when the URL has none. It ends at the last '@' (so a password
 * with an unencoded '@' still parses), for unix:// at the last "@/" (the
 * socket path follows). `wide` (for redaction) takes the last '@' of a
 * unix:// URL when it has no "@/", so not even a malformed URL shows its
 * password. */
static int find_userinfo(const char *url, int wide, size_t *start,
                         size_t *end)
{
    const char *scheme_end = strstr(url, "://");
    const char *s = scheme_end ? scheme_end + 3 : url;
    const char *at;
    if (strncmp(url, "unix://", 7) == 0) {
        if (*s == '/')
            return 0;
        at = last_at_slash(s);
        if (at == NULL && wide)
            at = strrchr(s, '@');
    } else {
        at = strrchr(s, '@');
    }
    if (at == NULL)
        return 0;
    *start = (size_t)(s - url);
    *end = (size_t)(at - url);
    return 1;
}

void redis_url_redact(const char *url, char *out, size_t out_len)
{
    size_t start, end;
    if (!find_userinfo(url, 1, &start, &end)) {
        snprintf(out, out_len, "%s", url);
        return;
    }
    const char *colon = memchr(url + start, ':', end - start);
    size_t keep = colon ? (size_t)(colon - url) + 1 : start;
    snprintf(out, out_len, "%.*s***%s", (int)keep, url, url + end);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 3986 percent-decoding of s[0..len) into a new string. Returns 0, 1
 * for a bad or NUL escape, or -1 when out of memory. */
static int percent_decode(const char *s, size_t len, char **out)
{
    char *d = malloc(len + 1);
    if (d == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            d[n++] = s[i];
            continue;
        }
        int v = -1;
        if (i + 2 < len) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0)
                v = hi * 16 + lo;
        }
        if (v <= 0) { /* malformed, or %00 */
            explicit_bzero(d, n);
            free(d);
            return 1;
        }
        d[n++] = (char)v;
        i += 2;
    }
    d[n] = '\0';
    *out = d;
    return 0;
}

static int parse_db(const char *s, int *db)
{
    uint64_t v;
    if (util_parse_u64(s, strlen(s), 10000, &v) != 0)
        return -1;
    *db = (int)v;
    return 0;
}

/* Fills t->user and t->password from url[start, end). Returns 0, or -1
 * with err set. */
static int parse_userinfo(const char *url, size_t start, size_t end,
                          const char *shown, redis_target_t *t, char *err,
                          size_t err_len)
{
    const char *u = url + start;
    size_t len = end - start;
    const char *colon = memchr(u, ':', len);
    size_t ulen = colon ? (size_t)(colon - u) : 0;
    const char *pw = colon ? colon + 1 : u;
    size_t pwlen = len - (size_t)(pw - u);
    int rc = 0;
    if (ulen > 0)
        rc = percent_decode(u, ulen, &t->user);
    if (rc == 0 && pwlen > 0)
        rc = percent_decode(pw, pwlen, &t->password);
    if (rc == 0)
        return 0;
    if (rc < 0)
        snprintf(err, err_len, "out of memory");
    else
        snprintf(err, err_len, "redis URL '%s': bad percent-encoding in the "
                 "%s (write %%40 for '@', %%3A for ':', %%2F for '/', %%25 "
                 "for '%%')", shown,
                 t->user || ulen == 0 ? "password" : "user name");
    return -1;
}

/* host[:port] or [v6]:port into t. Returns 0, or -1 with err set. */
static int parse_hostport(const char *s, size_t len, const char *shown,
                          redis_target_t *t, char *err, size_t err_len)
{
    char hp[256];
    if (len == 0 || len >= sizeof hp) {
        snprintf(err, err_len, "redis URL '%s' has no host", shown);
        return -1;
    }
    memcpy(hp, s, len);
    hp[len] = '\0';
    char *host = hp, *port = NULL;
    if (hp[0] == '[') {
        char *close = strchr(hp, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':') ||
            close == hp + 1) {
            snprintf(err, err_len, "redis URL '%s' has a bad [IPv6] host",
                     shown);
            return -1;
        }
        *close = '\0';
        host = hp + 1;
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        char *colon = strrchr(hp, ':');
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
    }
    if (*host == '\0') {
        snprintf(err, err_len, "redis URL '%s' has no host", shown);
        return -1;
    }
    if (port) {
        uint64_t v;
        if (util_parse_u64(port, strlen(port), 65535, &v) != 0 || v == 0) {
            snprintf(err, err_len, "redis URL '%s' has a bad port", shown);
            return -1;
        }
        t->port = (int)v;
    }
    t->host = strdup(host);
    if (t->host == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

static void set_display(redis_target_t *t)
{
    char db[24] = "";
    const char *u = t->user ? t->user : "";
    const char *at = t->user ? "@" : "";
    if (t->path) {
        if (t->db)
            snprintf(db, sizeof db, "?db=%d", t->db);
        snprintf(t->display, sizeof t->display, "%.64s%sunix:%.200s%s", u, at,
                 t->path, db);
    } else {
        if (t->db)
            snprintf(db, sizeof db, "/%d", t->db);
        snprintf(t->display, sizeof t->display, "%.64s%s%.200s:%d%s", u, at,
                 t->host, t->port, db);
    }
}

static int parse_location(const char *url, const char *rest,
                          const char *shown, redis_target_t *t, char *err,
                          size_t err_len)
{
    if (strncmp(url, "unix://", 7) == 0) {
        const char *q = strchr(rest, '?');
        size_t plen = q ? (size_t)(q - rest) : strlen(rest);
        if (plen == 0 || rest[0] != '/') {
            snprintf(err, err_len, "redis URL '%s': unix:// needs an absolute "
                     "socket path (unix:///path/to/redis.sock)", shown);
            return -1;
        }
        if (q && (strncmp(q, "?db=", 4) != 0 || parse_db(q + 4, &t->db))) {
            snprintf(err, err_len, "redis URL '%s': expected ?db=N after the "
                     "socket path", shown);
            return -1;
        }
        t->path = strndup(rest, plen);
        if (t->path == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        return 0;
    }
    const char *slash = strchr(rest, '/');
    size_t hlen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (parse_hostport(rest, hlen, shown, t, err, err_len) != 0)
        return -1;
    if (slash && slash[1] && parse_db(slash + 1, &t->db) != 0) {
        snprintf(err, err_len, "redis URL '%s': the path must be a db number "
                 "0-10000", shown);
        return -1;
    }
    return 0;
}

int redis_target_parse(const char *url, redis_target_t *t, char *err,
                       size_t err_len)
{
    char shown[512];
    memset(t, 0, sizeof *t);
    t->port = 6379;
    redis_url_redact(url, shown, sizeof shown);
    size_t scheme;
    if (strncmp(url, "unix://", 7) == 0) {
        scheme = 7;
    } else if (strncmp(url, "redis://", 8) == 0) {
        scheme = 8;
    } else {
        snprintf(err, err_len, "redis URL '%s' must start with redis:// or "
                 "unix://", shown);
        return -1;
    }
    const char *rest = url + scheme;
    size_t start, end;
    if (find_userinfo(url, 0, &start, &end)) {
        if (parse_userinfo(url, start, end, shown, t, err, err_len) != 0) {
            redis_target_free(t);
            return -1;
        }
        rest = url + end + 1;
    }
    if (parse_location(url, rest, shown, t, err, err_len) != 0) {
        redis_target_free(t);
        return -1;
    }
    set_display(t);
    return 0;
}

int redis_password_read_file(const char *path, char **out, char *err,
                             size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "'%s': cannot open: %s", path,
                 strerror(errno));
        return -1;
    }
    char buf[REDIS_PASSWORD_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf, f);
    int read_err = ferror(f);
    fclose(f);
    int rc = -1;
    const char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) : n;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (read_err)
        snprintf(err, err_len, "'%s': cannot read", path);
    else if (len == 0)
        snprintf(err, err_len, "'%s' is empty: its first line must be the "
                 "password", path);
    else if (len > REDIS_PASSWORD_MAX)
        snprintf(err, err_len, "'%s': the first line is longer than %d "
                 "bytes", path, REDIS_PASSWORD_MAX);
    else if (memchr(buf, '\0', len))
        snprintf(err, err_len, "'%s': the password contains a NUL byte",
                 path);
    else if ((*out = strndup(buf, len)) == NULL)
        snprintf(err, err_len, "out of memory");
    else
        rc = 0;
    explicit_bzero(buf, sizeof buf);
    return rc;
}

int redis_target_resolve(const redis_target_spec_t *spec, redis_target_t *t,
                         char *err, size_t err_len)
{
    if (redis_target_parse(spec->url, t, err, err_len) != 0)
        return -1;
    const char *places[3];
    int n = 0;
    if (t->password)
        places[n++] = "the --redis URL";
    if (spec->password && *spec->password)
        places[n++] = spec->password_from ? spec->password_from
                                          : "JOBRT_REDIS_PASSWORD";
    if (spec->password_file)
        places[n++] = spec->password_file_from ? spec->password_file_from
                                               : "--redis-password-file";
    char shown[512];
    redis_url_redact(spec->url, shown, sizeof shown);
    if (n > 1) {
        snprintf(err, err_len, "the Redis password is given twice, in %s "
                 "and in %s: give it in one place", places[0], places[1]);
        redis_target_free(t);
        return -1;
    }
    if (spec->password_file) {
        char why[600];
        if (redis_password_read_file(spec->password_file, &t->password, why,
                                     sizeof why) != 0) {
            snprintf(err, err_len, "%s: %s", places[0], why);
            redis_target_free(t);
            return -1;
        }
    } else if (spec->password && *spec->password) {
        t->password = strdup(spec->password);
        if (t->password == NULL) {
            snprintf(err, err_len, "out of memory");
            redis_target_free(t);
            return -1;
        }
    }
    if (t->user && t->password == NULL) {
        snprintf(err, err_len, "redis URL '%s' names user '%s' but no "
                 "password: add it to the URL (user:password@), or use "
                 "JOBRT_REDIS_PASSWORD or --redis-password-file", shown,
                 t->user);
        redis_target_free(t);
        return -1;
    }
    return 0;
}

static int dup_field(char **dst, const char *src)
{
    if (src == NULL) {
        *dst = NULL;
        return 0;
    }
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int redis_target_copy(redis_target_t *dst, const redis_target_t *src)
{
    memset(dst, 0, sizeof *dst);
    dst->port = src->port;
    dst->db = src->db;
    dst->cluster = src->cluster;
    memcpy(dst->display, src->display, sizeof dst->display);
    if (dup_field(&dst->host, src->host) != 0 ||
        dup_field(&dst->path, src->path) != 0 ||
        dup_field(&dst->user, src->user) != 0 ||
        dup_field(&dst->password, src->password) != 0 ||
        dup_field(&dst->master_name, src->master_name) != 0) {
        redis_target_free(dst);
        return -1;
    }
    for (int i = 0; i < src->n_sentinels; i++) {
        if (dup_field(&dst->sentinel_host[i], src->sentinel_host[i]) != 0) {
            redis_target_free(dst);
            return -1;
        }
        dst->sentinel_port[i] = src->sentinel_port[i];
        dst->n_sentinels = i + 1;
    }
    return 0;
}
