/*
 * test_cluster.c - Redis Cluster without servers (queue/cluster.h): key
 * slots (CRC16 vectors and hash tags), CLUSTER SLOTS answers parsed from
 * RESP bytes (sorted, the asked node filled in, each kind of bad answer
 * refused with a line saying what), slot lookups at range edges, a MOVED
 * patched into a map, MOVED / ASK parsing (IPv6, malformed ones), which
 * errors are transient, and where each command is routed. The router
 * against a real cluster is in test_cluster_router.c.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "queue/cluster.h"

/* A reply tree from RESP bytes, as hiredis would read it off a socket. */
static redisReply *resp(const char *bytes, size_t len)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    cr_assert_not_null(rd);
    cr_assert_eq(redisReaderFeed(rd, bytes, len), REDIS_OK);
    cr_assert_eq(redisReaderGetReply(rd, &r), REDIS_OK, "%s", rd->errstr);
    cr_assert_not_null(r, "incomplete RESP in the test");
    redisReaderFree(rd);
    return r;
}
#define RESP(s) resp((s), sizeof(s) - 1)

static unsigned slot_of(const char *key)
{
    return cluster_key_slot(key, strlen(key));
}

Test(cluster, key_slot_is_crc16_xmodem_with_hash_tags)
{
    cr_assert_eq(slot_of("123456789"), 0x31C3 % CLUSTER_SLOTS);
    cr_assert_eq(slot_of("123456789"), 12739);
    cr_assert_eq(slot_of("foo"), 12182); /* CLUSTER KEYSLOT foo */
    cr_assert_eq(slot_of("bar"), 5061);
    cr_assert_eq(slot_of(""), 0);
    cr_assert_eq(slot_of("{user1000}.following"),
                 slot_of("{user1000}.followers"));
    cr_assert_eq(slot_of("{user1000}.following"), slot_of("user1000"));
    /* an empty tag: the whole key */
    cr_assert_eq(slot_of("foo{}{bar}"), 8363); /* CRC16 of all 10 bytes */
    cr_assert_neq(slot_of("foo{}{bar}"), slot_of("bar"));
    /* the first '{' and the next '}' after it */
    cr_assert_eq(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    cr_assert_eq(slot_of("foo{bar}{zap}"), slot_of("bar"));
    /* no '}' after the '{': the whole key */
    cr_assert_eq(slot_of("a{b"), 13340); /* CRC16 of "a{b" */
    /* bytes past len do not count, NULs inside do */
    cr_assert_eq(cluster_key_slot("{q}xyz", 3), slot_of("q"));
    cr_assert_neq(cluster_key_slot("a\0b", 3), slot_of("a"));
}

/* Redis 7's shape: [lo, hi, [ip, port, id, [hostname...]], replica...],
 * out of order. */
static const char three_ranges[] =
    "*3\r\n"
    "*4\r\n:5461\r\n:10922\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nid\r\n*0\r\n"
    "*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$3\r\nid4\r\n"
    "*3\r\n:0\r\n:5460\r\n"
    "*3\r\n$8\r\n10.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
    "*3\r\n:10923\r\n:16383\r\n"
    "*2\r\n$3\r\n::1\r\n:7002\r\n";

Test(cluster, map_parse_sorts_ranges)
{
    redisReply *r = RESP(three_ranges);
    cluster_map_t m;
    char err[256];
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.range[0].lo, 0);
    cr_assert_eq(m.range[0].hi, 5460);
    cr_assert_str_eq(m.range[0].primary.host, "10.0.0.1");
    cr_assert_eq(m.range[0].primary.port, 7000);
    cr_assert_eq(m.range[1].lo, 5461);
    cr_assert_eq(m.range[1].primary.port, 7001);
    cr_assert_str_eq(m.range[2].primary.host, "::1");
    cluster_node_t n;
    cr_assert_eq(cluster_map_find(&m, 0, &n), 0);
    cr_assert_eq(n.port, 7000);
    cr_assert_eq(cluster_map_find(&m, 5460, &n), 0);
    cr_assert_eq(n.port, 7000);
    cr_assert_eq(cluster_map_find(&m, 5461, &n), 0);
    cr_assert_eq(n.port, 7001);
    cr_assert_eq(cluster_map_find(&m, 10923, &n), 0);
    cr_assert_eq(n.port, 7002);
    cr_assert_eq(cluster_map_find(&m, 16383, &n), 0);
    cr_assert_eq(n.port, 7002);
    cr_assert_eq(cluster_map_find(&m, 16384, &n), -1);
    cluster_node_t prim[CLUSTER_MAX_NODES];
    cr_assert_eq(cluster_map_primaries(&m, prim), 3);
    char name[300];
    cluster_node_name(&m.range[2].primary, name, sizeof name);
    cr_assert_str_eq(name, "[::1]:7002");
    cluster_map_free(&m);
    cluster_map_free(&m); /* twice is harmless */
    freeReplyObject(r);
}

