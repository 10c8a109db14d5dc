/*
 * server.c - connections (request.c parses each request) and limits of the
 * operations endpoint's HTTP server; see server.h.
 *
 * A connection reads until one request is whole, pauses the parser and
 * stops reading while the handler works on it, writes the answer, and
 * then (keep-alive) goes on with whatever bytes came after the request
 * (pipelined requests are answered one after the other, in order). One
 * timer per connection cuts off a request that takes longer than
 * HTTP_REQUEST_TIMEOUT_MS to arrive (slowloris; the first one counted
 * from the connection), an idle keep-alive connection, an answer the
 * client does not read, and the linger after the last answer.
 *
 * Connections are admitted by peer (an IPv4 address, or an IPv6 /64):
 * past HTTP_MAX_PER_PEER, or past HTTP_MAX_CONNECTIONS in all, a new
 * connection takes the place of an idle one (between requests, not yet
 * sent its first, or lingering) -- of the same peer, or of the peer
 * holding the most, the one idle longest -- and is closed only when
 * none is idle. So neither held keep-alive connections nor a flood of
 * silent ones shut out a health check.
 */
#include "http/server_internal.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"

/* Connections the kernel may queue before the loop accepts them (capped
 * by net.core.somaxconn). Past it, a burst of connections is not refused
 * but half-made (the client's handshake is dropped and retried for up to
 * a minute); a long queue lets the loop accept and close a burst past
 * HTTP_MAX_CONNECTIONS at once instead. */
#define HTTP_LISTEN_BACKLOG 1024

static void conn_close(conn_t *c);
static void parse(conn_t *c, const char *data, size_t len);

/* ---- connections ---------------------------------------------------------- */

static void set_idle(conn_t *c)
{
    c->idle = 1;
    c->idle_since = util_mono_ms();
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    if (--c->handles_open > 0)
        return;
    http_server_t *s = c->srv;
    free(c->body);
    free(c->rest);
    free(c);
    if (--s->handles_open == 0 && s->closing)
        free(s);
}

static void conn_free_handles(conn_t *c)
{
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void drop_peer(http_server_t *s, peer_t *p)
{
    if (--p->conns > 0)
        return;
    for (peer_t **pp = &s->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    free(p);
}

static void unlink_conn(conn_t *c)
{
    http_server_t *s = c->srv;
    drop_peer(s, c->peer);
    c->peer = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->n_conns--;
}

static void conn_close(conn_t *c)
{
    if (c->state == C_CLOSING)
        return;
    int awaiting = c->state == C_AWAITING;
    c->state = C_CLOSING;
    unlink_conn(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    /* A handler still holds req: its answer frees the connection. */
    if (!awaiting)
        conn_free_handles(c);
}

static void arm_timer(conn_t *c);

/* Too slow to send a request, idle too long, not reading its answer, or
 * done lingering: the connection ends. */
static void on_timer(uv_timer_t *t)
{
    conn_t *c = t->data;
    if (c->state == C_READING || c->state == C_WRITING ||
        c->state == C_LINGERING)
        conn_close(c);
}

static void arm_timer(conn_t *c)
{
    int64_t now = util_mono_ms(), left;
    if (c->request_started)
        left = c->request_started + HTTP_REQUEST_TIMEOUT_MS - now;
    else
        left = HTTP_IDLE_TIMEOUT_MS;
    uv_timer_start(&c->timer, on_timer, left > 0 ? (uint64_t)left : 0, 0);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

typedef struct {
    uv_write_t req;
    conn_t *c;
    char data[];
} write_t;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn_t *c = h->data;
    (void)hint;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    conn_t *c = st->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n > 0 && c->state == C_READING)
        parse(c, buf->base, (size_t)n);
    /* C_LINGERING: dropped; the linger timer ends it */
}

static void on_shutdown(uv_shutdown_t *sd, int status)
{
    conn_t *c = sd->data;
    if (status != 0 && c->state == C_LINGERING)
        conn_close(c);
}

/* The last answer is out: half-close, drop what the client still sends
 * for up to HTTP_LINGER_MS, and close at its EOF. Closing at once would
 * reset the connection if unread bytes of its request were left (a body
 * refused as too large), and a reset can discard the answer in the
 * client's buffers before it reads it. */
static void linger(conn_t *c)
{
    c->state = C_LINGERING;
    set_idle(c);
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timer, HTTP_LINGER_MS, 0);
}

static void on_written(uv_write_t *w, int status)
{
    write_t *wr = (write_t *)w;
    conn_t *c = wr->c;
    free(wr);
    if (c->state == C_CLOSING)
        return;
    if (status != 0) {
        conn_close(c);
        return;
    }
    if (!c->keep_alive) {
        linger(c);
        return;
    }
    c->state = C_READING;
    request_reset(c);
    set_idle(c);
    http_parser_pause(&c->parser, 0);
    arm_timer(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    if (c->rest_len) { /* a request sent right behind the last one */
        char *rest = c->rest;
        size_t len = c->rest_len;
        c->rest = NULL;
        c->rest_len = 0;
        parse(c, rest, len);
        free(rest);
    }
}

/* One of the lines of headers ("Name: value\r\n"...) is name's. */
static int has_header(const char *headers, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = headers; *l; ) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':')
            return 1;
        const char *end = strstr(l, "\r\n");
        if (end == NULL)
            break;
        l = end + 2;
    }
    return 0;
}

