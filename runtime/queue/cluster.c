/*
 * cluster.c - Redis Cluster: the slot of a key, the slot map CLUSTER SLOTS
 * answers, the MOVED / ASK redirections and one discovery; see cluster.h.
 * Every answer is untrusted and checked field by field before use.
 *
 * Two readings of what a node may send, both on purpose:
 * - In a CLUSTER SLOTS entry an empty host, "?" (hostname preferred but
 *   none announced) or nil (unknown endpoint, Redis 7) means "where you
 *   asked": the asked node's host with the entry's port.
 * - "MOVED 3999 :6380" (Redis 7 with an unknown endpoint) is taken as a
 *   malformed redirection (0): a connection that cannot tell where to go
 *   treats it as an ordinary error, and the CLI's router rediscovers.
 */
#include "queue/cluster.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "queue/redis_conn.h"

/* CRC16-CCITT (XMODEM): poly 0x1021, init 0, no reflection, as the
 * Cluster spec's key hash; "123456789" gives 0x31C3. */
static unsigned crc16(const char *buf, size_t len)
{
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)buf[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
        crc &= 0xffff;
    }
    return crc;
}

unsigned cluster_key_slot(const char *key, size_t len)
{
    size_t open;
    for (open = 0; open < len && key[open] != '{'; open++)
        ;
    if (open < len) {
        size_t end;
        for (end = open + 1; end < len && key[end] != '}'; end++)
            ;
        if (end < len && end > open + 1) /* a non-empty hash tag */
            return crc16(key + open + 1, end - open - 1) % CLUSTER_SLOTS;
    }
    return crc16(key, len) % CLUSTER_SLOTS;
}

/* 1..255 bytes, each printable and not a space. */
static int valid_host(const char *s, size_t n)
{
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

/* "1".."65535" -> the port, else 0. */
static int parse_port(const char *s, size_t n)
{
    long v = 0;
    if (n == 0 || n > 5)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : 0;
}

/* s (n bytes) for an error line: at most 64 bytes, non-printables as '?'. */
static void shown(const char *s, size_t n, char *out, size_t out_len)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 64 && k + 1 < out_len; i++)
        out[k++] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
    if (out_len)
        out[k] = '\0';
}

void cluster_node_name(const cluster_node_t *n, char *out, size_t out_len)
{
    if (strchr(n->host, ':')) /* IPv6 */
        snprintf(out, out_len, "[%s]:%d", n->host, n->port);
    else
        snprintf(out, out_len, "%s:%d", n->host, n->port);
}

/* One [host, port, id, ...] of a CLUSTER SLOTS entry into out: 0, or -1
 * with err set. */
static int parse_node(const redisReply *r, const cluster_node_t *asked,
                      cluster_node_t *out, char *err, size_t err_len)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        snprintf(err, err_len, "its primary is not [host, port, ...]");
        return -1;
    }
    const redisReply *h = r->element[0], *p = r->element[1];
    if (h->type != REDIS_REPLY_STRING && h->type != REDIS_REPLY_NIL) {
        snprintf(err, err_len, "its primary's host is not a string");
        return -1;
    }
    if (p->type != REDIS_REPLY_INTEGER || p->integer < 1 ||
        p->integer > 65535) {
        if (p->type == REDIS_REPLY_INTEGER)
            snprintf(err, err_len, "its primary's port %lld is not 1-65535",
                     p->integer);
        else
            snprintf(err, err_len, "its primary's port is not an integer");
        return -1;
    }
    out->port = (int)p->integer;
    if (h->type == REDIS_REPLY_NIL || h->len == 0 ||
        (h->len == 1 && h->str[0] == '?')) {
        if (asked == NULL) {
            snprintf(err, err_len, "its primary's host is not given (\"%s\")"
                     " and no node was asked", h->len ? "?" : "");
            return -1;
        }
        snprintf(out->host, sizeof out->host, "%s", asked->host);
        return 0;
    }
    if (!valid_host(h->str, h->len)) {
        char s[80];
        shown(h->str, h->len, s, sizeof s);
        snprintf(err, err_len, "its primary's host '%s' is not 1-255 "
                 "printable bytes without spaces", s);
        return -1;
    }
    memcpy(out->host, h->str, h->len);
    out->host[h->len] = '\0';
    return 0;
}

