/*
 * server_internal.h - one connection of the HTTP server and the server
 * itself, shared by the files that implement it (not for use elsewhere):
 *
 *   server.c   connections: admission by peer, reading, answering,
 *              timers, closing; the listener
 *   request.c  one request as libhttp-parser hands it over: the request
 *              line, the headers kept, the body, and their limits
 */
#ifndef JOBRT_HTTP_SERVER_INTERNAL_H
#define JOBRT_HTTP_SERVER_INTERNAL_H

#include <http_parser.h>
#include <stdint.h>
#include <uv.h>

#include "http/server.h"

/* The headers a handler may read, by index into conn_t.hdr_off. */
enum { H_AUTHORIZATION, H_ORIGIN, H_HOST, H_SEC_FETCH_SITE, H_CONTENT_TYPE,
       H_ACCEPT, H_N };

/* READING: parsing a request (timer: request or idle timeout); AWAITING:
 * the handler has it (no timer, no reads); WRITING: the answer is being
 * sent (timer: the write timeout); LINGERING: the last answer was sent
 * and the write side shut down, what the client still sends is read and
 * dropped for a moment, so that closing does not reset the connection
 * before the client has read the answer; CLOSING: handles closing. */
typedef enum {
    C_READING, C_AWAITING, C_WRITING, C_LINGERING, C_CLOSING
} conn_state_t;

/* The connections from one peer address. */
typedef struct peer {
    unsigned char key[16]; /* see peer_key */
    size_t conns;
    struct peer *next;
} peer_t;

typedef struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    http_server_t *srv;
    http_parser parser;
    conn_state_t state;
    int handles_open;
    int keep_alive;
    int peer_loopback;
    peer_t *peer;         /* while linked into the server's list */
    int idle;             /* no byte of a request since idle_since */
    int64_t idle_since;   /* monotonic ms */
    int error_status;     /* a limit or parse error: answer and close */
    int headers_done;     /* what follows are trailers: not kept */
    int is_head;          /* the request was HEAD: the answer has no body */
    size_t lingered;      /* bytes dropped while lingering */
    int64_t request_started; /* monotonic ms of this request's first byte */
    /* the request line and the headers kept, NUL-separated */
    char head[HTTP_MAX_HEADER_BYTES + H_N + 2];
    size_t head_len, header_bytes;
    size_t url_off;
    int url_done;
    long hdr_off[H_N];    /* -1: absent */
    char field[32];       /* the header name being read, lowercased */
    size_t field_len;
    int field_long;       /* longer than any name kept */
    int value_for;        /* H_*, or -1: a header not kept */
    int in_value;
    char *body;
    size_t body_len, body_cap;
    char *rest;           /* bytes after the request, for the next one */
    size_t rest_len;
    http_request_t req;
    struct conn *prev, *next;
} conn_t;

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_server_opts_t o;
    http_parser_settings settings;
    int port;
    int closing;
    int handles_open;
    size_t n_conns;
    conn_t *conns;
    peer_t *peers;
    char rbuf[64 * 1024]; /* read buffer, consumed within each read */
};

/* request.c */
/* The parser's callbacks, into s. */
void request_settings(http_parser_settings *s);
/* Forgets the request read so far (keeps the body buffer unless large). */
void request_reset(conn_t *c);

#endif
