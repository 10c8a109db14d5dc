/*
 * cluster_router.c - the CLI's connection with --cluster: a plain hiredis
 * context over one end of a socketpair, served by a detached thread that
 * routes each command to the primary of its key's slot (see
 * cluster_router_connect in cluster.h). So redisCommand, the Argv forms
 * and pipelines of redisAppendCommand + redisGetReply work unchanged.
 *
 * The thread reads requests (RESP arrays of bulk strings, parsed by a
 * hiredis reader with our own objects: at most ROUTER_MAX_ARGS arguments
 * and ROUTER_MAX_REQUEST bytes, nothing nested), answers them in order
 * and writes each reply back as RESP2 through a buffer; it stops reading
 * while more than ROUTER_MAX_PENDING bytes of replies wait for the client,
 * and ends (freeing everything) when the client end is closed. One
 * blocking context per node; a command is sent to its slot's primary,
 * follows MOVED (map refreshed) and ASK (ASKING first), and is sent again
 * for up to timeout_ms after TRYAGAIN, CLUSTERDOWN, LOADING, or a node
 * that cannot be reached. A command whose reply was lost is sent again
 * only when it only reads: a write may have run. Keyless commands go to
 * the node of the previous keyed command (WAIT: of the last write);
 * SCRIPT LOAD and SCRIPT FLUSH go to every primary. MULTI / EXEC and
 * subscriptions are refused (nothing in jobrt uses them).
 */
#include "queue/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#define ROUTER_MAX_REQUEST ((size_t)512 << 20) /* enqueue payloads are big */
#define ROUTER_MAX_ARGS (1 << 20)
#define ROUTER_MAX_PENDING ((size_t)64 << 20) /* replies not yet read */
#define ROUTER_RETRY_MS 50
#define ROUTER_MAX_REDIRECTS 16
#define ROUTER_WHY_LEN 200
#define ROUTER_ERR "ERR jobrt cluster router: "

/* ---- requests: a hiredis reader building argv arrays ------------------ */

typedef struct {
    int argc;
    char **argv; /* each NUL-terminated (and may hold NULs) */
    size_t *lens;
} request_t;

static void req_free(void *obj)
{
    request_t *q = obj;
    if (q == NULL)
        return;
    for (int i = 0; i < q->argc; i++)
        free(q->argv[i]);
    free(q->argv);
    free(q->lens);
    free(q);
}

/* A refused request: the reader then fails ("Out of memory"), and the
 * reason is kept in its privdata (the router's why). */
static void *refuse(const redisReadTask *task, const char *why)
{
    char *out = task->privdata;
    if (out && out[0] == '\0')
        snprintf(out, ROUTER_WHY_LEN, "%s", why);
    return NULL;
}

static void *req_array(const redisReadTask *task, int n)
{
    if (task->parent)
        return refuse(task, "a request holds a nested array");
    if (n <= 0 || n > ROUTER_MAX_ARGS)
        return refuse(task, "a request must be 1 to 1048576 arguments");
    request_t *q = calloc(1, sizeof *q);
    if (q == NULL || (q->argv = calloc((size_t)n, sizeof *q->argv)) == NULL ||
        (q->lens = calloc((size_t)n, sizeof *q->lens)) == NULL) {
        req_free(q);
        return refuse(task, "out of memory");
    }
    q->argc = n;
    return q;
}

static void *req_string(const redisReadTask *task, char *str, size_t len)
{
    if (task->parent == NULL)
        return refuse(task, "a request is not an array of bulk strings "
                      "(inline commands are not supported)");
    if (task->type != REDIS_REPLY_STRING)
        return refuse(task, "a request's arguments must be bulk strings");
    request_t *q = task->parent->obj;
    char *s = malloc(len + 1);
    if (s == NULL)
        return refuse(task, "out of memory");
    memcpy(s, str, len);
    s[len] = '\0';
    q->argv[task->idx] = s;
    q->lens[task->idx] = len;
    return s;
}

static void *req_integer(const redisReadTask *task, long long v)
{
    (void)v;
    return refuse(task, "a request's arguments must be bulk strings");
}

