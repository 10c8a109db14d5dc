/*
 * sentinel.c - the --sentinel list and one lookup of the primary; see
 * sentinel.h. Every answer is untrusted: a host is at most 255 bytes of
 * printable characters, a port 1 to 65535.
 */
#include "queue/sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SENTINEL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

/* "1".."65535" -> the port, else 0. */
static int parse_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return 0;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : 0;
}

static int valid_host(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ',')
            return 0;
    return 1;
}

int sentinel_set(redis_target_t *t, const char *list, const char *name,
                 char *err, size_t err_len)
{
    if (name == NULL || !valid_name(name)) {
        snprintf(err, err_len, "--master-name: expected 1-%d of "
                 "[A-Za-z0-9._-] (the name the Sentinels monitor), got "
                 "'%.140s'", SENTINEL_NAME_MAX, name ? name : "");
        return -1;
    }
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        int port = colon ? parse_port(colon + 1, n - (size_t)(colon + 1 - p))
                         : 0;
        if (colon == NULL || port == 0 || !valid_host(p, (size_t)(colon - p))) {
            snprintf(err, err_len, "--sentinel: expected HOST:PORT[,HOST:PORT"
                     "...], got '%.*s' in '%.200s'", (int)(n > 100 ? 100 : n),
                     p, list);
            return -1;
        }
        if (t->n_sentinels == SENTINEL_MAX) {
            snprintf(err, err_len, "--sentinel: at most %d Sentinels",
                     SENTINEL_MAX);
            return -1;
        }
        char *host = strndup(p, (size_t)(colon - p));
        if (host == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        t->sentinel_host[t->n_sentinels] = host;
        t->sentinel_port[t->n_sentinels++] = port;
        p = end ? end + 1 : p + n;
        if (end && *p == '\0') {
            snprintf(err, err_len, "--sentinel: '%.200s' ends with ','",
                     list);
            return -1;
        }
    }
    if (t->n_sentinels == 0) {
        snprintf(err, err_len, "--sentinel: expected HOST:PORT[,HOST:PORT...]");
        return -1;
    }
    if ((t->master_name = strdup(name)) == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    const char *u = t->user ? t->user : "";
    snprintf(t->display, sizeof t->display, "%.64s%s%s via sentinel "
             "%.100s:%d%s", u, t->user ? "@" : "", name, t->sentinel_host[0],
             t->sentinel_port[0], t->n_sentinels > 1 ? ",..." : "");
    return 0;
}

/* One Sentinel's answer: 0 with host and port, 1 when it knows no such
 * master, -1 otherwise; why says what happened. */
static int ask_one(const char *s_host, int s_port, const char *name,
                   char *host, size_t host_len, int *port, char *why,
                   size_t why_len)
{
    struct timeval tv = {SENTINEL_TIMEOUT_MS / 1000,
                         (SENTINEL_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(s_host, s_port, tv);
    if (c == NULL || c->err) {
        snprintf(why, why_len, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
                                 name);
    int rc = -1;
    if (r == NULL) {
        snprintf(why, why_len, "%s", c->errstr[0] ? c->errstr : "no reply");
    } else if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, why_len, "knows no master named %s", name);
        rc = 1;
    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, why_len, "%.200s", r->str);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_STRING ||
               r->element[1]->type != REDIS_REPLY_STRING ||
               !valid_host(r->element[0]->str, r->element[0]->len) ||
               r->element[0]->len >= host_len ||
               (*port = parse_port(r->element[1]->str,
                                   r->element[1]->len)) == 0) {
        snprintf(why, why_len, "an answer that is not [host, port]");
    } else {
        memcpy(host, r->element[0]->str, r->element[0]->len);
        host[r->element[0]->len] = '\0';
        rc = 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

int sentinel_lookup(const redis_target_t *t, char *host, size_t host_len,
                    int *port, int *config, char *err, size_t err_len)
{
    size_t len = 0;
    int unknown = 0;
    err[0] = '\0';
    for (int i = 0; i < t->n_sentinels; i++) {
        char why[256];
        int rc = ask_one(t->sentinel_host[i], t->sentinel_port[i],
                         t->master_name, host, host_len, port, why,
                         sizeof why);
        if (rc == 0)
            return 0;
        unknown += rc == 1;
        if (len < err_len) {
            int w = snprintf(err + len, err_len - len, "%ssentinel %s:%d: %s",
                             i ? "; " : "", t->sentinel_host[i],
                             t->sentinel_port[i], why);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    *config = unknown > 0; /* the rest did not answer */
    return -1;
}
