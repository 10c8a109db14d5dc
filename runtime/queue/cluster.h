/*
 * cluster.h - Redis Cluster (--cluster): the slot of a key, the slot map
 * CLUSTER SLOTS answers, the MOVED and ASK redirections, and one
 * discovery (blocking: the CLI calls it directly, a worker's connections
 * from the libuv thread pool, as for Sentinel). Every answer is untrusted:
 * a host is at most 255 printable bytes, a port 1 to 65535, a slot below
 * CLUSTER_SLOTS, and a map at most CLUSTER_MAX_RANGES ranges, checked
 * once parsed (hiredis 0.14 reads a whole reply first, with no limit on
 * its size: the nodes asked are the operator's own).
 *
 * A queue's keys carry the queue name as their hash tag, so each queue
 * lives in one slot; a worker's connections for a queue go to the
 * primary that serves it (redis_conn.c), and the CLI's sync connection is
 * a small router that follows every redirection (cluster_router.c).
 */
#ifndef JOBRT_QUEUE_CLUSTER_H
#define JOBRT_QUEUE_CLUSTER_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "queue/redis_target.h"

#define CLUSTER_SLOTS 16384
#define CLUSTER_MAX_RANGES 16384 /* ranges of one CLUSTER SLOTS answer */
#define CLUSTER_MAX_NODES 64     /* primaries remembered as seeds */
#define CLUSTER_TIMEOUT_MS 1000  /* connect and answer, per node asked */

typedef struct cluster_node {
    char host[256];
    int port;
} cluster_node_t;

typedef struct {
    int lo, hi;             /* slots lo..hi, inclusive */
    cluster_node_t primary; /* who serves them */
} cluster_range_t;

typedef struct {
    cluster_range_t *range; /* sorted by lo */
    int n;
} cluster_map_t;

/* CRC16 (XMODEM) of the key's hash tag (the bytes between the first '{'
 * and the next '}', when not empty) or of the whole key, mod 16384. */
unsigned cluster_key_slot(const char *key, size_t len);

/* Fills m from a CLUSTER SLOTS reply. An entry with an empty host means
 * the node that answered: `asked` (may be NULL, then such an entry is
 * refused). Returns 0, or -1 with err saying what is wrong (m is then
 * empty); m needs cluster_map_free() after success. */
int cluster_map_parse(const redisReply *r, const cluster_node_t *asked,
                      cluster_map_t *m, char *err, size_t err_len);
void cluster_map_free(cluster_map_t *m);

/* The primary serving slot: 0, or -1 when no range covers it. */
int cluster_map_find(const cluster_map_t *m, unsigned slot,
                     cluster_node_t *out);

/* "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381": 1 (MOVED) or
 * 2 (ASK) with slot and node set, 0 for any other error text (a malformed
 * redirection included). */
int cluster_redirect_parse(const char *err, size_t len, unsigned *slot,
                           cluster_node_t *node);

/* 1 when err says a cluster is busy or mid-change and the same command
 * will succeed later on the same node: TRYAGAIN, CLUSTERDOWN, and ASK
 * (a slot mid-migration) for a connection that cannot follow it. */
int cluster_error_is_transient(const char *err, size_t len);

/* The primaries of m, each once, into out (room for CLUSTER_MAX_NODES):
 * how many. */
int cluster_map_primaries(const cluster_map_t *m, cluster_node_t *out);

/* A MOVED the map does not show yet: slot alone is served by node from
 * now on (its range split around it). 0, or -1 when m is full
 * (CLUSTER_MAX_RANGES) or out of memory; m is then unchanged. */
int cluster_map_set_slot(cluster_map_t *m, unsigned slot,
                         const cluster_node_t *node);

/* Where a command goes through the router (cluster_router.c). */
typedef enum {
    CLUSTER_CMD_KEYED,   /* to the primary of argv[key]'s slot */
    CLUSTER_CMD_KEYLESS, /* to the node of the previous keyed command */
    CLUSTER_CMD_ALL,     /* SCRIPT LOAD / SCRIPT FLUSH: every primary */
    CLUSTER_CMD_REFUSE,  /* MULTI / EXEC / WATCH, subscriptions, MONITOR */
    CLUSTER_CMD_QUIT     /* answered +OK, not sent */
} cluster_cmd_kind_t;
#define CLUSTER_CMD_RO 1   /* only reads: may be sent again after a reply
                              was lost */
#define CLUSTER_CMD_WAIT 2 /* WAIT / WAITAOF: to the last write's node */

typedef struct {
    cluster_cmd_kind_t kind;
    int flags;          /* CLUSTER_CMD_RO, CLUSTER_CMD_WAIT */
    int key;            /* CLUSTER_CMD_KEYED: the key's argv index */
    long long block_ms; /* how long it may block (BLOCK, WAIT, BLPOP):
                           0 not at all, -1 forever */
} cluster_cmd_t;

/* The route of argv (argc >= 1; lens the argument lengths). The key is
 * argv[1] for a command not known to be keyless; EVAL, EVALSHA, FCALL
 * (and _RO) argv[3] when numkeys > 0; XREAD / XREADGROUP the first
 * after STREAMS; XINFO, XGROUP, OBJECT, MEMORY argv[2]. */
void cluster_command_route(int argc, const char *const *argv,
                           const size_t *lens, cluster_cmd_t *out);

/* "host:port", or "[host]:port" for an IPv6 address: for error lines. */
void cluster_node_name(const cluster_node_t *n, char *out, size_t out_len);

/* One node, logged in as t says (redis_connect_node_sync, with the node's
 * address rather than t's in the error): the context, or NULL with err
 * ("cannot reach 10.0.0.7:7001: Connection refused", "10.0.0.7:7001: AUTH
 * failed: WRONGPASS ...") and *config 1 when the login was refused. */
redisContext *cluster_node_connect(const redis_target_t *t,
                                   const cluster_node_t *node,
                                   int timeout_ms, int *config, char *err,
                                   size_t err_len);

/* Asks for CLUSTER SLOTS, logging in as t says (AUTH; --cluster needs db
 * 0), first of t's own host:port and then of each of `seeds` (the
 * primaries of an earlier map; may be NULL) until one answers. 0 with m
 * filled; -1 with err saying what each node answered and *config 1 when
 * a node refused the login or is not in cluster mode (retrying cannot fix
 * that), else 0. */
int cluster_discover(const redis_target_t *t, const cluster_node_t *seeds,
                     int n_seeds, cluster_map_t *m, int *config, char *err,
                     size_t err_len);

/* The CLI's connection in cluster mode: a context that looks like one to
 * a plain Redis (redisCommand, redisAppendCommand and redisGetReply work
 * as usual), served by a thread that sends each command to the primary
 * of its key's slot, follows MOVED and ASK, retries TRYAGAIN and
 * CLUSTERDOWN for up to timeout_ms, sends SCRIPT LOAD to every primary,
 * and ends when the context is freed. NULL with err set when no node
 * answered CLUSTER SLOTS. */
redisContext *cluster_router_connect(const redis_target_t *t, int timeout_ms,
                                     char *err, size_t err_len);

#endif