static void *req_nil(const redisReadTask *task)
{
    return refuse(task, "a request's arguments must be bulk strings");
}

static redisReplyObjectFunctions req_functions = {
    req_string, req_array, req_integer, req_nil, req_free};

/* ---- the router ------------------------------------------------------- */

typedef struct {
    cluster_node_t node;
    redisContext *c;
    long long timeout_ms; /* the read timeout set on c (0: none) */
} conn_t;

typedef struct {
    redis_target_t t; /* a copy: the caller frees its own */
    int timeout_ms;
    int fd; /* our end of the socketpair, non-blocking */
    redisReader *reader;
    char why[ROUTER_WHY_LEN]; /* why the reader refused a request */
    cluster_map_t map;
    conn_t conn[CLUSTER_MAX_NODES];
    int n_conn;
    /* where keyless commands and WAIT go; host "" when none yet */
    cluster_node_t last_keyed, last_write;
    char *out; /* replies not yet written to the client */
    size_t out_pos, out_len, out_cap;
    int broken; /* out of memory: the thread ends */
} router_t;

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int same_node(const cluster_node_t *a, const cluster_node_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* ---- replies to the client: a buffer of RESP2 ------------------------- */

static size_t pending(const router_t *rt)
{
    return rt->out_len - rt->out_pos;
}

static void out_bytes(router_t *rt, const char *s, size_t n)
{
    if (rt->broken)
        return;
    if (rt->out_cap - rt->out_len < n && rt->out_pos > 0) {
        memmove(rt->out, rt->out + rt->out_pos, pending(rt));
        rt->out_len -= rt->out_pos;
        rt->out_pos = 0;
    }
    if (rt->out_cap - rt->out_len < n) {
        size_t cap = rt->out_cap ? rt->out_cap : 16384;
        while (cap - rt->out_len < n && cap < SIZE_MAX / 2)
            cap *= 2;
        char *p = cap - rt->out_len >= n ? realloc(rt->out, cap) : NULL;
        if (p == NULL) {
            rt->broken = 1;
            return;
        }
        rt->out = p;
        rt->out_cap = cap;
    }
    memcpy(rt->out + rt->out_len, s, n);
    rt->out_len += n;
}

/* A line: the type byte, then s with CR and LF made spaces. */
static void out_line(router_t *rt, char type, const char *s, size_t n)
{
    char buf[1024];
    size_t k = 0;
    buf[k++] = type;
    for (size_t i = 0; i < n; i++) {
        if (k == sizeof buf - 2) {
            out_bytes(rt, buf, k);
            k = 0;
        }
        buf[k++] = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
    }
    buf[k++] = '\r';
    buf[k++] = '\n';
    out_bytes(rt, buf, k);
}

static void out_head(router_t *rt, char type, long long n)
{
    char buf[32];
    int w = snprintf(buf, sizeof buf, "%c%lld\r\n", type, n);
    out_bytes(rt, buf, (size_t)w);
}

static void out_reply(router_t *rt, const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        out_line(rt, '+', r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        out_line(rt, '-', r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        out_head(rt, ':', r->integer);
        break;
    case REDIS_REPLY_STRING:
        out_head(rt, '$', (long long)r->len);
        out_bytes(rt, r->str, r->len);
        out_bytes(rt, "\r\n", 2);
        break;
    case REDIS_REPLY_ARRAY:
        out_head(rt, '*', (long long)r->elements);
        for (size_t i = 0; i < r->elements; i++)
            out_reply(rt, r->element[i]); /* hiredis nests at most 7 */
        break;
    default: /* REDIS_REPLY_NIL, and a nil array */
        out_bytes(rt, "$-1\r\n", 5);
        break;
    }
}

__attribute__((format(printf, 2, 3)))
static void out_err(router_t *rt, const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s", ROUTER_ERR);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    out_line(rt, '-', line, strlen(line));
}

/* Writes what the client end takes now: 0, or -1 when it is gone. */
static int flush_out(router_t *rt)
{
    while (pending(rt) > 0) {
        ssize_t w = send(rt->fd, rt->out + rt->out_pos, pending(rt),
                         MSG_NOSIGNAL);
        if (w > 0)
            rt->out_pos += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            return -1;
    }
    rt->out_pos = rt->out_len = 0;
    if (rt->out_cap > ((size_t)1 << 20)) { /* a big reply went: give back */
        free(rt->out);
        rt->out = NULL;
        rt->out_cap = 0;
    }
    return 0;
}

/* ---- the map and the node connections --------------------------------- */

/* A new map from CLUSTER SLOTS; the old one stays when none answers. */
static void rediscover(router_t *rt)
{
    cluster_node_t seeds[CLUSTER_MAX_NODES];
    cluster_map_t m;
    char err[512];
    int config, n = cluster_map_primaries(&rt->map, seeds);
    if (cluster_discover(&rt->t, seeds, n, &m, &config, err, sizeof err) ==
        0) {
        cluster_map_free(&rt->map);
        rt->map = m;
    }
}

static void conn_drop(router_t *rt, int i)
{
    redisFree(rt->conn[i].c);
    rt->conn[i] = rt->conn[--rt->n_conn];
}

/* A pooled connection the node has closed meanwhile (a restart, an idle
 * timeout) shows as readable while nothing is awaited. */
static int conn_stale(const redisContext *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

/* The connection to n (made now if needed): its index, or -1 with why. */
static int conn_get(router_t *rt, const cluster_node_t *n, int connect_ms,
                    int *config, char *why, size_t why_len)
{
    for (int i = 0; i < rt->n_conn; i++)
        if (same_node(&rt->conn[i].node, n)) {
            if (!conn_stale(rt->conn[i].c))
                return i;
            conn_drop(rt, i);
            break;
        }
    if (rt->n_conn == CLUSTER_MAX_NODES)
        conn_drop(rt, 0);
    redisContext *c = cluster_node_connect(&rt->t, n, connect_ms, config,
                                           why, why_len);
    if (c == NULL)
        return -1;
    rt->conn[rt->n_conn] = (conn_t){*n, c, connect_ms};
    return rt->n_conn++;
}

enum { SENT_REPLY, SENT_UNREACHABLE, SENT_NOT_SENT, SENT_LOST };

/* Sends q to n (after ASKING when asking) and reads its reply. Returns
 * SENT_REPLY with *reply, or why it has none (why set; the connection is
 * dropped): SENT_UNREACHABLE (no connection; *config when the login was
 * refused), SENT_NOT_SENT (lost before q was all written: it did not run)
 * or SENT_LOST (lost after: it may have run). */
static int attempt(router_t *rt, const cluster_node_t *n, const request_t *q,
                   int asking, long long read_ms, int connect_ms,
                   redisReply **reply, int *config, char *why,
                   size_t why_len)
{
    char name[300];
    void *r = NULL;
    int done = 0, i = conn_get(rt, n, connect_ms, config, why, why_len);
    *reply = NULL;
    if (i < 0)
        return SENT_UNREACHABLE;
    conn_t *c = &rt->conn[i];
    if (c->timeout_ms != read_ms) {
        struct timeval tv = {(time_t)(read_ms / 1000),
                             (suseconds_t)(read_ms % 1000) * 1000};
        redisSetTimeout(c->c, tv); /* {0, 0}: no timeout */
        c->timeout_ms = read_ms;
    }
    if ((asking && redisAppendCommand(c->c, "ASKING") != REDIS_OK) ||
        redisAppendCommandArgv(c->c, q->argc, (const char **)q->argv,
                               q->lens) != REDIS_OK) {
        rt->broken = 1; /* out of memory */
        snprintf(why, why_len, "out of memory");
        conn_drop(rt, i);
        return SENT_NOT_SENT;
    }
    cluster_node_name(n, name, sizeof name);
    while (!done)
        if (redisBufferWrite(c->c, &done) != REDIS_OK) {
            snprintf(why, why_len, "lost the connection to %s: %s", name,
                     c->c->errstr);
            conn_drop(rt, i);
            return SENT_NOT_SENT;
        }
    if (asking) {
        if (redisGetReply(c->c, &r) != REDIS_OK)
            goto lost;
        redisReply *ar = r;
        if (ar && ar->type == REDIS_REPLY_ERROR) {
            /* ASKING refused (an ACL without +asking): that is the
             * answer, not the MOVED the command then gets */
            if (redisGetReply(c->c, &r) != REDIS_OK) {
                freeReplyObject(ar);
                goto lost;
            }
            freeReplyObject(r);
            *reply = ar;
            return SENT_REPLY;
        }
        freeReplyObject(r);
    }
    if (redisGetReply(c->c, &r) != REDIS_OK)
        goto lost;
    *reply = r;
    return SENT_REPLY;
lost:
    snprintf(why, why_len, "lost the connection to %s: %s", name,
             c->c->errstr[0] ? c->c->errstr : "connection closed");
    conn_drop(rt, i);
    return SENT_LOST;
}

/* Where ro goes: 0 with *n, or -1 when the map names no node. */
static int pick(const router_t *rt, const cluster_cmd_t *ro, unsigned slot,
                cluster_node_t *n)
{
    if (ro->key >= 0)
        return cluster_map_find(&rt->map, slot, n);
    if ((ro->flags & CLUSTER_CMD_WAIT) && rt->last_write.host[0])
        *n = rt->last_write;
    else if (rt->last_keyed.host[0])
        *n = rt->last_keyed;
    else if (rt->map.n > 0)
        *n = rt->map.range[0].primary;
    else
        return -1;
    return 0;
}

static int connect_budget(const router_t *rt, int64_t deadline)
{
    int64_t left = deadline - util_mono_ms();
    return left < 100 ? 100 : left > rt->timeout_ms ? rt->timeout_ms
                                                    : (int)left;
}

static long long read_budget(const router_t *rt, const cluster_cmd_t *ro)
{
    if (ro->block_ms < 0)
        return 0; /* blocks until answered */
    long long ms = rt->timeout_ms + ro->block_ms;
    return ms > INT32_MAX ? INT32_MAX : ms;
}

/* A reply that asks to wait and send the same again. */
static int busy(const redisReply *r)
{
    /* READONLY: a node demoted since the map was read refused it, so it
     * did not run; asked again after the map is */
    return r->type == REDIS_REPLY_ERROR &&
           (cluster_error_is_transient(r->str, r->len) ||
            strncmp(r->str, "LOADING", 7) == 0 ||
            strncmp(r->str, "READONLY", 8) == 0);
}

static void send_routed(router_t *rt, const request_t *q,
                        const cluster_cmd_t *ro)
{
    int64_t deadline = util_mono_ms() + rt->timeout_ms;
    unsigned slot = ro->key >= 0 ? cluster_key_slot(q->argv[ro->key],
                                                    q->lens[ro->key])
                                 : 0;
    cluster_node_t node;
    int asking = 0, redirects = 0, config = 0;
    int have = pick(rt, ro, slot, &node);
    char why[600];
    for (;;) {
        redisReply *r = NULL;
        int st = SENT_UNREACHABLE;
        if (have == 0)
            st = attempt(rt, &node, q, asking, read_budget(rt, ro),
                         connect_budget(rt, deadline), &r, &config, why,
                         sizeof why);
        else
            snprintf(why, sizeof why, "no node serves slot %u (the "
                     "cluster's slots are not all assigned)", slot);
        asking = 0;
        if (st == SENT_REPLY && r->type == REDIS_REPLY_ERROR) {
            unsigned s;
            cluster_node_t to;
            int kind = cluster_redirect_parse(r->str, r->len, &s, &to);
            if (kind && redirects++ < ROUTER_MAX_REDIRECTS) {
                if (kind == 1) { /* MOVED: the map is out of date */
                    rediscover(rt);
                    cluster_map_set_slot(&rt->map, s, &to);
                }
                node = to;
                asking = kind == 2;
                freeReplyObject(r);
                continue;
            }
            if (busy(r) && util_mono_ms() + ROUTER_RETRY_MS < deadline) {
                freeReplyObject(r);
                pause_ms(ROUTER_RETRY_MS);
                rediscover(rt);
                if (ro->key >= 0)
                    have = pick(rt, ro, slot, &node);
                continue;
            }
        }
        if (st == SENT_REPLY) { /* the last error of a busy node included */
            out_reply(rt, r);
            freeReplyObject(r);
            if (ro->key >= 0)
                rt->last_keyed = node;
            if (ro->key >= 0 && !(ro->flags & CLUSTER_CMD_RO))
                rt->last_write = node;
            return;
        }
        if (rt->broken)
            return;
        if (!config && (st != SENT_LOST || (ro->flags & CLUSTER_CMD_RO)) &&
            util_mono_ms() + ROUTER_RETRY_MS < deadline) {
            pause_ms(ROUTER_RETRY_MS);
            rediscover(rt);
            if (ro->key < 0 && !(ro->flags & CLUSTER_CMD_WAIT))
                rt->last_keyed.host[0] = '\0'; /* any primary will do */
            have = pick(rt, ro, slot, &node);
            continue;
        }
        if (st == SENT_LOST)
            out_err(rt, "%s (after %.*s was sent: it may have run, so it "
                    "is not sent again)", why, (int)(q->lens[0] > 40 ? 40
                    : q->lens[0]), q->argv[0]);
        else
            out_err(rt, "%s", why);
        return;
    }
}

/* SCRIPT LOAD / SCRIPT FLUSH on every primary (both may be sent again):
 * the first reply, or the first error one of them answered. */
static void send_all(router_t *rt, const request_t *q)
{
    int64_t deadline = util_mono_ms() + rt->timeout_ms;
    cluster_cmd_t ro = {CLUSTER_CMD_ALL, 0, -1, 0};
    char why[600];
    for (;;) {
        cluster_node_t prim[CLUSTER_MAX_NODES];
        int n = cluster_map_primaries(&rt->map, prim);
        int config = 0, failed = 0;
        redisReply *answer = NULL;
        for (int i = 0; i < n && !failed; i++) {
            redisReply *r;
            if (attempt(rt, &prim[i], q, 0, read_budget(rt, &ro),
                        connect_budget(rt, deadline), &r, &config, why,
                        sizeof why) != SENT_REPLY) {
                failed = 1;
            } else if (answer == NULL ||
                       (r->type == REDIS_REPLY_ERROR &&
                        answer->type != REDIS_REPLY_ERROR)) {
                freeReplyObject(answer);
                answer = r;
            } else {
                freeReplyObject(r);
            }
        }
        if (!failed && answer) {
            out_reply(rt, answer);
            freeReplyObject(answer);
            return;
        }
        freeReplyObject(answer);
        if (!failed)
            snprintf(why, sizeof why, "the cluster map names no primary");
        if (rt->broken || config ||
            util_mono_ms() + ROUTER_RETRY_MS >= deadline) {
            out_err(rt, "%.*s on every primary: %s",
                    (int)(q->lens[1] > 20 ? 20 : q->lens[1]), q->argv[1],
                    why);
            return;
        }
        pause_ms(ROUTER_RETRY_MS);
        rediscover(rt);
    }
}

static void handle(router_t *rt, const request_t *q)
{
    cluster_cmd_t ro;
    cluster_command_route(q->argc, (const char *const *)q->argv, q->lens,
                          &ro);
    if (ro.kind == CLUSTER_CMD_REFUSE)
        out_err(rt, "%.*s is not supported through the cluster router "
                "(each command goes to its key's node)",
                (int)(q->lens[0] > 40 ? 40 : q->lens[0]), q->argv[0]);
    else if (ro.kind == CLUSTER_CMD_QUIT)
        out_bytes(rt, "+OK\r\n", 5);
    else if (ro.kind == CLUSTER_CMD_ALL)
        send_all(rt, q);
    else
        send_routed(rt, q, &ro);
}

/* ---- the thread ------------------------------------------------------- */

static void router_free(router_t *rt)
{
    for (int i = 0; i < rt->n_conn; i++)
        redisFree(rt->conn[i].c);
    cluster_map_free(&rt->map);
    redisReaderFree(rt->reader);
    redis_target_free(&rt->t);
    if (rt->fd >= 0)
        close(rt->fd);
    free(rt->out);
    free(rt);
}

/* The request stream cannot be read on: say why, give the client up to
 * timeout_ms to take it, and hang up. */
static void refuse_stream(router_t *rt)
{
    int64_t deadline = util_mono_ms() + rt->timeout_ms;
    out_err(rt, "%s; the connection is closed",
            rt->why[0] ? rt->why : rt->reader->errstr);
    while (flush_out(rt) == 0 && pending(rt) > 0 && util_mono_ms() < deadline) {
        struct pollfd p = {.fd = rt->fd, .events = POLLOUT};
        poll(&p, 1, 100);
    }
}

static void *router_main(void *arg)
{
    router_t *rt = arg;
    char buf[65536];
    for (;;) {
        void *q = NULL;
        /* answer each whole request read so far, unless replies pile up */
        while (!rt->broken && pending(rt) < ROUTER_MAX_PENDING) {
            if (redisReaderGetReply(rt->reader, &q) != REDIS_OK) {
                refuse_stream(rt);
                goto end;
            }
            if (q == NULL)
                break;
            handle(rt, q);
            req_free(q);
            if (pending(rt) > 65536 && flush_out(rt) != 0)
                goto end;
        }
        if (rt->broken || flush_out(rt) != 0)
            goto end;
        struct pollfd p = {.fd = rt->fd, .events = POLLIN};
        if (pending(rt) > 0)
            p.events = pending(rt) < ROUTER_MAX_PENDING ? POLLIN | POLLOUT
                                                        : POLLOUT;
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            goto end;
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(rt->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            goto end; /* the context was freed */
        if (n > 0 && redisReaderFeed(rt->reader, buf, (size_t)n) != REDIS_OK)
            rt->broken = 1;
        if (rt->reader->len - rt->reader->pos > ROUTER_MAX_REQUEST) {
            snprintf(rt->why, sizeof rt->why, "a request is over %zu MiB",
                     ROUTER_MAX_REQUEST >> 20);
            refuse_stream(rt);
            goto end;
        }
    }
end:
    router_free(rt);
    return NULL;
}

redisContext *cluster_router_connect(const redis_target_t *t, int timeout_ms,
                                     char *err, size_t err_len)
{
    char why[1024];
    int config, sv[2] = {-1, -1};
    router_t *rt = calloc(1, sizeof *rt);
    if (rt == NULL || redis_target_copy(&rt->t, t) != 0) {
        free(rt);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    rt->fd = -1;
    rt->timeout_ms = timeout_ms > 0 ? timeout_ms : CLUSTER_TIMEOUT_MS;
    if (cluster_discover(&rt->t, NULL, 0, &rt->map, &config, why,
                         sizeof why) != 0) {
        snprintf(err, err_len, "redis at %s: no node answered CLUSTER SLOTS"
                 ": %s", t->display, why);
        router_free(rt);
        return NULL;
    }
    if ((rt->reader = redisReaderCreateWithFunctions(&req_functions)) ==
            NULL ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, err_len, "redis at %s: cluster router: %s", t->display,
                 rt->reader ? strerror(errno) : "out of memory");
        router_free(rt);
        return NULL;
    }
    rt->reader->privdata = rt->why;
    rt->fd = sv[0];
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    /* the router enforces timeout_ms on each node itself and then sends
     * its own error line naming the node: the client end waits longer,
     * so that line arrives before the client would give up */
    long long ms = 2LL * rt->timeout_ms + CLUSTER_TIMEOUT_MS;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    /* the thread takes no signals: they stay the caller's threads' */
    pthread_t tid;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&tid, &attr, router_main, rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        snprintf(err, err_len, "redis at %s: cluster router: cannot start "
                 "its thread: %s", t->display, strerror(rc));
        close(sv[1]);
        router_free(rt);
        return NULL;
    }
    /* from here the thread owns rt; closing sv[1] ends it */
    redisContext *c = redisConnectFd(sv[1]);
    if (c == NULL) {
        close(sv[1]);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}
