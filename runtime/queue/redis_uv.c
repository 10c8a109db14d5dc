/*
 * redis_uv.c - the hiredis <-> libuv glue; see redis_uv.h.
 */
#include "queue/redis_uv.h"

#include <stdlib.h>

typedef struct {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uv_poll_t poll;
    int events;            /* what hiredis asked to be told about */
} uv_events_t;

static void on_poll(uv_poll_t *h, int status, int events)
{
    uv_events_t *p = h->data;
    if (p->ac == NULL)
        return;
    if (status < 0) /* let hiredis try, fail and report it */
        events = p->events;
    if (events & UV_READABLE)
        redisAsyncHandleRead(p->ac);
    /* the read may have failed and cleaned the context up */
    if (p->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
}

static void update(uv_events_t *p, int events)
{
    p->events = events;
    if (events)
        uv_poll_start(&p->poll, events, on_poll);
    else
        uv_poll_stop(&p->poll);
}

static void add_read(void *d) { update(d, ((uv_events_t *)d)->events | UV_READABLE); }
static void del_read(void *d) { update(d, ((uv_events_t *)d)->events & ~UV_READABLE); }
static void add_write(void *d) { update(d, ((uv_events_t *)d)->events | UV_WRITABLE); }
static void del_write(void *d) { update(d, ((uv_events_t *)d)->events & ~UV_WRITABLE); }

static void on_closed(uv_handle_t *h) { free(h->data); }

static void cleanup(void *d)
{
    uv_events_t *p = d;
    p->ac = NULL; /* the context is being freed */
    uv_close((uv_handle_t *)&p->poll, on_closed);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (ac->ev.data != NULL)
        return REDIS_ERR;
    uv_events_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return REDIS_ERR;
    if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) {
        free(p);
        return REDIS_ERR;
    }
    p->ac = ac;
    p->poll.data = p;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return REDIS_OK;
}
