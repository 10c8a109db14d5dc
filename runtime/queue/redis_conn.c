/*
 * redis_conn.c - the sync connect of the CLI commands and the reconnecting
 * async connection; see redis_conn.h. hiredis 0.14 frees an async context
 * itself after the connect callback fails and after the disconnect
 * callback, so c->ac is cleared in both before anything else can use it.
 */
#include "queue/redis_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "queue/redis_uv.h"
#include "queue/reply_arena.h"
#include "queue/cluster.h"
#include "queue/sentinel.h"

#include "core/log.h"
#include "core/util.h"

#define CONNECT_TIMEOUT_MS 5000

/* Set-up steps, in the order they run; AUTH and SELECT are skipped when
 * the target has no password / uses db 0. */
enum { STEP_AUTH, STEP_SELECT, STEP_PING, STEP_ROLE, STEP_DONE };

int redis_error_is_config(const char *err)
{
    static const char *const prefixes[] = {
        "WRONGPASS", "NOAUTH", "NOPERM", "ERR invalid password",
        "ERR invalid username-password", "ERR DB index is out of range",
        "ERR invalid DB index", "ERR SELECT is not allowed",
        "ERR unknown command", "ERR unknown subcommand",
        "ERR wrong number of arguments for 'auth'"};
    static const char *const anywhere[] = {
        "called without any password configured",
        "but no password is set"};
    if (err == NULL)
        return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(err, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    for (size_t i = 0; i < sizeof anywhere / sizeof anywhere[0]; i++)
        if (strstr(err, anywhere[i]))
            return 1;
    return 0;
}

void redis_format_duration(int64_t ms, char *out, size_t out_len)
{
    if (ms < 0)
        ms = 0;
    snprintf(out, out_len, "%lld.%lld s", (long long)(ms / 1000),
             (long long)(ms % 1000 / 100));
}

/* The name of a set-up step for error lines (never the password). */
static void step_name(const redis_target_t *t, int step, char *out,
                      size_t out_len)
{
    if (step == STEP_AUTH && t->user)
        snprintf(out, out_len, "AUTH as user '%.64s'", t->user);
    else if (step == STEP_AUTH)
        snprintf(out, out_len, "AUTH");
    else if (step == STEP_SELECT)
        snprintf(out, out_len, "SELECT %d", t->db);
    else if (step == STEP_ROLE)
        snprintf(out, out_len, "ROLE");
    else
        snprintf(out, out_len, "PING");
}

/* The first step at or after `step` that applies to t. */
static int next_step(const redis_target_t *t, int step)
{
    if (step == STEP_AUTH && t->password == NULL)
        step = STEP_SELECT;
    if (step == STEP_SELECT && t->db == 0)
        step = STEP_PING;
    /* ROLE: only a primary named by the Sentinels is checked (a Sentinel
     * may still name one that was demoted a moment ago) */
    if (step == STEP_ROLE && t->n_sentinels == 0)
        step = STEP_DONE;
    return step;
}

/* ROLE's reply: NULL when it says "master", else why not. */
static const char *not_primary(const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "master") == 0)
        return NULL;
    return "it is not the primary (ROLE says it is a replica): the "
           "Sentinels are asked again";
}

static redisReply *sync_step(redisContext *c, const redis_target_t *t,
                             int step)
{
    if (step == STEP_AUTH && t->user)
        return redisCommand(c, "AUTH %s %s", t->user, t->password);
    if (step == STEP_AUTH)
        return redisCommand(c, "AUTH %s", t->password);
    if (step == STEP_SELECT)
        return redisCommand(c, "SELECT %d", t->db);
    if (step == STEP_ROLE)
        return redisCommand(c, "ROLE");
    return redisCommand(c, "PING");
}

/* Connects to host:port (or t's unix socket) and runs the set-up steps;
 * `sentinel_named` adds the ROLE check for a primary the Sentinels named. */