void http_respond(http_request_t *req, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len)
{
    conn_t *c = req->conn;
    if (c->state == C_CLOSING) { /* the client went away meanwhile */
        conn_free_handles(c);
        return;
    }
    char head[1024];
    if (extra_headers == NULL)
        extra_headers = "";
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n%s"
                     "X-Content-Type-Options: nosniff\r\n%s%s\r\n",
                     status, status_text(status), content_type, len,
                     has_header(extra_headers, "Cache-Control")
                         ? "" : "Cache-Control: no-store\r\n",
                     extra_headers,
                     c->keep_alive ? "" : "Connection: close\r\n");
    if (n < 0 || (size_t)n >= sizeof head) {
        conn_close(c);
        conn_free_handles(c);
        return;
    }
    write_t *wr = malloc(sizeof *wr + (size_t)n + len);
    if (wr == NULL) {
        c->state = C_READING; /* so that close frees it */
        conn_close(c);
        return;
    }
    memcpy(wr->data, head, (size_t)n);
    if (c->is_head) /* the length of the body GET would get, no body */
        len = 0;
    if (len)
        memcpy(wr->data + n, body, len);
    wr->c = c;
    c->state = C_WRITING;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)((size_t)n + len));
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(wr);
        conn_close(c);
        return;
    }
    /* a client that does not read its answer gives up its connection */
    uv_timer_start(&c->timer, on_timer, HTTP_WRITE_TIMEOUT_MS, 0);
}

/* A request the parser or a limit refused: answer it and close. */
static void refuse(conn_t *c, int status)
{
    static const char *const why[] = {"bad request\n", "too large\n"};
    const char *text = status == 400 ? why[0] : why[1];
    c->keep_alive = 0;
    c->state = C_AWAITING;
    c->req.conn = c;
    http_respond(&c->req, status, "text/plain; charset=utf-8", "", text,
                 strlen(text));
}

static void parse(conn_t *c, const char *data, size_t len)
{
    c->idle = 0;
    if (c->request_started == 0)
        c->request_started = util_mono_ms();
    size_t used = http_parser_execute(&c->parser, &c->srv->settings, data,
                                      len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        /* one whole request: keep what came after it for later */
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_timer_stop(&c->timer);
        if (used < len) {
            c->rest_len = len - used;
            c->rest = malloc(c->rest_len);
            if (c->rest == NULL) { /* lost bytes: end after this answer */
                c->rest_len = 0;
                c->keep_alive = 0;
            } else {
                memcpy(c->rest, data + used, c->rest_len);
            }
        }
        c->srv->o.handler(c->srv->o.arg, &c->req);
        return;
    }
    if (e != HPE_OK) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        uv_timer_stop(&c->timer);
        refuse(c, c->error_status ? c->error_status : 400);
        return;
    }
    arm_timer(c);
}

