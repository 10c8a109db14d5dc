/*
 * redis_conn.h - connecting to Redis: a blocking connection for the CLI
 * commands, and a hiredis async connection on the libuv loop that
 * reconnects by itself with capped exponential backoff. Set-up runs AUTH,
 * SELECT and PING one after the other, each only once the previous one
 * succeeded. Errors retrying cannot fix (a wrong password, an unknown db,
 * a missing ACL permission) are told apart from transient ones. It logs
 * one line per state change (lost, misconfigured, restored), never one per
 * retry.
 */
#ifndef JOBRT_REDIS_CONN_H
#define JOBRT_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "queue/redis_target.h"

/* The reconnect backoff: from MIN, doubling per failed attempt, up to MAX;
 * back to MIN once a connection is fully set up. Log lines say "retrying
 * in N ms, " REDIS_BACKOFF_TEXT. */
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000
#define REDIS_BACKOFF_TEXT "then with backoff doubling up to 5 s"

/* 1 if an error reply means the configuration is wrong and retrying
 * cannot fix it: failed AUTH (WRONGPASS, invalid password, no password
 * configured, NOAUTH), SELECT out of range, NOPERM (ACL), an unknown
 * command or subcommand. 0 for transient ones (LOADING, BUSY, MASTERDOWN,
 * TRYAGAIN, OOM, ...) and anything not known to be permanent. */
int redis_error_is_config(const char *err);

/* Blocking connection for CLI commands; authenticates, selects the db
 * and pings. Returns NULL with err set (one line naming the target and
 * the step, never the password). */
redisContext *redis_connect_sync(const redis_target_t *t, int timeout_ms,
                                 char *err, size_t err_len);

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_UP } conn_state_t;

/* The trouble the last log line reported, so each change is one line. */
typedef enum {
    CONN_TROUBLE_NONE,
    CONN_TROUBLE_TRANSIENT,
    CONN_TROUBLE_CONFIG
} conn_trouble_t;

typedef struct redis_conn redis_conn_t;
typedef void (*redis_conn_fn)(redis_conn_t *conn, void *arg);
/* line names the target, the connection, the step and Redis's error. */
typedef void (*redis_conn_fatal_fn)(redis_conn_t *conn, void *arg,
                                    const char *line);

struct redis_conn {
    uv_loop_t *loop;
    const redis_target_t *target;
    const char *label;      /* "reader" / "writer", for log lines */
    redisAsyncContext *ac;  /* NULL unless connecting or up */
    conn_state_t state;
    int setup_step;         /* the set-up command awaiting its reply */
    /* Reconnecting while down, the watchdog of a connect and its set-up
     * (CONNECT_TIMEOUT_MS), and the report of a fatal error. */
    uv_timer_t retry_timer;
    int64_t backoff_ms;
    int64_t down_since_ms;  /* 0 while healthy */
    int ever_up;
    unsigned long long reconnects; /* set up again after being up */
    conn_trouble_t logged;  /* what the last state line said */
    char why[320];          /* why the last attempt failed */
    int why_config;         /* ... and retrying cannot fix it */
    /* Set by the owner until it is fully started: then an error retrying
     * cannot fix stops the connection and goes to on_fatal instead. */
    int config_fatal;
    int stopped;            /* after a fatal error: no more retries */
    int closing;
    /* --sentinel (queue/sentinel.h): the primary they named last, the
     * lookup in the thread pool, and when to ask again while up */
    char cur_host[256];
    int cur_port;
    struct sentinel_req *lookup;
    int64_t next_check_ms;
    redis_conn_fn on_up;    /* connected, authenticated, db selected */
    redis_conn_fn on_down;  /* connection lost; pending callbacks got NULL */
    redis_conn_fatal_fn on_fatal;
    void *arg;
};

void redis_conn_init(redis_conn_t *c, uv_loop_t *loop,
                     const redis_target_t *target, const char *label,
                     redis_conn_fn on_up, redis_conn_fn on_down,
                     redis_conn_fatal_fn on_fatal, void *arg);
void redis_conn_start(redis_conn_t *c);
/* Disconnects at once (pending callbacks run with NULL replies, then
 * on_down) and stops retrying. on_closed runs when the timer handle inside
 * c is closed; c must stay allocated until then. */
void redis_conn_close(redis_conn_t *c, uv_close_cb on_closed);
/* With --sentinel, while up: every SENTINEL_CHECK_MS asks the Sentinels
 * where the primary is (in the thread pool) and reconnects when they name
 * another one. Call it from a periodic tick; nothing without Sentinels. */
void redis_conn_sentinel_check(redis_conn_t *c, int64_t now_ms);

static inline int redis_conn_up(const redis_conn_t *c)
{
    return c->state == CONN_UP && c->ac != NULL;
}

/* "12.3 s": for "restored after ..." lines. */
void redis_format_duration(int64_t ms, char *out, size_t out_len);

#endif
