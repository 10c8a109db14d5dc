/*
 * request.c - one HTTP request as libhttp-parser hands it over: the
 * request line and the few headers a handler reads are kept in the
 * connection's fixed buffer (the rest only counted), the body in a
 * buffer of its own, each within its limit (server.h); a whole request
 * pauses the parser for the handler (see server.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "http/server_internal.h"

static const char *const header_names[H_N] = {
    "authorization", "origin", "host", "sec-fetch-site", "content-type",
    "accept"};

static int count_header(conn_t *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > HTTP_MAX_HEADER_BYTES) {
        c->error_status = 431;
        return -1;
    }
    return 0;
}

static void keep(conn_t *c, const char *at, size_t len)
{
    /* bounded by count_header: the total kept is under the buffer */
    memcpy(c->head + c->head_len, at, len);
    c->head_len += len;
}

static void end_kept(conn_t *c) { c->head[c->head_len++] = '\0'; }

static int on_message_begin(http_parser *p)
{
    conn_t *c = p->data;
    if (c->request_started == 0)
        c->request_started = util_mono_ms();
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (count_header(c, len))
        return -1;
    keep(c, at, len);
    return 0;
}

static void url_done(conn_t *c)
{
    if (!c->url_done) {
        end_kept(c);
        c->url_done = 1;
    }
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    url_done(c);
    if (count_header(c, len))
        return -1;
    if (c->headers_done) /* a trailer (chunked body): counted, not kept */
        return 0;
    if (c->in_value) { /* a new header begins */
        if (c->value_for >= 0)
            end_kept(c);
        c->in_value = 0;
        c->field_len = 0;
        c->field_long = 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (c->field_len + 1 >= sizeof c->field) {
            c->field_long = 1;
            break;
        }
        char ch = at[i];
        c->field[c->field_len++] =
            ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    c->field[c->field_len] = '\0';
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (count_header(c, len))
        return -1;
    if (c->headers_done)
        return 0;
    if (!c->in_value) {
        c->in_value = 1;
        c->value_for = -1;
        for (int i = 0; i < H_N && !c->field_long; i++)
            if (strcmp(c->field, header_names[i]) == 0) {
                if (c->hdr_off[i] >= 0) { /* twice: which one counts? */
                    c->error_status = 400;
                    return -1;
                }
                c->value_for = i;
                c->hdr_off[i] = (long)c->head_len;
            }
    }
    if (c->value_for >= 0)
        keep(c, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    conn_t *c = p->data;
    url_done(c);
    if (c->in_value && c->value_for >= 0)
        end_kept(c);
    c->in_value = 0;
    c->headers_done = 1;
    if (p->content_length != ULLONG_MAX &&
        p->content_length > HTTP_MAX_BODY_BYTES) {
        c->error_status = 413;
        return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (c->body_len + len > HTTP_MAX_BODY_BYTES) {
        c->error_status = 413;
        return -1;
    }
    if (c->body_len + len + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap * 2 : 4096;
        while (cap < c->body_len + len + 1)
            cap *= 2;
        char *nb = realloc(c->body, cap);
        if (nb == NULL) {
            c->error_status = 503;
            return -1;
        }
        c->body = nb;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    c->body[c->body_len] = '\0';
    return 0;
}

static const char *kept(const conn_t *c, int h)
{
    return c->hdr_off[h] >= 0 ? c->head + c->hdr_off[h] : "";
}

static int on_message_complete(http_parser *p)
{
    conn_t *c = p->data;
    url_done(c);
    /* an Upgrade or CONNECT is answered, and then the connection ends:
     * what the client sends next is not HTTP */
    c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    c->is_head = p->method == HTTP_HEAD;
    char *url = c->head + c->url_off;
    char *q = strchr(url, '?');
    if (q)
        *q++ = '\0';
    char *frag = strchr(q ? q : url, '#');
    if (frag)
        *frag = '\0';
    http_request_t *r = &c->req;
    r->method = http_method_str((enum http_method)p->method);
    r->path = url;
    r->query = q ? q : "";
    r->authorization = kept(c, H_AUTHORIZATION);
    r->origin = kept(c, H_ORIGIN);
    r->host = kept(c, H_HOST);
    r->sec_fetch_site = kept(c, H_SEC_FETCH_SITE);
    r->content_type = kept(c, H_CONTENT_TYPE);
    r->accept = kept(c, H_ACCEPT);
    r->body = c->body ? c->body : "";
    r->body_len = c->body_len;
    r->peer_loopback = c->peer_loopback;
    r->conn = c;
    c->state = C_AWAITING;
    http_parser_pause(p, 1);
    return 0;
}

void request_reset(conn_t *c)
{
    c->head_len = c->header_bytes = 0;
    c->url_off = 0;
    c->url_done = 0;
    for (int i = 0; i < H_N; i++)
        c->hdr_off[i] = -1;
    c->field_len = 0;
    c->field_long = 0;
    c->value_for = -1;
    c->in_value = 0;
    c->body_len = 0;
    c->request_started = 0;
    c->error_status = 0;
    c->headers_done = 0;
    c->is_head = 0;
    if (c->body_cap > 2 * HTTP_MAX_BODY_BYTES / 4) { /* do not pin it */
        free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
}

void request_settings(http_parser_settings *s)
{
    http_parser_settings_init(s);
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_header_field = on_header_field;
    s->on_header_value = on_header_value;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}