int http_addr_is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return 0;
    return IN6_IS_ADDR_LOOPBACK(&a6) ||
           (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

/* What connections are counted by: an IPv4 address (as ::ffff:a.b.c.d,
 * so that a v4-mapped peer is the same one), or an IPv6 address's /64
 * (a host usually has a whole /64 to pick addresses from). */
static void peer_key(const struct sockaddr_storage *ss, unsigned char k[16],
                     char *text, size_t text_len)
{
    memset(k, 0, 16);
    text[0] = '\0';
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        k[10] = k[11] = 0xff;
        memcpy(k + 12, &a->sin_addr, 4);
        inet_ntop(AF_INET, &a->sin_addr, text, (socklen_t)text_len);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        memcpy(k, &a->sin6_addr, IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) ? 16 : 8);
        inet_ntop(AF_INET6, &a->sin6_addr, text, (socklen_t)text_len);
    }
}

static peer_t *find_peer(http_server_t *s, const unsigned char key[16])
{
    for (peer_t *p = s->peers; p; p = p->next)
        if (memcmp(p->key, key, 16) == 0)
            return p;
    return NULL;
}

/* The idle connection a new one takes the place of: only's (when given),
 * or any peer's, preferring the peer holding the most connections, then
 * the connection idle longest. NULL when none is idle: a connection in
 * the middle of a request, or whose request a handler has, stays. */
static conn_t *idle_to_evict(http_server_t *s, const peer_t *only)
{
    conn_t *best = NULL;
    for (conn_t *c = s->conns; c; c = c->next) {
        int idle = c->state == C_LINGERING ||
                   (c->state == C_READING && c->idle);
        if (!idle || (only && c->peer != only))
            continue;
        if (best == NULL || c->peer->conns > best->peer->conns ||
            (c->peer->conns == best->peer->conns &&
             c->idle_since < best->idle_since))
            best = c;
    }
    return best;
}

/* Makes room for a connection from key: 0, or -1 when there is none. */
static int admit(http_server_t *s, const unsigned char key[16],
                 const char *who)
{
    peer_t *p = find_peer(s, key);
    conn_t *victim = NULL;
    if (p && p->conns >= HTTP_MAX_PER_PEER) {
        victim = idle_to_evict(s, p);
        if (victim == NULL) {
            LOGD("http", "connection from %s refused: %d open from it, "
                 "none idle", who, HTTP_MAX_PER_PEER);
            return -1;
        }
    } else if (s->n_conns >= HTTP_MAX_CONNECTIONS) {
        victim = idle_to_evict(s, NULL);
        if (victim == NULL) {
            LOGD("http", "connection from %s refused: %d open (the limit), "
                 "none idle", who, HTTP_MAX_CONNECTIONS);
            return -1;
        }
    }
    if (victim)
        conn_close(victim);
    return 0;
}

static void link_conn(http_server_t *s, conn_t *c, const unsigned char key[16])
{
    peer_t *p = find_peer(s, key);
    if (p == NULL) {
        p = calloc(1, sizeof *p);
        if (p == NULL) {
            c->state = C_CLOSING;
            conn_free_handles(c);
            return;
        }
        memcpy(p->key, key, 16);
        p->next = s->peers;
        s->peers = p;
    }
    p->conns++;
    c->peer = p;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
}