static redisContext *connect_login(const redis_target_t *t, const char *host,
                                   int port, int sentinel_named,
                                   int timeout_ms, char *err, size_t err_len)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = t->path ? redisConnectUnixWithTimeout(t->path, tv)
                              : redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        if (t->path || !t->n_sentinels)
            snprintf(err, err_len, "cannot connect to redis at %s: %s",
                     t->display, c ? c->errstr : "out of memory");
        else
            snprintf(err, err_len, "cannot connect to redis at %s: %s:%d: "
                     "%s", t->display, host, port,
                     c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    for (int step = next_step(t, STEP_AUTH); step != STEP_DONE;
         step = next_step(t, step + 1)) {
        if (step == STEP_ROLE && !sentinel_named)
            continue;
        redisReply *r = sync_step(c, t, step);
        if (r && step == STEP_ROLE && not_primary(r)) {
            snprintf(err, err_len, "redis at %s: %s:%d, which the Sentinels "
                     "named, is not the primary (ROLE: replica); try again",
                     t->display, host, port);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            char name[96];
            step_name(t, step, name, sizeof name);
            snprintf(err, err_len, "redis at %s: %s failed: %s", t->display,
                     name, r ? r->str : c->errstr);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

redisContext *redis_connect_node_sync(const redis_target_t *t,
                                      const char *host, int port,
                                      int timeout_ms, char *err,
                                      size_t err_len)
{
    return connect_login(t, host, port, 0, timeout_ms, err, err_len);
}

redisContext *redis_connect_sync(const redis_target_t *t, int timeout_ms,
                                 char *err, size_t err_len)
{
    char host[256];
    int port = t->port;
    if (t->cluster)
        return cluster_router_connect(t, timeout_ms, err, err_len);
    if (t->n_sentinels) {
        int config;
        char why[768];
        if (sentinel_lookup(t, host, sizeof host, &port, &config, why,
                            sizeof why) != 0) {
            snprintf(err, err_len, "redis at %s: no Sentinel named the "
                     "primary: %s", t->display, why);
            return NULL;
        }
        return connect_login(t, host, port, 1, timeout_ms, err, err_len);
    }
    if (t->host)
        snprintf(host, sizeof host, "%s", t->host);
    return connect_login(t, host, port, 0, timeout_ms, err, err_len);
}

static void schedule_retry(redis_conn_t *c);
static void on_retry_timer(uv_timer_t *t);

static void on_fatal_timer(uv_timer_t *t)
{
    redis_conn_t *c = t->data;
    char line[1024];
    if (c->closing)
        return;
    snprintf(line, sizeof line, "redis at %s: %s connection: %s",
             c->target->display, c->label, c->why);
    c->on_fatal(c, c->arg, line);
}

/* One line per change of state: lost or failed (transient), or an error
 * retrying cannot fix; retries in the same state log at debug only. The
 * next retry is scheduled already (c->backoff_ms). */
static void log_trouble(redis_conn_t *c, int was_up)
{
    conn_trouble_t kind =
        c->why_config ? CONN_TROUBLE_CONFIG : CONN_TROUBLE_TRANSIENT;
    if (c->logged == kind) {
        LOGD("redis", "%s connection to %s: still down: %s", c->label,
             c->target->display, c->why);
        return;
    }
    c->logged = kind;
    if (kind == CONN_TROUBLE_CONFIG)
        LOGE("redis", "%s connection to %s is misconfigured (check the "
             "password, user, ACL and db); retrying in %lld ms, "
             REDIS_BACKOFF_TEXT ", until it is fixed: %s", c->label,
             c->target->display, (long long)c->backoff_ms, c->why);
    else
        LOGW("redis", "%s connection to %s %s: %s; retrying in %lld ms, "
             REDIS_BACKOFF_TEXT, c->label, c->target->display,
             was_up ? "lost" : "failed", c->why, (long long)c->backoff_ms);
}

static void mark_down(redis_conn_t *c, const char *why)
{
    int was_up = c->state == CONN_UP;
    c->ac = NULL;
    c->state = CONN_DOWN;
    if (why != c->why)
        snprintf(c->why, sizeof c->why, "%s", why);
    if (c->down_since_ms == 0)
        c->down_since_ms = util_mono_ms();
    if (c->closing) {
        /* closed on purpose: no line, no retry */
    } else if (c->why_config && c->config_fatal && c->on_fatal) {
        /* Reported from a timer: on_fatal may tear everything down, which
         * must not happen inside a hiredis callback. */
        c->stopped = 1;
        uv_timer_start(&c->retry_timer, on_fatal_timer, 0, 0);
    } else if (c->dropping) {
        /* redis_conn_drop: not trouble, a move; reconnect at once, unless
         * it moved within the last second (two nodes each naming the
         * other must not make a busy loop) */
        int64_t now = util_mono_ms();
        int again = c->last_drop_ms && now - c->last_drop_ms < 1000;
        c->last_drop_ms = now;
        c->logged = CONN_TROUBLE_MOVED;
        if (again) {
            schedule_retry(c);
            LOGI("redis", "%s connection to %s: %s; reconnecting in %lld "
                 "ms", c->label, c->target->display, c->why,
                 (long long)c->backoff_ms);
        } else {
            LOGI("redis", "%s connection to %s: %s; reconnecting", c->label,
                 c->target->display, c->why);
            uv_timer_start(&c->retry_timer, on_retry_timer, 0, 0);
        }
    } else {
        schedule_retry(c);
        log_trouble(c, was_up);
    }
    c->dropping = 0;
    if (was_up && c->on_down)
        c->on_down(c, c->arg);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *c = ac->data;
    if (c == NULL)
        return;
    if (status != REDIS_OK) {
        c->why_config = 0;
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
    if (c->drop_why[0]) {
        /* redis_conn_drop: say why it was dropped */
        char why[sizeof c->drop_why];
        snprintf(why, sizeof why, "%s", c->drop_why);
        c->drop_why[0] = '\0';
        c->why_config = 0;
        c->dropping = 1;
        mark_down(c, why);
    } else if (c->setup_step == STEP_DONE || c->why[0] == '\0') {
        /* not a set-up step's error (that one is in c->why already) */
        c->why_config = 0;
        mark_down(c, status == REDIS_OK ? "closed"
                     : ac->errstr[0]    ? ac->errstr
                                        : "connection closed by server");
    } else {
        mark_down(c, c->why);
    }
}

void redis_conn_drop(redis_conn_t *c, const char *why)
{
    if (c->ac == NULL)
        return;
    if (!(c->ac->c.flags & REDIS_CONNECTED)) {
        /* hiredis runs no disconnect callback for a context that never
         * connected: give it up here, as the connect timeout does */
        redisAsyncContext *ac = c->ac;
        ac->data = NULL;
        c->ac = NULL;
        redisAsyncFree(ac);
        c->why_config = 0;
        c->dropping = 1;
        mark_down(c, why);
        return;
    }
    snprintf(c->drop_why, sizeof c->drop_why, "%s", why);
    /* pending callbacks get NULL, then on_disconnect runs mark_down
     * (inside a reply callback hiredis does this once it returns) */
    redisAsyncFree(c->ac);
}

void redis_conn_set_slot(redis_conn_t *c, unsigned slot)
{
    c->slot = (int)(slot % CLUSTER_SLOTS);
}

redis_route_t redis_conn_route_error(redis_conn_t *c, const char *err,
                                     size_t len)
{
    unsigned slot;
    cluster_node_t node;
    if (err == NULL)
        return REDIS_ROUTE_NONE;
    int kind = c->target->cluster
                   ? cluster_redirect_parse(err, len, &slot, &node)
                   : 0;
    if (kind == 1 && c->slot >= 0 && slot != (unsigned)c->slot) {
        /* a key of another slot: not this connection's to follow (its
         * command fails as it is) */
        return REDIS_ROUTE_NONE;
    }
    if (kind == 1) {
        char why[sizeof c->drop_why];
        snprintf(why, sizeof why, "slot %u moved to %.100s:%d (MOVED)", slot,
                 node.host, node.port);
        snprintf(c->cur_host, sizeof c->cur_host, "%s", node.host);
        c->cur_port = node.port;
        c->moved_hint = 1;
        redis_conn_drop(c, why);
        return REDIS_ROUTE_RECONNECT;
    }
    if (kind == 2 || (c->target->cluster &&
                      cluster_error_is_transient(err, len))) {
        if (kind != 2 && c->busy_since_ms == 0)
            c->busy_since_ms = util_mono_ms();
        return REDIS_ROUTE_RETRY;
    }
    if (len >= 8 && strncmp(err, "READONLY", 8) == 0) {
        if (c->target->n_sentinels || c->target->cluster) {
            redis_conn_drop(c, "the server is a replica now (READONLY)");
            return REDIS_ROUTE_RECONNECT;
        }
        if (!c->readonly_logged)
            LOGE("redis", "%s connection to %s: the server is a replica "
                 "(READONLY): jobrt writes to the primary; point --redis "
                 "at it, or use --sentinel; retrying every %d ms", c->label,
                 c->target->display, REDIS_ROUTE_READONLY_RETRY_MS);
        c->readonly_logged = 1;
        return REDIS_ROUTE_RETRY;
    }
    return REDIS_ROUTE_NONE;
}

/* Every set-up step succeeded: the connection is up. */
static void on_ready(redis_conn_t *c)
{
    char took[32];
    redis_format_duration(util_mono_ms() - c->down_since_ms, took,
                          sizeof took);
    int routed = c->target->n_sentinels || c->target->cluster;
    if (c->logged != CONN_TROUBLE_NONE && routed)
        LOGI("redis", "%s connection to %s %s on %s:%d after %s", c->label,
             c->target->display, c->ever_up ? "restored" : "established",
             c->cur_host, c->cur_port, took);
    else if (c->logged != CONN_TROUBLE_NONE)
        LOGI("redis", "%s connection to %s %s after %s", c->label,
             c->target->display, c->ever_up ? "restored" : "established",
             took);
    else if (!c->ever_up)
        LOGD("redis", "%s connected to %s", c->label, c->target->display);
    c->logged = CONN_TROUBLE_NONE;
    c->readonly_logged = 0;
    c->stuck_head = NULL;
    c->busy_since_ms = 0;
    uv_timer_stop(&c->retry_timer); /* the connect watchdog */
    c->down_since_ms = 0;
    c->backoff_ms = 0;
    c->why[0] = '\0';
    c->state = CONN_UP;
    if (c->ever_up)
        c->reconnects++;
    c->ever_up = 1;
    if (c->on_up)
        c->on_up(c, c->arg);
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Sends the first step at or after `step`; after the last, the
 * connection is up. */
static void send_step(redis_conn_t *c, redisAsyncContext *ac, int step)
{
    const redis_target_t *t = c->target;
    int rc;
    step = next_step(t, step);
    c->setup_step = step;
    if (step == STEP_DONE) {
        on_ready(c);
        return;
    }
    if (step == STEP_AUTH && t->user)
        rc = redisAsyncCommand(ac, on_setup_reply, c, "AUTH %s %s", t->user,
                               t->password);
    else if (step == STEP_AUTH)
        rc = redisAsyncCommand(ac, on_setup_reply, c, "AUTH %s", t->password);
    else if (step == STEP_SELECT)
        rc = redisAsyncCommand(ac, on_setup_reply, c, "SELECT %d", t->db);
    else if (step == STEP_ROLE)
        rc = redisAsyncCommand(ac, on_setup_reply, c, "ROLE");
    else
        rc = redisAsyncCommand(ac, on_setup_reply, c, "PING");
    if (rc != REDIS_OK) {
        char name[96];
        step_name(t, step, name, sizeof name);
        snprintf(c->why, sizeof c->why, "cannot send %s", name);
        c->why_config = 0;
        if (ac->c.flags & REDIS_CONNECTED) {
            redisAsyncDisconnect(ac); /* on_disconnect runs mark_down */
        } else {
            /* Not connected yet (connect_now): hiredis would free the
             * context without calling on_disconnect, leaving c->ac behind. */
            ac->data = NULL;
            c->ac = NULL;
            redisAsyncFree(ac);
            mark_down(c, c->why);
        }
    }
}

/* The reply to one set-up step: go on with the next, or stop at the
 * first error (nothing else was sent after it). */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_conn_t *c = priv;
    redisReply *r = reply;
    if (r == NULL || c->ac != ac)
        return; /* disconnected or given up on; mark_down ran or will */
    if (r->type == REDIS_REPLY_ERROR) {
        char name[96];
        step_name(c->target, c->setup_step, name, sizeof name);
        snprintf(c->why, sizeof c->why, "%s failed: %.*s", name,
                 (int)(r->len > 240 ? 240 : r->len), r->str);
        c->why_config = redis_error_is_config(r->str);
        redisAsyncDisconnect(ac); /* on_disconnect runs mark_down */
        return;
    }
    const char *why = c->setup_step == STEP_ROLE ? not_primary(r) : NULL;
    if (why) {
        snprintf(c->why, sizeof c->why, "%.200s:%d: %s", c->cur_host, c->cur_port,
                 why);
        c->why_config = 0;
        redisAsyncDisconnect(ac);
        return;
    }
    send_step(c, ac, c->setup_step + 1);
}

/* ---- Sentinel lookups, in the thread pool ------------------------------ */

/* One lookup; c is NULL once the connection was closed meanwhile (the
 * request then only frees itself). */
struct sentinel_req {
    uv_work_t work;
    redis_conn_t *c;
    redis_target_t t; /* a copy: the lookup reads it on another thread */
    int check;        /* asked while up: reconnect if the answer moved */
    int rc, config, port;
    char host[256], err[768];
    /* --cluster: the slot asked for; the seeds asked after the target's
     * node (a copy), and the primaries of the answer (new seeds) */
    unsigned slot;
    cluster_node_t *seeds, *answer_seeds;
    int n_seeds, n_answer_seeds;
};

/* The primaries of m, each once, at most CLUSTER_MAX_NODES, in a new
 * array (NULL when out of memory: then no seeds). */
static cluster_node_t *map_primaries(const cluster_map_t *m, int *n)
{
    *n = 0;
    cluster_node_t *out = calloc(CLUSTER_MAX_NODES, sizeof *out);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < m->n && *n < CLUSTER_MAX_NODES; i++) {
        const cluster_node_t *p = &m->range[i].primary;
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++)
            seen = out[j].port == p->port && strcmp(out[j].host, p->host) == 0;
        if (!seen)
            out[(*n)++] = *p;
    }
    return out;
}

static void lookup_work(uv_work_t *w)
{
    struct sentinel_req *r = w->data;
    if (!r->t.cluster) {
        r->rc = sentinel_lookup(&r->t, r->host, sizeof r->host, &r->port,
                                &r->config, r->err, sizeof r->err);
        return;
    }
    cluster_map_t m;
    cluster_node_t node;
    r->rc = cluster_discover(&r->t, r->seeds, r->n_seeds, &m, &r->config,
                             r->err, sizeof r->err);
    if (r->rc != 0)
        return;
    if (cluster_map_find(&m, r->slot, &node) != 0) {
        snprintf(r->err, sizeof r->err, "no node serves slot %u (the "
                 "cluster's slots are not all assigned)", r->slot);
        r->rc = -1;
    } else {
        snprintf(r->host, sizeof r->host, "%s", node.host);
        r->port = node.port;
    }
    r->answer_seeds = map_primaries(&m, &r->n_answer_seeds);
    cluster_map_free(&m);
}

static void lookup_req_free(struct sentinel_req *r)
{
    redis_target_free(&r->t);
    free(r->seeds);
    free(r->answer_seeds);
    free(r);
}

static void connect_addr(redis_conn_t *c);

static void lookup_done(uv_work_t *w, int status)
{
    struct sentinel_req *r = w->data;
    redis_conn_t *c = r->c;
    if (c) {
        c->lookup = NULL;
        c->next_check_ms = util_mono_ms() + SENTINEL_CHECK_MS;
    }
    if (c && !c->closing && r->answer_seeds) { /* --cluster: remember them */
        free(c->seeds);
        c->seeds = r->answer_seeds;
        c->n_seeds = r->n_answer_seeds;
        r->answer_seeds = NULL;
    }
    if (c == NULL || c->closing || c->stopped) {
        /* nothing */
    } else if (r->check) {
        /* asked while up: a moved primary means reconnecting there (the
         * old one may be demoted, or cut off and about to be) */
        if (r->rc == 0 && redis_conn_up(c) &&
            (strcmp(r->host, c->cur_host) != 0 || r->port != c->cur_port)) {
            char why[sizeof c->drop_why];
            if (c->target->cluster) {
                snprintf(why, sizeof why, "slot %d is served by %.50s:%d "
                         "now (the cluster map; was %.50s:%d, which does "
                         "not answer)", c->slot, r->host, r->port,
                         c->cur_host, c->cur_port);
            } else {
                LOGW("redis", "%s connection to %s: the Sentinels name "
                     "%s:%d as the primary now (was %s:%d): reconnecting "
                     "there", c->label, c->target->display, r->host,
                     r->port, c->cur_host, c->cur_port);
                snprintf(why, sizeof why, "the Sentinels name another "
                         "primary");
            }
            /* not a graceful disconnect: a primary cut off from the
             * network would never answer what is pending */
            snprintf(c->cur_host, sizeof c->cur_host, "%s", r->host);
            c->cur_port = r->port;
            c->moved_hint = c->target->cluster;
            redis_conn_drop(c, why);
        }
    } else if (status != 0 || r->rc != 0) {
        c->why_config = status == 0 && r->config;
        char why[sizeof c->why];
        snprintf(why, sizeof why, "%s: %.250s",
                 c->target->cluster ? "no cluster node said where the "
                                      "queue's slot is"
                                    : "no Sentinel named the primary",
                 status ? "lookup cancelled" : r->err);
        mark_down(c, why);
    } else {
        if ((strcmp(r->host, c->cur_host) != 0 || r->port != c->cur_port) &&
            c->target->cluster)
            LOGI("redis", "%s connection to %s: slot %d is served by %s:%d",
                 c->label, c->target->display, c->slot, r->host, r->port);
        else if (strcmp(r->host, c->cur_host) != 0 || r->port != c->cur_port)
            LOGI("redis", "%s connection to %s: the Sentinels name %s:%d as "
                 "the primary", c->label, c->target->display, r->host,
                 r->port);
        snprintf(c->cur_host, sizeof c->cur_host, "%s", r->host);
        c->cur_port = r->port;
        connect_addr(c);
    }
    lookup_req_free(r);
}

/* Starts a lookup of c's primary. Returns 0, or -1 (out of memory). */
static int start_lookup(redis_conn_t *c, int check)
{
    struct sentinel_req *r = calloc(1, sizeof *r);
    if (r == NULL || redis_target_copy(&r->t, c->target) != 0) {
        free(r);
        return -1;
    }
    r->c = c;
    r->check = check;
    r->slot = c->slot < 0 ? 0u : (unsigned)c->slot;
    if (c->n_seeds) {
        r->seeds = malloc((size_t)c->n_seeds * sizeof *r->seeds);
        if (r->seeds == NULL) {
            lookup_req_free(r);
            return -1;
        }
        memcpy(r->seeds, c->seeds, (size_t)c->n_seeds * sizeof *r->seeds);
        r->n_seeds = c->n_seeds;
    }
    r->work.data = r;
    if (uv_queue_work(c->loop, &r->work, lookup_work, lookup_done) != 0) {
        lookup_req_free(r);
        return -1;
    }
    c->lookup = r;
    return 0;
}

/* --cluster: whether the slot's node looks stuck (see the header) */
static int cluster_stuck(redis_conn_t *c, int64_t now_ms)
{
    const void *head = c->ac ? (const void *)c->ac->replies.head : NULL;
    if (head == NULL || head != c->stuck_head) {
        c->stuck_head = head;
        c->stuck_since_ms = now_ms;
    }
    return (head && now_ms - c->stuck_since_ms >= c->stuck_after_ms) ||
           (c->busy_since_ms && now_ms - c->busy_since_ms >= 1000);
}

void redis_conn_recheck(redis_conn_t *c)
{
    if (!c->target->cluster || !redis_conn_up(c) || c->lookup || c->closing)
        return;
    c->stuck_head = NULL;
    c->busy_since_ms = 0;
    c->next_check_ms = util_mono_ms() + SENTINEL_CHECK_MS;
    start_lookup(c, 1);
}

void redis_conn_sentinel_check(redis_conn_t *c, int64_t now_ms)
{
    if ((c->target->n_sentinels == 0 && !c->target->cluster) ||
        !redis_conn_up(c) || c->lookup || c->closing ||
        now_ms < c->next_check_ms)
        return;
    c->next_check_ms = now_ms + SENTINEL_CHECK_MS;
    if (c->target->cluster && !cluster_stuck(c, now_ms))
        return;
    c->stuck_head = NULL;
    c->busy_since_ms = 0;
    start_lookup(c, 1);
}

static void connect_now(redis_conn_t *c)
{
    c->why[0] = '\0';
    c->why_config = 0;
    if (c->target->cluster && c->moved_hint) {
        /* a MOVED named the slot's primary: straight there (a failed
         * connect asks the cluster next time) */
        c->moved_hint = 0;
        connect_addr(c);
        return;
    }
    if (c->target->n_sentinels == 0 && !c->target->cluster) {
        connect_addr(c);
        return;
    }
    c->state = CONN_CONNECTING;
    if (c->lookup) {
        /* one is on its way (maybe a check, asked while up): its answer
         * is where this connect goes */
        c->lookup->check = 0;
        return;
    }
    if (start_lookup(c, 0) != 0)
        mark_down(c, "out of memory asking the Sentinels");
}

/* Connects to the target, or to the primary the Sentinels named. */
static void connect_addr(redis_conn_t *c)
{
    c->setup_step = STEP_AUTH;
    int routed = c->target->n_sentinels || c->target->cluster;
    const char *host = routed ? c->cur_host : c->target->host;
    int port = routed ? c->cur_port : c->target->port;
    redisAsyncContext *ac =
        c->target->path ? redisAsyncConnectUnix(c->target->path)
                        : redisAsyncConnect(host, port);
    if (ac == NULL || ac->err) {
        char copy[128];
        snprintf(copy, sizeof copy, "%s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        mark_down(c, copy);
        return;
    }
    reply_arena_install(ac->c.reader); /* before it parses anything */
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
    uv_timer_start(&c->retry_timer, on_retry_timer, CONNECT_TIMEOUT_MS, 0);
    send_step(c, ac, STEP_AUTH); /* buffered until connected */
}

/* Retrying while down, or giving up on a connect (or its set-up) that
 * has not finished in CONNECT_TIMEOUT_MS. */
static void on_retry_timer(uv_timer_t *t)
{
    redis_conn_t *c = t->data;
    if (c->closing || c->stopped)
        return;
    if (c->state == CONN_DOWN) {
        connect_now(c);
    } else if (c->state == CONN_CONNECTING && c->ac) {
        redisAsyncContext *ac = c->ac;
        ac->data = NULL; /* no callback of ours may run for it any more */
        c->ac = NULL;
        redisAsyncFree(ac);
        c->why_config = 0;
        mark_down(c, "connect timed out");
    }
}

static void schedule_retry(redis_conn_t *c)
{
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : REDIS_BACKOFF_MIN_MS;
    if (c->backoff_ms > REDIS_BACKOFF_MAX_MS)
        c->backoff_ms = REDIS_BACKOFF_MAX_MS;
    uv_timer_start(&c->retry_timer, on_retry_timer, (uint64_t)c->backoff_ms, 0);
}

void redis_conn_init(redis_conn_t *c, uv_loop_t *loop,
                     const redis_target_t *target, const char *label,
                     redis_conn_fn on_up, redis_conn_fn on_down,
                     redis_conn_fatal_fn on_fatal, void *arg)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->target = target;
    c->label = label;
    c->on_up = on_up;
    c->on_down = on_down;
    c->on_fatal = on_fatal;
    c->arg = arg;
    c->down_since_ms = util_mono_ms(); /* not yet connected */
    c->slot = -1;
    c->stuck_after_ms = REDIS_STUCK_AFTER_MS;
    uv_timer_init(loop, &c->retry_timer);
    c->retry_timer.data = c;
}

void redis_conn_start(redis_conn_t *c) { connect_now(c); }

void redis_conn_close(redis_conn_t *c, uv_close_cb on_closed)
{
    c->closing = 1;
    if (c->lookup) { /* it finishes on its own and frees itself */
        c->lookup->c = NULL;
        c->lookup = NULL;
    }
    uv_timer_stop(&c->retry_timer);
    uv_close((uv_handle_t *)&c->retry_timer, on_closed);
    free(c->seeds);
    c->seeds = NULL;
    c->n_seeds = 0;
    if (c->ac) {
        /* Frees now: pending callbacks run with NULL replies, then the
         * disconnect callback; nothing of this context runs later. */
        redisAsyncContext *ac = c->ac;
        redisAsyncFree(ac);
        c->ac = NULL;
    }
}
