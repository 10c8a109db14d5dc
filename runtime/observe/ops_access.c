/*
 * ops_access.c - the access rules of the operations endpoint; see
 * ops_access.h.
 */
#include "observe/ops_access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

int ops_access_read_token(ops_access_t *o, const char *path, char *err,
                          size_t err_len)
{
    /* O_NONBLOCK: a FIFO must not hang the start */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, err_len, "--http-token-file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "--http-token-file %s: not a regular file",
                 path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 077)
        LOGW("ops", "--http-token-file %s can be read by group or others "
             "(mode %03o); chmod 600 it", path, (unsigned)(st.st_mode & 0777));
    char buf[OPS_TOKEN_MAX + 2];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, err_len, "--http-token-file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    if (len > OPS_TOKEN_MAX || (len == (size_t)n && n > OPS_TOKEN_MAX)) {
        snprintf(err, err_len, "--http-token-file %s: the token (first line) "
                 "is longer than %d bytes", path, OPS_TOKEN_MAX);
        return -1;
    }
    if (len < 16) {
        snprintf(err, err_len, "--http-token-file %s: the token (first line) "
                 "must be at least 16 characters", path);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f) {
            snprintf(err, err_len, "--http-token-file %s: the token must be "
                     "printable ASCII without spaces", path);
            return -1;
        }
    memcpy(o->token, buf, len);
    o->token[len] = '\0';
    o->token_len = len;
    return 0;
}

/* Constant-time comparison of the Bearer token. */
int ops_access_token_ok(const ops_access_t *o, const char *authorization)
{
    if (o->token_len == 0 || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *t = authorization + 7;
    size_t n = strlen(t);
    unsigned char diff = n != o->token_len;
    for (size_t i = 0; i < o->token_len; i++)
        diff |= (unsigned char)(o->token[i] ^ (i < n ? t[i] : 0));
    return diff == 0;
}

/* An Origin, when a browser sent one, must be this endpoint's own. */
int ops_access_same_origin(const http_request_t *r)
{
    if (r->sec_fetch_site[0] && strcmp(r->sec_fetch_site, "same-origin") &&
        strcmp(r->sec_fetch_site, "none"))
        return 0;
    if (r->origin[0] == '\0')
        return 1;
    const char *o = r->origin;
    if (strncmp(o, "http://", 7) == 0)
        o += 7;
    else
        return 0;
    return r->host[0] && strcmp(o, r->host) == 0;
}

/* The Host header names this machine's loopback: "localhost",
 * 127.0.0.0/8 or [::1], with or without a port (or there is none, as in
 * HTTP/1.0). */
static int host_is_local_name(const char *host)
{
    char h[64];
    size_t n;
    if (host[0] == '\0')
        return 1;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return 0;
        n = (size_t)(end - host - 1);
        host++;
    } else {
        n = strcspn(host, ":");
    }
    if (n == 0 || n >= sizeof h)
        return 0;
    memcpy(h, host, n);
    h[n] = '\0';
    return strcasecmp(h, "localhost") == 0 || http_addr_is_loopback(h);
}

/* Reads are open on a loopback endpoint, but only to requests addressed
 * to loopback: a web page whose name an attacker points at 127.0.0.1
 * (DNS rebinding) reaches the endpoint as its own origin, with its own
 * name in Host. */
int ops_access_may_read(const ops_access_t *o, const http_request_t *r)
{
    if (o->public_read || ops_access_token_ok(o, r->authorization))
        return 1;
    return o->loopback_only && host_is_local_name(r->host);
}

/* Content-Type is application/json, with parameters or not. */
int ops_access_is_json(const char *content_type)
{
    static const char json[] = "application/json";
    if (strncasecmp(content_type, json, sizeof json - 1) != 0)
        return 0;
    char next = content_type[sizeof json - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

