/*
 * redis_conn.h - where Redis is (a URL) and a hiredis async connection on
 * the libuv loop that reconnects by itself with capped exponential backoff.
 * It logs one line per state change (lost, restored), never one per retry.
 */
#ifndef JOBRT_REDIS_CONN_H
#define JOBRT_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

typedef struct {
    char *host;     /* NULL when path is set */
    int port;
    char *path;     /* unix socket */
    int db;
    char *password;
    char display[300]; /* for log lines, without the password */
} redis_target_t;

/* redis://[:password@]host[:port][/db] or unix:///path/to.sock[?db=N]
 * Returns 0, or -1 with err set. */
int redis_target_parse(const char *url, redis_target_t *t, char *err,
                       size_t err_len);
void redis_target_free(redis_target_t *t);

/* Blocking connection for CLI commands (enqueue, status); authenticates and
 * selects the db. Returns NULL with err set. */
redisContext *redis_connect_sync(const redis_target_t *t, int timeout_ms,
                                 char *err, size_t err_len);

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_UP } conn_state_t;

typedef struct redis_conn redis_conn_t;
typedef void (*redis_conn_fn)(redis_conn_t *conn, void *arg);

struct redis_conn {
    uv_loop_t *loop;
    const redis_target_t *target;
    const char *label;      /* "reader" / "writer", for log lines */
    redisAsyncContext *ac;  /* NULL unless connecting or up */
    conn_state_t state;
    uv_timer_t retry_timer;
    int64_t backoff_ms;
    int64_t down_since_ms;  /* 0 while healthy */
    int ever_up;
    int outage_logged;      /* the WARN line for this outage is out */
    int closing;
    redis_conn_fn on_up;    /* connected, authenticated, db selected */
    redis_conn_fn on_down;  /* connection lost; pending callbacks got NULL */
    void *arg;
};

void redis_conn_init(redis_conn_t *c, uv_loop_t *loop,
                     const redis_target_t *target, const char *label,
                     redis_conn_fn on_up, redis_conn_fn on_down, void *arg);
void redis_conn_start(redis_conn_t *c);
/* Disconnects at once (pending callbacks run with NULL replies, then
 * on_down) and stops retrying. on_closed runs when the timer handle inside
 * c is closed; c must stay allocated until then. */
void redis_conn_close(redis_conn_t *c, uv_close_cb on_closed);
static inline int redis_conn_up(const redis_conn_t *c)
{
    return c->state == CONN_UP && c->ac != NULL;
}

#endif
