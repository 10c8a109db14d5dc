/*
 * redis_conn.c - URL parsing, sync connect, and the reconnecting async
 * connection. hiredis 0.14 frees an async context itself after the connect
 * callback fails and after the disconnect callback, so c->ac is cleared in
 * both before anything else can use it.
 */
#include "queue/redis_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "queue/redis_uv.h"

#include "core/log.h"
#include "core/util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 5000

void redis_target_free(redis_target_t *t)
{
    free(t->host);
    free(t->path);
    free(t->password);
    memset(t, 0, sizeof *t);
}

static int parse_db(const char *s, int *db)
{
    uint64_t v;
    if (util_parse_u64(s, strlen(s), 10000, &v) != 0)
        return -1;
    *db = (int)v;
    return 0;
}

int redis_target_parse(const char *url, redis_target_t *t, char *err,
                       size_t err_len)
{
    memset(t, 0, sizeof *t);
    t->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        const char *q = strchr(path, '?');
        size_t plen = q ? (size_t)(q - path) : strlen(path);
        if (plen == 0 || path[0] != '/') {
            snprintf(err, err_len, "redis URL '%s': unix:// needs an absolute "
                     "socket path (unix:///path/to/redis.sock)", url);
            return -1;
        }
        t->path = strndup(path, plen);
        if (q && (strncmp(q, "?db=", 4) != 0 || parse_db(q + 4, &t->db) != 0)) {
            snprintf(err, err_len, "redis URL '%s': expected ?db=N after the "
                     "socket path", url);
            redis_target_free(t);
            return -1;
        }
        snprintf(t->display, sizeof t->display, "unix:%s", t->path);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, err_len, "redis URL '%s' must start with redis:// or "
                 "unix://", url);
        return -1;
    }
    const char *s = url + 8;
    const char *at = strrchr(s, '@');
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        const char *pw = colon ? colon + 1 : s;
        t->password = strndup(pw, (size_t)(at - pw));
        s = at + 1;
    }
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    char hostport[256];
    if (hlen == 0 || hlen >= sizeof hostport) {
        snprintf(err, err_len, "redis URL '%s' has no host", url);
        redis_target_free(t);
        return -1;
    }
    memcpy(hostport, s, hlen);
    hostport[hlen] = '\0';
    char *colon = strrchr(hostport, ':');
    if (colon) {
        uint64_t port;
        *colon = '\0';
        if (util_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != 0 ||
            port == 0) {
            snprintf(err, err_len, "redis URL '%s' has a bad port", url);
            redis_target_free(t);
            return -1;
        }
        t->port = (int)port;
    }
    t->host = strdup(hostport);
    if (slash && slash[1] && parse_db(slash + 1, &t->db) != 0) {
        snprintf(err, err_len, "redis URL '%s': the path must be a db number",
                 url);
        redis_target_free(t);
        return -1;
    }
    snprintf(t->display, sizeof t->display, "%s:%d", t->host, t->port);
    return 0;
}