static void on_connection(uv_stream_t *listener, int status)
{
    http_server_t *s = listener->data;
    if (status != 0 || s->closing)
        return;
    /* accepted even when it is refused: the backlog must not fill up */
    conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    s->handles_open++;
    c->state = C_CLOSING; /* until linked */
    struct sockaddr_storage ss;
    int len = sizeof ss;
    unsigned char key[16];
    char who[INET6_ADDRSTRLEN];
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
        uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) {
        conn_free_handles(c);
        return;
    }
    peer_key(&ss, key, who, sizeof who);
    if (admit(s, key, who) != 0) {
        conn_free_handles(c);
        return;
    }
    link_conn(s, c, key);
    if (c->peer == NULL)
        return;
    c->state = C_READING;
    c->peer_loopback = http_addr_is_loopback(who);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    request_reset(c);
    set_idle(c);
    /* the first request is due within the request timeout of the
     * connection, so that silent connections cannot hold every slot for
     * the idle timeout */
    c->request_started = util_mono_ms();
    arm_timer(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* ---- the server ----------------------------------------------------------- */

int http_parse_listen(const char *spec, char *host, size_t host_len,
                      int *port, char *err, size_t err_len)
{
    const char *colon = strrchr(spec, ':');
    if (colon == NULL) {
        snprintf(err, err_len, "'%s' is not ADDR:PORT (e.g. 127.0.0.1:9180)",
                 spec);
        return -1;
    }
    const char *h = spec;
    size_t hl = (size_t)(colon - spec);
    int bracketed = hl >= 2 && h[0] == '[' && h[hl - 1] == ']';
    if (bracketed) {
        h++;
        hl -= 2;
        if (hl == 0) {
            snprintf(err, err_len, "'%s': no address between [ and ]", spec);
            return -1;
        }
    }
    if (hl == 0) {
        h = "127.0.0.1";
        hl = strlen(h);
    }
    if (hl >= host_len) {
        snprintf(err, err_len, "'%s': address too long", spec);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    const char *digits = colon + 1;
    size_t nd = strspn(digits, "0123456789");
    long p = nd >= 1 && nd <= 5 ? strtol(digits, NULL, 10) : -1;
    if (digits[nd] != '\0' || p < 0 || p > 65535) {
        snprintf(err, err_len, "'%s': port must be a number 0-65535", spec);
        return -1;
    }
    unsigned char tmp[16];
    int v4 = inet_pton(AF_INET, host, tmp) == 1;
    int v6 = !v4 && inet_pton(AF_INET6, host, tmp) == 1;
    if (!v4 && !v6) {
        snprintf(err, err_len, "'%s': '%s' is not a numeric IPv4 or IPv6 "
                 "address", spec, host);
        return -1;
    }
    if (v6 != bracketed) {
        snprintf(err, err_len, "'%s': %s", spec, v6
                     ? "an IPv6 address goes in brackets: [::1]:9180"
                     : "only an IPv6 address goes in brackets");
        return -1;
    }
    *port = (int)p;
    return 0;
}

http_server_t *http_server_start(uv_loop_t *loop, const http_server_opts_t *o,
                                 char *err, size_t err_len)
{
    http_server_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->o = *o;
    request_settings(&s->settings);
    struct sockaddr_storage ss;
    int rc = strchr(o->host, ':')
                 ? uv_ip6_addr(o->host, o->port, (struct sockaddr_in6 *)&ss)
                 : uv_ip4_addr(o->host, o->port, (struct sockaddr_in *)&ss);
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->handles_open = 1;
    if (rc == 0)
        rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, HTTP_LISTEN_BACKLOG,
                       on_connection);
    if (rc != 0) {
        snprintf(err, err_len, "cannot listen on %s:%d: %s", o->host,
                 o->port, uv_strerror(rc));
        http_server_close(s);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    s->port = o->port;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen) ==
        0)
        s->port = ntohs(bound.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&bound)->sin6_port
                            : ((struct sockaddr_in *)&bound)->sin_port);
    return s;
}

int http_server_port(const http_server_t *s) { return s->port; }

static void on_listener_closed(uv_handle_t *h)
{
    http_server_t *s = h->data;
    if (--s->handles_open == 0)
        free(s);
}

void http_server_close(http_server_t *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = 1;
    while (s->conns)
        conn_close(s->conns);
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}