static int by_lo(const void *a, const void *b)
{
    const cluster_range_t *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

/* One [lo, hi, primary, replica...] entry: 0, or -1 with err set. */
static int parse_range(const redisReply *e, const cluster_node_t *asked,
                       cluster_range_t *out, char *err, size_t err_len)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) {
        snprintf(err, err_len, "not [start, end, primary, ...]");
        return -1;
    }
    const redisReply *lo = e->element[0], *hi = e->element[1];
    if (lo->type != REDIS_REPLY_INTEGER || hi->type != REDIS_REPLY_INTEGER) {
        snprintf(err, err_len, "its slots are not integers");
        return -1;
    }
    if (lo->integer < 0 || lo->integer > hi->integer ||
        hi->integer >= CLUSTER_SLOTS) {
        snprintf(err, err_len, "slots %lld-%lld are not within 0-%d",
                 lo->integer, hi->integer, CLUSTER_SLOTS - 1);
        return -1;
    }
    out->lo = (int)lo->integer;
    out->hi = (int)hi->integer;
    if (parse_node(e->element[2], asked, &out->primary, err, err_len) != 0)
        return -1;
    /* replicas are not used; only their shape is checked */
    for (size_t j = 3; j < e->elements; j++)
        if (e->element[j]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, err_len, "replica %zu is not an array", j - 3);
            return -1;
        }
    return 0;
}

int cluster_map_parse(const redisReply *r, const cluster_node_t *asked,
                      cluster_map_t *m, char *err, size_t err_len)
{
    char why[200];
    m->range = NULL;
    m->n = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, err_len, "the CLUSTER SLOTS answer is not an array");
        return -1;
    }
    if (r->elements > CLUSTER_MAX_RANGES) {
        snprintf(err, err_len, "the CLUSTER SLOTS answer has %zu ranges, "
                 "more than %d", r->elements, CLUSTER_MAX_RANGES);
        return -1;
    }
    if (r->elements == 0)
        return 0;
    cluster_range_t *range = calloc(r->elements, sizeof *range);
    if (range == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++)
        if (parse_range(r->element[i], asked, &range[i], why,
                        sizeof why) != 0) {
            snprintf(err, err_len, "CLUSTER SLOTS entry %zu: %s", i, why);
            free(range);
            return -1;
        }
    qsort(range, r->elements, sizeof *range, by_lo);
    for (size_t i = 1; i < r->elements; i++)
        if (range[i].lo <= range[i - 1].hi) {
            snprintf(err, err_len, "CLUSTER SLOTS: slots %d-%d and %d-%d "
                     "overlap", range[i - 1].lo, range[i - 1].hi,
                     range[i].lo, range[i].hi);
            free(range);
            return -1;
        }
    m->range = range;
    m->n = (int)r->elements;
    return 0;
}

void cluster_map_free(cluster_map_t *m)
{
    free(m->range);
    m->range = NULL;
    m->n = 0;
}

