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

/* One node at host:port, logged in as t says (AUTH; no Sentinel, no
 * Cluster routing): what cluster.c asks CLUSTER SLOTS of and routes to.
 * NULL with err set (naming t's display, not the password). */
redisContext *redis_connect_node_sync(const redis_target_t *t,
                                      const char *host, int port,
                                      int timeout_ms, char *err,
                                      size_t err_len);

typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_UP } conn_state_t;

/* The trouble the last log line reported, so each change is one line. */
typedef enum {
    CONN_TROUBLE_NONE,
    CONN_TROUBLE_TRANSIENT,
    CONN_TROUBLE_CONFIG,
    CONN_TROUBLE_MOVED /* dropped on purpose to go elsewhere (MOVED, ...) */
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
    /* --cluster (queue/cluster.h): the slot this connection serves (-1:
     * none), where a MOVED said it is (connected to directly next), the
     * primaries the last map named (asked when the target's node is
     * down), and what redis_conn_drop said */
    int slot;
    int moved_hint;
    struct cluster_node *seeds;
    int n_seeds;
    char drop_why[200];
    int dropping;           /* on_disconnect of a redis_conn_drop */
    int64_t last_drop_ms;   /* a drop within a second backs off */
    /* --cluster, while up: the oldest reply awaited at the last check and
     * for how many checks it was, and since when the slot's node answers
     * CLUSTERDOWN / TRYAGAIN (0: it does not); either asks the cluster */
    const void *stuck_head;
    int64_t stuck_since_ms;
    int64_t stuck_after_ms; /* a reply awaited longer is stuck [2000] */
    int64_t busy_since_ms;
    int readonly_logged;    /* READONLY without Sentinels: said once */
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
 * another one. With --cluster, while up: asks the cluster where the slot
 * is when the oldest reply awaited has been so for c->stuck_after_ms (a
 * primary frozen or cut off, whose replica may be promoted meanwhile;
 * set it above what a blocking command of c may take) or
 * the node has answered CLUSTERDOWN / TRYAGAIN for over a second (a
 * primary on the minority side of a partition), and reconnects when the
 * map names another primary. Call it from a periodic tick. */
#define REDIS_STUCK_AFTER_MS 2000

/* With --cluster, while up and not asking already: asks the cluster now
 * where c's slot is, as a check would (call it for the other connections
 * of a queue when one of them went down: the slot may have moved, and a
 * blocked read would notice late). Nothing otherwise. */
void redis_conn_recheck(redis_conn_t *c);
void redis_conn_sentinel_check(redis_conn_t *c, int64_t now_ms);

/* With --cluster: the slot whose primary c connects to (call before
 * redis_conn_start; without it, the primary of slot 0's range). */
void redis_conn_set_slot(redis_conn_t *c, unsigned slot);

/* Closes c's connection at once, without waiting for replies (a cut-off
 * server may never send them): pending callbacks get NULL, on_down runs,
 * and c reconnects as after a lost connection; `why` is its log line's
 * reason. Safe inside one of c's reply callbacks. */
void redis_conn_drop(redis_conn_t *c, const char *why);

/* What an error reply to a command on c asks for. */
typedef enum {
    REDIS_ROUTE_NONE,      /* an ordinary error: the caller's to handle */
    REDIS_ROUTE_RECONNECT, /* c was dropped and reconnects where it must
                              (MOVED: to the slot's new primary; READONLY
                              with --sentinel or --cluster: demoted, ask
                              again); send the command again once up */
    REDIS_ROUTE_RETRY      /* send it again on c in REDIS_ROUTE_RETRY_MS:
                              TRYAGAIN, CLUSTERDOWN, ASK (a slot being
                              migrated; ends in MOVED), READONLY with a
                              plain --redis (said once: it needs the
                              primary) */
} redis_route_t;
#define REDIS_ROUTE_RETRY_MS 50
#define REDIS_ROUTE_READONLY_RETRY_MS 1000

redis_route_t redis_conn_route_error(redis_conn_t *c, const char *err,
                                     size_t len);

static inline int redis_conn_up(const redis_conn_t *c)
{
    return c->state == CONN_UP && c->ac != NULL;
}

/* "12.3 s": for "restored after ..." lines. */
void redis_format_duration(int64_t ms, char *out, size_t out_len);

#endif