redisContext *redis_connect_sync(const redis_target_t *t, int timeout_ms,
                                 char *err, size_t err_len)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = t->path ? redisConnectUnixWithTimeout(t->path, tv)
                              : redisConnectWithTimeout(t->host, t->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, err_len, "cannot connect to redis at %s: %s", t->display,
                 c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r;
    if (t->password) {
        r = redisCommand(c, "AUTH %s", t->password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, err_len, "redis at %s: AUTH failed: %s", t->display,
                     r ? r->str : c->errstr);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    if (t->db) {
        r = redisCommand(c, "SELECT %d", t->db);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, err_len, "redis at %s: SELECT %d failed: %s",
                     t->display, t->db, r ? r->str : c->errstr);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

static void schedule_retry(redis_conn_t *c);
static void on_retry_timer(uv_timer_t *t);

static void mark_down(redis_conn_t *c, const char *why)
{
    int was_up = c->state == CONN_UP;
    c->ac = NULL;
    c->state = CONN_DOWN;
    if (c->down_since_ms == 0)
        c->down_since_ms = util_mono_ms();
    if (!c->outage_logged && !c->closing) {
        c->outage_logged = 1;
        LOGW("redis", "%s connection to %s %s: %s; retrying every %d ms "
                 "at most", c->label, c->target->display,
                 c->ever_up ? "lost" : "failed", why, BACKOFF_MAX_MS);
    } else {
        LOGD("redis", "%s: still down: %s", c->label, why);
    }
    if (was_up && c->on_down)
        c->on_down(c, c->arg);
    if (!c->closing)
        schedule_retry(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *c = ac->data;
    if (c == NULL)
        return;
    if (status != REDIS_OK) {
        mark_down(c, ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    if (c->target->path == NULL) /* TCP only; it fails on unix sockets */
        redisEnableKeepAlive((redisContext *)&ac->c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *c = ac->data;
    if (c == NULL)
        return;
    mark_down(c, status == REDIS_OK ? "closed"
                 : ac->errstr[0]    ? ac->errstr
                                    : "connection closed by server");
}

/* The last of the set-up commands (AUTH, SELECT, PING) has answered. */
static void on_ready(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_conn_t *c = priv;
    redisReply *r = reply;
    (void)ac;
    if (r == NULL || c->ac == NULL)
        return; /* disconnected meanwhile; mark_down already ran */
    if (r->type == REDIS_REPLY_ERROR) {
        LOGE("redis", "%s connection to %s: %s", c->label, c->target->display,
             r->str);
        redisAsyncDisconnect(c->ac);
        return;
    }
    if (c->outage_logged)
        LOGI("redis", "%s connection to %s %s after %lld ms", c->label,
             c->target->display, c->ever_up ? "restored" : "established",
             (long long)(util_mono_ms() - c->down_since_ms));
    else if (!c->ever_up)
        LOGD("redis", "%s connected to %s", c->label, c->target->display);
    c->outage_logged = 0;
    uv_timer_stop(&c->retry_timer); /* the connect watchdog */
    c->down_since_ms = 0;
    c->backoff_ms = 0;
    c->state = CONN_UP;
    c->ever_up = 1;
    if (c->on_up)
        c->on_up(c, c->arg);
}

/* Replies to AUTH/SELECT: errors here are reported by on_ready via the
 * final PING only if the connection still works, so log them directly. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_conn_t *c = priv;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR && c->ac) {
        LOGE("redis", "%s connection to %s: %s", c->label, c->target->display,
             r->str);
        redisAsyncDisconnect(ac);
    }
}

static void connect_now(redis_conn_t *c)
{
    redisAsyncContext *ac =
        c->target->path ? redisAsyncConnectUnix(c->target->path)
                        : redisAsyncConnect(c->target->host, c->target->port);
    if (ac == NULL || ac->err) {
        const char *why = ac ? ac->errstr : "out of memory";
        char copy[128];
        snprintf(copy, sizeof copy, "%s", why);
        if (ac)
            redisAsyncFree(ac);
        mark_down(c, copy);
        return;
    }
    ac->data = c;
    if (redis_uv_attach(ac, c->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        mark_down(c, "cannot attach to the event loop");
        return;
    }
    c->ac = ac;
    c->state = CONN_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (c->target->password)
        redisAsyncCommand(ac, on_setup_reply, c, "AUTH %s", c->target->password);
    if (c->target->db)
        redisAsyncCommand(ac, on_setup_reply, c, "SELECT %d", c->target->db);
    redisAsyncCommand(ac, on_ready, c, "PING");
    uv_timer_start(&c->retry_timer, on_retry_timer, CONNECT_TIMEOUT_MS, 0);
}

/* One timer serves both: retrying while down, and giving up on a connect
 * (or its AUTH/SELECT/PING) that has not finished in CONNECT_TIMEOUT_MS. */
static void on_retry_timer(uv_timer_t *t)
{
    redis_conn_t *c = t->data;
    if (c->closing)
        return;
    if (c->state == CONN_DOWN) {
        connect_now(c);
    } else if (c->state == CONN_CONNECTING && c->ac) {
        redisAsyncContext *ac = c->ac;
        ac->data = NULL; /* no callback of ours may run for it any more */
        c->ac = NULL;
        redisAsyncFree(ac);
        mark_down(c, "connect timed out");
    }
}

static void schedule_retry(redis_conn_t *c)
{
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (c->backoff_ms > BACKOFF_MAX_MS)
        c->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&c->retry_timer, on_retry_timer, (uint64_t)c->backoff_ms, 0);
}

void redis_conn_init(redis_conn_t *c, uv_loop_t *loop,
                     const redis_target_t *target, const char *label,
                     redis_conn_fn on_up, redis_conn_fn on_down, void *arg)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->target = target;
    c->label = label;
    c->on_up = on_up;
    c->on_down = on_down;
    c->arg = arg;
    c->down_since_ms = util_mono_ms(); /* not yet connected */
    uv_timer_init(loop, &c->retry_timer);
    c->retry_timer.data = c;
}

void redis_conn_start(redis_conn_t *c) { connect_now(c); }

void redis_conn_close(redis_conn_t *c, uv_close_cb on_closed)
{
    c->closing = 1;
    uv_timer_stop(&c->retry_timer);
    uv_close((uv_handle_t *)&c->retry_timer, on_closed);
    if (c->ac) {
        /* Frees now: pending callbacks run with NULL replies, then the
         * disconnect callback; nothing of this context runs later. */
        redisAsyncContext *ac = c->ac;
        redisAsyncFree(ac);
        c->ac = NULL;
    }
}