int cluster_map_find(const cluster_map_t *m, unsigned slot,
                     cluster_node_t *out)
{
    int lo = 0, hi = m->n - 1, at = -1;
    while (lo <= hi) { /* the last range starting at or below slot */
        int mid = lo + (hi - lo) / 2;
        if ((unsigned)m->range[mid].lo <= slot) {
            at = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (at < 0 || slot > (unsigned)m->range[at].hi)
        return -1;
    *out = m->range[at].primary;
    return 0;
}

static int same_node(const cluster_node_t *a, const cluster_node_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

int cluster_map_primaries(const cluster_map_t *m, cluster_node_t *out)
{
    int n = 0;
    for (int i = 0; i < m->n && n < CLUSTER_MAX_NODES; i++) {
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = same_node(&out[j], &m->range[i].primary);
        if (!seen)
            out[n++] = m->range[i].primary;
    }
    return n;
}

int cluster_map_set_slot(cluster_map_t *m, unsigned slot,
                         const cluster_node_t *node)
{
    cluster_node_t cur;
    cluster_range_t part[3];
    int s = (int)slot, i = 0, k = 0, at, drop = 0;
    if (slot >= CLUSTER_SLOTS)
        return -1;
    if (cluster_map_find(m, slot, &cur) == 0 && same_node(&cur, node))
        return 0;
    if (m->n + 2 > CLUSTER_MAX_RANGES)
        return -1;
    cluster_range_t *r = realloc(m->range, (size_t)(m->n + 2) * sizeof *r);
    if (r == NULL)
        return -1;
    m->range = r;
    while (i < m->n && r[i].lo <= s)
        i++;
    at = i; /* where part goes, in place of `drop` ranges */
    if (i > 0 && r[i - 1].hi >= s) { /* split the range holding slot */
        at = i - 1;
        drop = 1;
        if (r[at].lo < s)
            part[k++] = (cluster_range_t){r[at].lo, s - 1, r[at].primary};
    }
    part[k++] = (cluster_range_t){s, s, *node};
    if (drop && r[at].hi > s)
        part[k++] = (cluster_range_t){s + 1, r[at].hi, r[at].primary};
    memmove(&r[at + k], &r[at + drop],
            (size_t)(m->n - at - drop) * sizeof *r);
    memcpy(&r[at], part, (size_t)k * sizeof *r);
    m->n += k - drop;
    return 0;
}

int cluster_redirect_parse(const char *err, size_t len, unsigned *slot,
                           cluster_node_t *node)
{
    int kind;
    size_t i, digits = 0;
    unsigned long s = 0;
    if (err == NULL)
        return 0;
    if (len >= 6 && memcmp(err, "MOVED ", 6) == 0) {
        kind = 1;
        i = 6;
    } else if (len >= 4 && memcmp(err, "ASK ", 4) == 0) {
        kind = 2;
        i = 4;
    } else {
        return 0;
    }
    for (; i < len && err[i] >= '0' && err[i] <= '9' && digits < 6; i++) {
        s = s * 10 + (unsigned long)(err[i] - '0');
        digits++;
    }
    if (digits == 0 || s >= CLUSTER_SLOTS || i >= len || err[i] != ' ')
        return 0;
    const char *addr = err + i + 1;
    size_t alen = len - i - 1, colon = alen;
    while (colon > 0 && addr[colon - 1] != ':') /* the last ':' (IPv6) */
        colon--;
    if (colon == 0)
        return 0;
    colon--;
    const char *host = addr;
    size_t hlen = colon;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    /* an empty host (":6380") is refused here: see the top of the file */
    int port = parse_port(addr + colon + 1, alen - colon - 1);
    if (port == 0 || !valid_host(host, hlen))
        return 0;
    memcpy(node->host, host, hlen);
    node->host[hlen] = '\0';
    node->port = port;
    *slot = (unsigned)s;
    return kind;
}

/* err starts with the word w (followed by a space or the end). */
static int starts_with_word(const char *err, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(err, w, n) == 0 && (len == n || err[n] == ' ');
}

int cluster_error_is_transient(const char *err, size_t len)
{
    if (err == NULL)
        return 0;
    return starts_with_word(err, len, "TRYAGAIN") ||
           starts_with_word(err, len, "CLUSTERDOWN") ||
           (len > 4 && memcmp(err, "ASK ", 4) == 0);
}

/* ---- commands: where each goes (for cluster_router.c) ---------------- */

/* Where the key is: the rules of cluster_command_route. */
enum {
    AT_1, AT_NONE, AT_2, AT_EVAL, AT_NUMKEYS, AT_NUMKEYS2, AT_XREAD,
    AT_SCRIPT, AT_REFUSE, AT_QUIT
};
#define BLOCK_LAST 0x10 /* may block for its last argument's seconds */
#define BLOCK_ARG1 0x20 /* ... for argv[1]'s seconds */
#define RO CLUSTER_CMD_RO

/* Each list is " NAME NAME ... " (upper case); a command in none of them
 * is keyed by argv[1] and counts as a write. */
static const struct {
    const char *names;
    unsigned char at, flags;
} command_lists[] = {
    {" PING ECHO TIME INFO ROLE DBSIZE LASTSAVE COMMAND RANDOMKEY SCAN KEYS "
     "LOLWUT ", AT_NONE, RO},
    {" CLIENT CLUSTER CONFIG SLOWLOG LATENCY ACL AUTH HELLO SELECT DEBUG "
     "FUNCTION MODULE PUBSUB PUBLISH READONLY READWRITE FLUSHALL FLUSHDB "
     "SAVE BGSAVE BGREWRITEAOF SWAPDB RESET SHUTDOWN FAILOVER REPLICAOF "
     "SLAVEOF ", AT_NONE, 0},
    {" WAIT WAITAOF ", AT_NONE, CLUSTER_CMD_WAIT},
    {" SCRIPT ", AT_SCRIPT, 0},
    {" MEMORY OBJECT XINFO ", AT_2, RO},
    {" XGROUP ", AT_2, 0},
    {" EVAL EVALSHA FCALL ", AT_EVAL, 0},
    {" EVAL_RO EVALSHA_RO FCALL_RO ", AT_EVAL, RO},
    {" XREAD ", AT_XREAD, RO},
    {" XREADGROUP ", AT_XREAD, 0},
    {" LMPOP ZMPOP ", AT_NUMKEYS, 0},
    {" SINTERCARD ZINTERCARD ZUNION ZINTER ZDIFF ", AT_NUMKEYS, RO},
    {" BLMPOP BZMPOP ", AT_NUMKEYS2, BLOCK_ARG1},
    {" BLPOP BRPOP BZPOPMIN BZPOPMAX BRPOPLPUSH BLMOVE ", AT_1, BLOCK_LAST},
    {" MULTI EXEC DISCARD WATCH UNWATCH SUBSCRIBE PSUBSCRIBE SSUBSCRIBE "
     "UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE MONITOR SYNC PSYNC ", AT_REFUSE,
     0},
    {" QUIT ", AT_QUIT, 0},
    {" GET MGET STRLEN GETRANGE EXISTS TYPE TTL PTTL HGET HMGET HGETALL "
     "HKEYS HVALS HLEN HEXISTS HSTRLEN HSCAN LRANGE LLEN LINDEX SMEMBERS "
     "SISMEMBER SCARD SSCAN ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE "
     "ZCARD ZCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK ZSCAN XRANGE XREVRANGE "
     "XLEN XPENDING PFCOUNT DUMP BITCOUNT GETBIT SORT_RO ", AT_1, RO},
};

static int arg_is(const char *const *argv, const size_t *lens, int i,
                  const char *word)
{
    return lens[i] == strlen(word) && strncasecmp(argv[i], word, lens[i]) == 0;
}

/* A decimal integer argument, or 0. */
static long long arg_ll(const char *const *argv, const size_t *lens, int i)
{
    char buf[32], *end;
    if (lens[i] == 0 || lens[i] >= sizeof buf)
        return 0;
    memcpy(buf, argv[i], lens[i]);
    buf[lens[i]] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    return errno || *end ? 0 : v;
}

/* A BLOCK / WAIT argument in ms: 0 means forever (-1). */
static long long arg_block_ms(const char *const *argv, const size_t *lens,
                              int i)
{
    long long ms = arg_ll(argv, lens, i);
    return ms == 0 ? -1 : ms < 0 ? 0 : ms;
}

/* Seconds as BLPOP takes them (a float): 0 means forever (-1). */
static long long arg_seconds_ms(const char *const *argv, const size_t *lens,
                                int i)
{
    char buf[32], *end;
    if (lens[i] == 0 || lens[i] >= sizeof buf)
        return 0;
    memcpy(buf, argv[i], lens[i]);
    buf[lens[i]] = '\0';
    double sec = strtod(buf, &end);
    if (*end || !(sec >= 0) || sec > 1e9)
        return 0; /* Redis refuses it anyway */
    return sec == 0 ? -1 : (long long)(sec * 1000 + 0.999);
}

/* XREAD [COUNT n] [BLOCK ms] STREAMS key... and XREADGROUP GROUP g c
 * [COUNT n] [BLOCK ms] [NOACK] STREAMS key...: the first key. */
static void route_xread(int argc, const char *const *argv, const size_t *lens,
                        cluster_cmd_t *out)
{
    int i = 1;
    if (arg_is(argv, lens, 0, "XREADGROUP")) {
        if (argc < 4 || !arg_is(argv, lens, 1, "GROUP"))
            return;
        i = 4;
    }
    while (i < argc) {
        if (arg_is(argv, lens, i, "STREAMS")) {
            out->key = i + 1 < argc ? i + 1 : -1;
            return;
        }
        if (arg_is(argv, lens, i, "BLOCK") && i + 1 < argc)
            out->block_ms = arg_block_ms(argv, lens, i + 1);
        if ((arg_is(argv, lens, i, "COUNT") ||
             arg_is(argv, lens, i, "BLOCK")) && i + 1 < argc)
            i += 2;
        else if (arg_is(argv, lens, i, "NOACK"))
            i++;
        else
            return;
    }
}

void cluster_command_route(int argc, const char *const *argv,
                           const size_t *lens, cluster_cmd_t *out)
{
    char word[32] = " ";
    int at = AT_1, flags = 0;
    size_t n = lens[0];
    if (n > 0 && n + 2 < sizeof word && !memchr(argv[0], ' ', n) &&
        !memchr(argv[0], '\0', n)) {
        for (size_t i = 0; i < n; i++)
            word[i + 1] = (char)toupper((unsigned char)argv[0][i]);
        memcpy(word + n + 1, " ", 2);
        for (size_t i = 0; i < sizeof command_lists / sizeof command_lists[0];
             i++)
            if (strstr(command_lists[i].names, word)) {
                at = command_lists[i].at;
                flags = command_lists[i].flags;
                break;
            }
    }
    out->flags = flags & (CLUSTER_CMD_RO | CLUSTER_CMD_WAIT);
    out->key = -1;
    out->block_ms = 0;
    switch (at) {
    case AT_1:
        out->key = argc > 1 ? 1 : -1;
        break;
    case AT_2:
        out->key = argc > 2 ? 2 : -1;
        break;
    case AT_EVAL:
        out->key = argc > 3 && arg_ll(argv, lens, 2) > 0 ? 3 : -1;
        break;
    case AT_NUMKEYS:
        out->key = argc > 2 && arg_ll(argv, lens, 1) > 0 ? 2 : -1;
        break;
    case AT_NUMKEYS2:
        out->key = argc > 3 && arg_ll(argv, lens, 2) > 0 ? 3 : -1;
        break;
    case AT_XREAD:
        route_xread(argc, argv, lens, out);
        break;
    default:
        break;
    }
    if ((flags & BLOCK_LAST) && argc > 2)
        out->block_ms = arg_seconds_ms(argv, lens, argc - 1);
    if ((flags & BLOCK_ARG1) && argc > 1)
        out->block_ms = arg_seconds_ms(argv, lens, 1);
    if ((flags & CLUSTER_CMD_WAIT) && argc > 2)
        out->block_ms = arg_block_ms(argv, lens, argc - 1);
    out->kind = out->key >= 0 ? CLUSTER_CMD_KEYED : CLUSTER_CMD_KEYLESS;
    if (at == AT_REFUSE)
        out->kind = CLUSTER_CMD_REFUSE;
    else if (at == AT_QUIT)
        out->kind = CLUSTER_CMD_QUIT;
    else if (at == AT_SCRIPT && argc > 1 &&
             (arg_is(argv, lens, 1, "LOAD") || arg_is(argv, lens, 1, "FLUSH")))
        out->kind = CLUSTER_CMD_ALL;
}

/* ---- discovery -------------------------------------------------------- */

/* Appends one formatted piece to err, never past err_len. */
static void append(char *err, size_t err_len, size_t *used, const char *fmt,
                   ...)
{
    va_list ap;
    if (*used >= err_len)
        return;
    va_start(ap, fmt);
    int w = vsnprintf(err + *used, err_len - *used, fmt, ap);
    va_end(ap);
    if (w > 0)
        *used += (size_t)w;
}

redisContext *cluster_node_connect(const redis_target_t *t,
                                   const cluster_node_t *node,
                                   int timeout_ms, int *config, char *err,
                                   size_t err_len)
{
    char why[512], name[300], pre[400];
    *config = 0;
    redisContext *c = redis_connect_node_sync(t, node->host, node->port,
                                              timeout_ms, why, sizeof why);
    if (c) {
        err[0] = '\0';
        return c;
    }
    /* redis_connect_node_sync names t's display, which here is only the
     * first node: say the node asked instead, and tell a login refused
     * (retrying cannot fix it) from a node that did not answer */
    cluster_node_name(node, name, sizeof name);
    const char *rest = why;
    snprintf(pre, sizeof pre, "cannot connect to redis at %s: ", t->display);
    if (strncmp(why, pre, strlen(pre)) == 0) {
        snprintf(err, err_len, "cannot reach %s: %s", name,
                 why + strlen(pre));
        return NULL;
    }
    snprintf(pre, sizeof pre, "redis at %s: ", t->display);
    if (strncmp(why, pre, strlen(pre)) == 0)
        rest = why + strlen(pre);
    const char *failed = strstr(rest, " failed: ");
    *config = failed && redis_error_is_config(failed + 9);
    snprintf(err, err_len, "%s: %s", name, rest);
    return NULL;
}

/* CLUSTER SLOTS of one node: 0 with m filled, or -1 with why and *config
 * set. */
static int ask_node(const redis_target_t *t, const cluster_node_t *node,
                    cluster_map_t *m, int *config, char *why, size_t why_len)
{
    char name[300], e[256];
    redisContext *c = cluster_node_connect(t, node, CLUSTER_TIMEOUT_MS, config,
                                           why, why_len);
    if (c == NULL)
        return -1;
    cluster_node_name(node, name, sizeof name);
    redisReply *r = redisCommand(c, "CLUSTER SLOTS");
    int rc = -1;
    if (r == NULL) {
        snprintf(why, why_len, "%s: no answer to CLUSTER SLOTS: %s", name,
                 c->errstr[0] ? c->errstr : "connection closed");
    } else if (r->type == REDIS_REPLY_ERROR) {
        *config = strstr(r->str, "cluster support disabled") != NULL ||
                  redis_error_is_config(r->str);
        snprintf(why, why_len, "%s: CLUSTER SLOTS failed: %.200s", name,
                 r->str);
    } else if (cluster_map_parse(r, node, m, e, sizeof e) != 0) {
        snprintf(why, why_len, "%s: %s", name, e);
    } else if (m->n == 0) {
        snprintf(why, why_len, "%s: no slot is assigned (is the cluster "
                 "created?)", name);
        cluster_map_free(m);
    } else {
        rc = 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

int cluster_discover(const redis_target_t *t, const cluster_node_t *seeds,
                     int n_seeds, cluster_map_t *m, int *config, char *err,
                     size_t err_len)
{
    size_t used = 0;
    int asked = 0, any_config = 0;
    cluster_node_t first = {.port = t->port};
    m->range = NULL;
    m->n = 0;
    *config = 0;
    if (err_len)
        err[0] = '\0';
    if (seeds == NULL)
        n_seeds = 0;
    if (t->host)
        snprintf(first.host, sizeof first.host, "%s", t->host);
    for (int i = t->host ? -1 : 0; i < n_seeds; i++) {
        const cluster_node_t *node = i < 0 ? &first : &seeds[i];
        int seen = t->host && i >= 0 && same_node(node, &first);
        for (int j = 0; j < i && !seen; j++)
            seen = same_node(node, &seeds[j]);
        if (seen || node->host[0] == '\0')
            continue;
        char why[600];
        int cfg = 0;
        asked++;
        if (ask_node(t, node, m, &cfg, why, sizeof why) == 0)
            return 0;
        any_config |= cfg;
        append(err, err_len, &used, "%s%s", used ? "; " : "", why);
    }
    if (asked == 0)
        append(err, err_len, &used, "no cluster node to ask");
    *config = any_config;
    return -1;
}