Test(cluster, find_in_gaps_and_empty_maps)
{
    redisReply *r = RESP("*2\r\n"
                         "*3\r\n:100\r\n:199\r\n*2\r\n$1\r\na\r\n:1\r\n"
                         "*3\r\n:300\r\n:300\r\n*2\r\n$1\r\nb\r\n:2\r\n");
    cluster_map_t m;
    cluster_node_t n = {"untouched", 9};
    char err[256];
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(cluster_map_find(&m, 99, &n), -1);
    cr_assert_str_eq(n.host, "untouched");
    cr_assert_eq(cluster_map_find(&m, 100, &n), 0);
    cr_assert_eq(cluster_map_find(&m, 199, &n), 0);
    cr_assert_eq(cluster_map_find(&m, 200, &n), -1);
    cr_assert_eq(cluster_map_find(&m, 299, &n), -1);
    cr_assert_eq(cluster_map_find(&m, 300, &n), 0);
    cr_assert_str_eq(n.host, "b");
    cr_assert_eq(cluster_map_find(&m, 301, &n), -1);
    cluster_map_free(&m);
    freeReplyObject(r);
    r = RESP("*0\r\n");
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), 0);
    cr_assert_eq(m.n, 0);
    cr_assert_eq(cluster_map_find(&m, 0, &n), -1);
    cluster_map_free(&m);
    freeReplyObject(r);
}

/* "", "?" and nil hosts: the asked node's host, with the entry's port. */
Test(cluster, unknown_hosts_mean_the_asked_node)
{
    redisReply *r = RESP("*3\r\n"
                         "*3\r\n:0\r\n:9\r\n*2\r\n$0\r\n\r\n:7000\r\n"
                         "*3\r\n:10\r\n:19\r\n*2\r\n$1\r\n?\r\n:7001\r\n"
                         "*3\r\n:20\r\n:29\r\n*2\r\n$-1\r\n:7002\r\n");
    cluster_node_t asked = {"192.168.1.5", 7000};
    cluster_map_t m;
    char err[256];
    cr_assert_eq(cluster_map_parse(r, &asked, &m, err, sizeof err), 0, "%s",
                 err);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(m.range[i].primary.host, "192.168.1.5");
        cr_assert_eq(m.range[i].primary.port, 7000 + i);
    }
    cluster_map_free(&m);
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "no node was asked"), "%s", err);
    cr_assert_eq(m.n, 0);
    cr_assert_null(m.range);
    freeReplyObject(r);
}

