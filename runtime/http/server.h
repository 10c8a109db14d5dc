/*
 * server.h - a small HTTP/1.1 server on a libuv loop, for the operations
 * endpoint of `jobrt run` (observe/ops.h): requests are parsed by
 * libhttp-parser, one at a time per connection (keep-alive; pipelined
 * requests wait for the answer before theirs), and each is handed to one
 * handler that answers at once or later (from work done off the loop).
 * HEAD is handed over as itself; its answer goes without the body.
 *
 * Everything a client sends is bounded: header bytes, body bytes, open
 * connections in all and per peer (a new one past either limit takes
 * the place of an idle one, and is closed at accept when none is idle:
 * see server.c), the time to send a whole
 * request (slow clients are cut off), idle keep-alive time and the time
 * to take an answer. A bad request gets a 4xx and the connection is
 * closed (after the answer is out); nothing a client does
 * reaches the jobs, which run on other threads or processes.
 */
#ifndef JOBRT_HTTP_SERVER_H
#define JOBRT_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_HEADER_BYTES (16 * 1024) /* request line and headers */
#define HTTP_MAX_BODY_BYTES (64 * 1024)
#define HTTP_MAX_CONNECTIONS 256
#define HTTP_MAX_PER_PEER 64          /* from one IPv4 address or IPv6 /64 */
#define HTTP_REQUEST_TIMEOUT_MS 10000 /* connection (or, kept alive, first
                                         byte) to whole request */
#define HTTP_IDLE_TIMEOUT_MS 30000    /* keep-alive with nothing sent */
#define HTTP_WRITE_TIMEOUT_MS 10000   /* an answer the client does not read */
#define HTTP_LINGER_MS 2000           /* after the last answer (see server.c) */

typedef struct http_server http_server_t;

/* One request, valid until http_respond. Header values are "" when the
 * request did not have them. */
typedef struct {
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* the URL's path, undecoded */
    const char *query;   /* after '?', "" if none */
    const char *authorization, *origin, *host, *sec_fetch_site,
        *content_type, *accept;
    const char *body;
    size_t body_len;
    int peer_loopback;   /* the client is on 127.0.0.0/8 or ::1 */
    void *conn;          /* the server's */
} http_request_t;

typedef void (*http_handler_fn)(void *arg, http_request_t *req);

typedef struct {
    const char *host;   /* numeric address to bind: "127.0.0.1", "::" */
    int port;
    http_handler_fn handler;
    void *arg;
} http_server_opts_t;

/* Parses "ADDR:PORT" or "[V6]:PORT" or ":PORT" (127.0.0.1) into host and
 * *port: ADDR numeric, an IPv6 one in brackets, PORT 0-65535 in digits.
 * Returns 0, or -1 with err set. */
int http_parse_listen(const char *spec, char *host, size_t host_len,
                      int *port, char *err, size_t err_len);

/* Binds and listens. Returns NULL with err set ("--http 1.2.3.4:80: ..."). */
http_server_t *http_server_start(uv_loop_t *loop, const http_server_opts_t *o,
                                 char *err, size_t err_len);
/* The port bound (for port 0). */
int http_server_port(const http_server_t *s);

/* Answers req (exactly once). extra_headers: "" or lines each ending in
 * "\r\n"; every answer has Content-Type, Content-Length,
 * X-Content-Type-Options: nosniff and Cache-Control: no-store, unless
 * extra_headers has a Cache-Control of its own (then it replaces
 * no-store). Copies what it needs; req is gone after this call. */
void http_respond(http_request_t *req, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len);

/* The numeric address addr ("127.0.0.1", "::1", "::ffff:127.0.0.2") is
 * on loopback: 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6. */
int http_addr_is_loopback(const char *addr);

/* Stops listening and closes every connection; requests still awaiting
 * an answer are dropped when it comes. Frees s once its handles close. */
void http_server_close(http_server_t *s);

#endif