Test(cluster, bad_answers_are_refused_saying_what)
{
    static const struct {
        const char *resp, *says;
    } bad[] = {
        {"+OK\r\n", "not an array"},
        {"-ERR no\r\n", "not an array"},
        {"*1\r\n:5\r\n", "entry 0: not [start, end, primary"},
        {"*1\r\n*2\r\n:0\r\n:1\r\n", "entry 0: not [start, end, primary"},
        {"*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",
         "slots 0-16384 are not within 0-16383"},
        {"*1\r\n*3\r\n:-1\r\n:3\r\n*2\r\n$1\r\nh\r\n:1\r\n",
         "slots -1-3 are not within"},
        {"*1\r\n*3\r\n:9\r\n:3\r\n*2\r\n$1\r\nh\r\n:1\r\n",
         "slots 9-3 are not within"},
        {"*1\r\n*3\r\n$1\r\n0\r\n:3\r\n*2\r\n$1\r\nh\r\n:1\r\n",
         "slots are not integers"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$1\r\nh\r\n:0\r\n",
         "port 0 is not 1-65535"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$1\r\nh\r\n:65536\r\n",
         "port 65536 is not 1-65535"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$1\r\nh\r\n$4\r\n7000\r\n",
         "port is not an integer"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$3\r\na b\r\n:1\r\n",
         "host 'a b' is not 1-255 printable"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$3\r\na\nb\r\n:1\r\n",
         "host 'a?b' is not"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n:5\r\n:1\r\n",
         "host is not a string"},
        /* nested deeper than the shape allows */
        {"*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n*1\r\n$1\r\nh\r\n:1\r\n",
         "host is not a string"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n*1\r\n*2\r\n$1\r\nh\r\n:1\r\n",
         "primary is not [host, port"},
        {"*1\r\n*3\r\n:0\r\n:3\r\n$1\r\nh\r\n", "primary is not [host"},
        {"*1\r\n*4\r\n:0\r\n:3\r\n*2\r\n$1\r\nh\r\n:1\r\n:7\r\n",
         "replica 0 is not an array"},
        {"*2\r\n*3\r\n:0\r\n:10\r\n*2\r\n$1\r\nh\r\n:1\r\n"
         "*3\r\n:10\r\n:20\r\n*2\r\n$1\r\nh\r\n:2\r\n",
         "slots 0-10 and 10-20 overlap"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redisReply *r = resp(bad[i].resp, strlen(bad[i].resp));
        cluster_map_t m = {(cluster_range_t *)&m, 77}; /* poisoned */
        char err[256] = "";
        cluster_node_t asked = {"127.0.0.1", 7000};
        cr_assert_eq(cluster_map_parse(r, &asked, &m, err, sizeof err), -1,
                     "accepted case %zu", i);
        cr_assert_not_null(strstr(err, bad[i].says), "case %zu: '%s'", i,
                           err);
        cr_assert_eq(m.n, 0);
        cr_assert_null(m.range);
        freeReplyObject(r);
    }
    cluster_map_t m;
    char err[256];
    cr_assert_eq(cluster_map_parse(NULL, NULL, &m, err, sizeof err), -1);
}

Test(cluster, a_host_of_256_bytes_is_refused)
{
    char buf[600], host[257];
    memset(host, 'h', 256);
    host[256] = '\0';
    int n = snprintf(buf, sizeof buf,
                     "*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$256\r\n%s\r\n:1\r\n",
                     host);
    redisReply *r = resp(buf, (size_t)n);
    cluster_map_t m;
    char err[256];
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "not 1-255 printable"), "%s", err);
    freeReplyObject(r);
    host[255] = '\0';
    n = snprintf(buf, sizeof buf,
                 "*1\r\n*3\r\n:0\r\n:3\r\n*2\r\n$255\r\n%s\r\n:1\r\n", host);
    r = resp(buf, (size_t)n);
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(strlen(m.range[0].primary.host), 255);
    cluster_map_free(&m);
    freeReplyObject(r);
}

Test(cluster, more_ranges_than_slots_are_refused)
{
    const char *one = "*3\r\n:1\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n";
    size_t n = CLUSTER_MAX_RANGES + 1, len = strlen(one);
    char *buf = malloc(32 + n * len), *p = buf;
    cr_assert_not_null(buf);
    p += sprintf(p, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++, p += len)
        memcpy(p, one, len);
    redisReply *r = resp(buf, (size_t)(p - buf));
    cluster_map_t m;
    char err[256];
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "16385 ranges, more than 16384"), "%s",
                       err);
    freeReplyObject(r);
    free(buf);
}

/* A MOVED patched in: the slot's range split around it. */
Test(cluster, set_slot_splits_the_range)
{
    redisReply *r = RESP("*2\r\n"
                         "*3\r\n:0\r\n:99\r\n*2\r\n$1\r\na\r\n:1\r\n"
                         "*3\r\n:200\r\n:299\r\n*2\r\n$1\r\nb\r\n:2\r\n");
    cluster_map_t m;
    cluster_node_t c = {"c", 3}, n;
    char err[256];
    cr_assert_eq(cluster_map_parse(r, NULL, &m, err, sizeof err), 0);
    freeReplyObject(r);
    cr_assert_eq(cluster_map_set_slot(&m, 50, &c), 0);
    cr_assert_eq(m.n, 4);
    cr_assert_eq(cluster_map_find(&m, 49, &n), 0);
    cr_assert_str_eq(n.host, "a");
    cr_assert_eq(cluster_map_find(&m, 50, &n), 0);
    cr_assert_str_eq(n.host, "c");
    cr_assert_eq(cluster_map_find(&m, 51, &n), 0);
    cr_assert_str_eq(n.host, "a");
    cr_assert_eq(cluster_map_set_slot(&m, 0, &c), 0); /* at an edge */
    cr_assert_eq(m.n, 5);
    cr_assert_eq(cluster_map_set_slot(&m, 299, &c), 0);
    cr_assert_eq(m.n, 6);
    cr_assert_eq(cluster_map_set_slot(&m, 150, &c), 0); /* in a gap */
    cr_assert_eq(m.n, 7);
    cr_assert_eq(cluster_map_set_slot(&m, 150, &c), 0); /* already so */
    cr_assert_eq(m.n, 7);
    cr_assert_eq(cluster_map_set_slot(&m, CLUSTER_SLOTS, &c), -1);
    for (int i = 1; i < m.n; i++)
        cr_assert_gt(m.range[i].lo, m.range[i - 1].hi, "ranges %d, %d", i - 1,
                     i);
    static const struct {
        unsigned slot;
        const char *host;
    } want[] = {{0, "c"}, {1, "a"}, {99, "a"}, {100, NULL}, {150, "c"},
                {200, "b"}, {298, "b"}, {299, "c"}, {300, NULL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int rc = cluster_map_find(&m, want[i].slot, &n);
        if (want[i].host == NULL) {
            cr_assert_eq(rc, -1, "slot %u", want[i].slot);
        } else {
            cr_assert_eq(rc, 0, "slot %u", want[i].slot);
            cr_assert_str_eq(n.host, want[i].host, "slot %u", want[i].slot);
        }
    }
    cluster_map_free(&m);
}

static int redirect(const char *s, unsigned *slot, cluster_node_t *n)
{
    return cluster_redirect_parse(s, strlen(s), slot, n);
}

Test(cluster, redirects_moved_ask_and_ipv6)
{
    unsigned slot = 0;
    cluster_node_t n;
    cr_assert_eq(redirect("MOVED 3999 127.0.0.1:6381", &slot, &n), 1);
    cr_assert_eq(slot, 3999);
    cr_assert_str_eq(n.host, "127.0.0.1");
    cr_assert_eq(n.port, 6381);
    cr_assert_eq(redirect("ASK 0 redis-2.example:7000", &slot, &n), 2);
    cr_assert_eq(slot, 0);
    cr_assert_str_eq(n.host, "redis-2.example");
    cr_assert_eq(redirect("MOVED 16383 ::1:7002", &slot, &n), 1);
    cr_assert_eq(slot, 16383);
    cr_assert_str_eq(n.host, "::1");
    cr_assert_eq(n.port, 7002);
    cr_assert_eq(redirect("ASK 7 fe80::1%eth0:6379", &slot, &n), 2);
    cr_assert_str_eq(n.host, "fe80::1%eth0");
    cr_assert_eq(redirect("MOVED 7 [2001:db8::5]:6379", &slot, &n), 1);
    cr_assert_str_eq(n.host, "2001:db8::5");
    cr_assert_eq(n.port, 6379);
    /* len counts, not the NUL: the port is cut to "63" */
    const char *cut = "MOVED 1 h:6379";
    cr_assert_eq(cluster_redirect_parse(cut, strlen(cut) - 2, &slot, &n), 1);
    cr_assert_eq(n.port, 63);
}

Test(cluster, malformed_redirects_are_other_errors)
{
    static const char *const bad[] = {
        "MOVED 16384 h:1", "MOVED 99999999 h:1", "MOVED x h:1",
        "MOVED -1 h:1", "MOVED  1 h:1", "MOVED 1 h", "MOVED 1 h:",
        "MOVED 1 :6380", /* Redis 7, unknown endpoint: see cluster.c */
        "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:1x", "MOVED 1 h:+1",
        "MOVED 1 a b:1", "MOVED 1", "MOVED 1 ", "MOVED", "ASK",
        "ASK 5 []:1", "moved 1 h:1", "ERR MOVED 1 h:1", "ASKING 1 h:1",
        "TRYAGAIN", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned slot = 12345;
        cluster_node_t n = {"keep", 1};
        cr_assert_eq(redirect(bad[i], &slot, &n), 0, "'%s'", bad[i]);
        cr_assert_eq(slot, 12345, "'%s' wrote the slot", bad[i]);
        cr_assert_str_eq(n.host, "keep", "'%s' wrote the node", bad[i]);
    }
    char host[300] = "MOVED 1 ";
    memset(host + 8, 'h', 256);
    strcpy(host + 264, ":1");
    unsigned slot;
    cluster_node_t n;
    cr_assert_eq(redirect(host, &slot, &n), 0, "a 256-byte host");
    cr_assert_eq(cluster_redirect_parse(NULL, 0, &slot, &n), 0);
}

Test(cluster, transient_errors)
{
    static const char *const yes[] = {
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "TRYAGAIN", "CLUSTERDOWN The cluster is down",
        "CLUSTERDOWN Hash slot not served", "ASK 3999 127.0.0.1:7002"};
    static const char *const no[] = {
        "MOVED 3999 127.0.0.1:7002", "TRYAGAINX", "CLUSTERDOWNX", "ASK",
        "ASKING", "ERR TRYAGAIN", "LOADING Redis is loading", "", "READONLY"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert_eq(cluster_error_is_transient(yes[i], strlen(yes[i])), 1,
                     "'%s'", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert_eq(cluster_error_is_transient(no[i], strlen(no[i])), 0,
                     "'%s'", no[i]);
    cr_assert_eq(cluster_error_is_transient(NULL, 0), 0);
}

/* Routes argv (a NULL-terminated list of strings). */
static cluster_cmd_t route(const char *const *argv)
{
    size_t lens[32];
    int argc = 0;
    while (argv[argc]) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    cluster_cmd_t out;
    memset(&out, 0x5a, sizeof out);
    cluster_command_route(argc, argv, lens, &out);
    return out;
}
#define ROUTE(...) route((const char *const[]){__VA_ARGS__, NULL})

Test(cluster, commands_are_routed_by_their_key)
{
    cluster_cmd_t r = ROUTE("GET", "k");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYED);
    cr_assert_eq(r.key, 1);
    cr_assert_eq(r.flags, CLUSTER_CMD_RO);
    cr_assert_eq(r.block_ms, 0);
    r = ROUTE("hgetall", "k"); /* any case */
    cr_assert_eq(r.flags, CLUSTER_CMD_RO);
    r = ROUTE("XADD", "s", "*", "f", "v"); /* not listed: a keyed write */
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYED);
    cr_assert_eq(r.key, 1);
    cr_assert_eq(r.flags, 0);
    r = ROUTE("EVALSHA", "abc", "2", "{q}a", "{q}b", "arg");
    cr_assert_eq(r.key, 3);
    cr_assert_eq(r.flags, 0);
    r = ROUTE("EVAL_RO", "return 1", "1", "k");
    cr_assert_eq(r.key, 3);
    cr_assert_eq(r.flags, CLUSTER_CMD_RO);
    r = ROUTE("EVAL", "return 1", "0");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    r = ROUTE("EVAL", "return 1", "x", "k");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS, "numkeys not a number");
    r = ROUTE("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "2000",
              "NOACK", "STREAMS", "s", ">");
    cr_assert_eq(r.key, 10);
    cr_assert_eq(r.block_ms, 2000);
    cr_assert_eq(r.flags, 0);
    r = ROUTE("XREAD", "BLOCK", "0", "STREAMS", "a", "$");
    cr_assert_eq(r.key, 4);
    cr_assert_eq(r.block_ms, -1, "BLOCK 0 is forever");
    cr_assert_eq(r.flags, CLUSTER_CMD_RO);
    r = ROUTE("XREAD", "STREAMS");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    r = ROUTE("XINFO", "GROUPS", "s");
    cr_assert_eq(r.key, 2);
    r = ROUTE("XGROUP", "CREATE", "s", "g", "$");
    cr_assert_eq(r.key, 2);
    cr_assert_eq(r.flags, 0);
    r = ROUTE("ZUNION", "2", "a", "b");
    cr_assert_eq(r.key, 2);
    r = ROUTE("BLMPOP", "2.5", "1", "l", "LEFT");
    cr_assert_eq(r.key, 3);
    cr_assert_eq(r.block_ms, 2500);
    r = ROUTE("BLPOP", "a", "b", "0.5");
    cr_assert_eq(r.key, 1);
    cr_assert_eq(r.block_ms, 500);
    r = ROUTE("BRPOP", "a", "0");
    cr_assert_eq(r.block_ms, -1);
}

Test(cluster, keyless_refused_and_every_primary_commands)
{
    cluster_cmd_t r = ROUTE("PING");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    cr_assert_eq(r.flags, CLUSTER_CMD_RO);
    r = ROUTE("GET"); /* no key: Redis says what is wrong */
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    r = ROUTE("CLIENT", "ID");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    cr_assert_eq(r.flags, 0);
    r = ROUTE("INFO", "server");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    r = ROUTE("WAIT", "1", "500");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    cr_assert_eq(r.flags, CLUSTER_CMD_WAIT);
    cr_assert_eq(r.block_ms, 500);
    r = ROUTE("WAIT", "1", "0");
    cr_assert_eq(r.block_ms, -1);
    r = ROUTE("SCRIPT", "LOAD", "return 1");
    cr_assert_eq(r.kind, CLUSTER_CMD_ALL);
    r = ROUTE("script", "flush");
    cr_assert_eq(r.kind, CLUSTER_CMD_ALL);
    r = ROUTE("SCRIPT", "EXISTS", "abc");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    r = ROUTE("MEMORY", "STATS");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYLESS);
    r = ROUTE("MEMORY", "USAGE", "k");
    cr_assert_eq(r.key, 2);
    static const char *const refused[] = {"MULTI", "exec", "WATCH",
                                          "SUBSCRIBE", "MONITOR"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        r = route((const char *const[]){refused[i], "x", NULL});
        cr_assert_eq(r.kind, CLUSTER_CMD_REFUSE, "%s", refused[i]);
    }
    r = ROUTE("QUIT");
    cr_assert_eq(r.kind, CLUSTER_CMD_QUIT);
    /* not a known name, even in part */
    r = ROUTE("GE", "k");
    cr_assert_eq(r.flags, 0);
    r = ROUTE("GET PING", "k");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYED);
    cr_assert_eq(r.flags, 0);
    r = ROUTE("AVERYLONGCOMMANDNAMETHATISNOTREAL", "k");
    cr_assert_eq(r.kind, CLUSTER_CMD_KEYED);
}
