/*
 * test_cluster_router.c - the --cluster router (cluster_router_connect)
 * against a real Redis Cluster: three redis-server processes in cluster
 * mode on free loopback ports, joined by `redis-cli --cluster create`,
 * for each test. Through one plain redisContext: keys on all three
 * shards, a pipeline of 100 commands across them, SCRIPT LOAD then
 * EVALSHA on each shard, nested replies, big values; a slot migrated by
 * hand (ASK while it moves, MOVED after, on the same context); a node
 * that is killed (named in the error) or paused (a write whose reply was
 * lost is not sent twice); discovery failures. Skipped when redis-server
 * or redis-cli is missing or has no cluster support.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "queue/cluster.h"
#include "queue/redis_target.h"

#define NODES 3

typedef struct {
    char dir[64];
    int port[NODES];
    pid_t pid[NODES];
    char id[NODES][64];
    cluster_map_t map; /* as node 0 says after the create */
} test_cluster_t;

static test_cluster_t cl; /* the fixture's cluster, one per test process */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A port P with P and its cluster bus port P + 10000 free. */
static int free_port(void)
{
    for (int i = 0; i < 500; i++) {
        int p = 20000 + rand() % 20000;
        if (port_free(p) && port_free(p + 10000))
            return p;
    }
    cr_assert_fail("no free loopback port pair");
    return 0;
}

/* Starts argv with its output in dir/log; it dies with the test. */
static pid_t spawn(char *const argv[], const char *log)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", cl.dir, log);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDONLY);
        int out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(null, 0);
        dup2(out, 1);
        dup2(out, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static redisContext *node_connect(int port)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    cr_assert(c && !c->err, "cannot connect to 127.0.0.1:%d", port);
    redisSetTimeout(c, tv);
    return c;
}

/* A command on a direct connection to node i; the caller frees it. */
static redisReply *node_cmd(int i, const char *fmt, ...)
{
    redisContext *c = node_connect(cl.port[i]);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r, "node %d: %s", i, c->errstr);
    redisFree(c);
    return r;
}

/* Waits (polling, up to 10 s) for node i to answer PING; skips the test
 * when redis-server could not run. */
static void wait_up(int i)
{
    long long deadline = mono_ms() + 10000;
    for (;;) {
        int status;
        if (waitpid(cl.pid[i], &status, WNOHANG) == cl.pid[i]) {
            cl.pid[i] = 0;
            cr_skip_test("redis-server did not start (exit %d): see %s",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                         cl.dir);
        }
        redisContext *c = redisConnect("127.0.0.1", cl.port[i]);
        redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
        int ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        redisFree(c);
        if (ok)
            return;
        cr_assert_lt(mono_ms(), deadline, "node %d did not answer", i);
        sleep_ms(20);
    }
}

/* Runs argv to its end (up to 60 s): its exit status. */
static int run(char *const argv[], const char *log)
{
    pid_t pid = spawn(argv, log);
    long long deadline = mono_ms() + 60000;
    int status;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s did not finish in 60 s", argv[0]);
        }
        sleep_ms(20);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every node says cluster_state:ok and maps all slots to 3 primaries. */
static int cluster_ready(void)
{
    for (int i = 0; i < NODES; i++) {
        redisReply *r = node_cmd(i, "CLUSTER INFO");
        int ok = r->type == REDIS_REPLY_STRING &&
                 strstr(r->str, "cluster_state:ok") != NULL;
        freeReplyObject(r);
        if (!ok)
            return 0;
        r = node_cmd(i, "CLUSTER SLOTS");
        ok = r->type == REDIS_REPLY_ARRAY && r->elements == NODES;
        freeReplyObject(r);
        if (!ok)
            return 0;
    }
    return 1;
}

static void stop_cluster(void);

/* Called first by each test (explicitly: cppcheck cannot parse a
 * TestSuite with .init/.fini); stop_cluster runs at its end, and from
 * atexit when an assertion ends the test first (the servers die with the
 * test process anyway: PR_SET_PDEATHSIG). */
static void start_cluster(void)
{
    atexit(stop_cluster);
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    snprintf(cl.dir, sizeof cl.dir, "/tmp/jobrt-test-cluster.XXXXXX");
    cr_assert_not_null(mkdtemp(cl.dir));
    for (int i = 0; i < NODES; i++) {
        char port[16], conf[32], log[32];
        cl.port[i] = free_port();
        snprintf(port, sizeof port, "%d", cl.port[i]);
        snprintf(conf, sizeof conf, "nodes-%d.conf", cl.port[i]);
        snprintf(log, sizeof log, "redis-%d.log", cl.port[i]);
        char *argv[] = {"redis-server", "--port", port, "--bind",
                        "127.0.0.1", "--cluster-enabled", "yes",
                        "--cluster-config-file", conf, "--save", "",
                        "--appendonly", "no", "--dir", cl.dir, NULL};
        cl.pid[i] = spawn(argv, log);
    }
    for (int i = 0; i < NODES; i++)
        wait_up(i);
    redisReply *r = node_cmd(0, "CLUSTER MYID");
    if (r->type == REDIS_REPLY_ERROR)
        cr_skip_test("redis-server has no cluster support: %s", r->str);
    freeReplyObject(r);
    char addr[NODES][32];
    for (int i = 0; i < NODES; i++)
        snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", cl.port[i]);
    char *create[] = {"redis-cli", "--cluster", "create", addr[0], addr[1],
                      addr[2], "--cluster-replicas", "0", "--cluster-yes",
                      NULL};
    int rc = run(create, "create.log");
    if (rc == 127)
        cr_skip_test("redis-cli is missing");
    cr_assert_eq(rc, 0, "redis-cli --cluster create failed: see %s/"
                 "create.log", cl.dir);
    long long deadline = mono_ms() + 30000;
    while (!cluster_ready()) {
        cr_assert_lt(mono_ms(), deadline, "the cluster is not ok in 30 s");
        sleep_ms(50);
    }
    for (int i = 0; i < NODES; i++) {
        r = node_cmd(i, "CLUSTER MYID");
        cr_assert_eq(r->type, REDIS_REPLY_STRING);
        snprintf(cl.id[i], sizeof cl.id[i], "%s", r->str);
        freeReplyObject(r);
    }
    char err[256];
    cluster_node_t asked = {"127.0.0.1", cl.port[0]};
    r = node_cmd(0, "CLUSTER SLOTS");
    cr_assert_eq(cluster_map_parse(r, &asked, &cl.map, err, sizeof err), 0,
                 "%s", err);
    freeReplyObject(r);
}

static void stop_cluster(void)
{
    for (int i = 0; i < NODES; i++)
        if (cl.pid[i] > 0) {
            kill(cl.pid[i], SIGTERM);
            waitpid(cl.pid[i], NULL, 0);
            cl.pid[i] = 0;
        }
    cluster_map_free(&cl.map);
    DIR *d = cl.dir[0] ? opendir(cl.dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[400];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", cl.dir, e->d_name);
        unlink(path);
    }
    if (d) {
        closedir(d);
        rmdir(cl.dir);
    }
    cl.dir[0] = '\0';
}

/* The node index serving key, by the map of the create. */
static int node_of(const char *key)
{
    cluster_node_t n;
    cr_assert_eq(cluster_map_find(&cl.map, cluster_key_slot(key, strlen(key)),
                                  &n), 0);
    for (int i = 0; i < NODES; i++)
        if (n.port == cl.port[i])
            return i;
    cr_assert_fail("%s is served by an unknown port %d", key, n.port);
    return -1;
}

/* A key served by node i: "<prefix><n>" for the first n that is. */
static void key_on(int i, const char *prefix, char *out, size_t out_len)
{
    for (int n = 0; n < 10000; n++) {
        snprintf(out, out_len, "%s%d", prefix, n);
        if (node_of(out) == i)
            return;
    }
    cr_assert_fail("no key for node %d", i);
}

static redisContext *router(int timeout_ms)
{
    redis_target_t t;
    char err[1024], url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", cl.port[0]);
    cr_assert_eq(redis_target_parse(url, &t, err, sizeof err), 0, "%s", err);
    t.cluster = 1;
    redisContext *c = cluster_router_connect(&t, timeout_ms, err, sizeof err);
    redis_target_free(&t);
    cr_assert_not_null(c, "cluster_router_connect: %s", err);
    return c;
}

/* A command through c that must answer with a reply of type `type`. */
static redisReply *must(redisContext *c, int type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert_not_null(r, "'%s': connection lost: %s", fmt, c->errstr);
    cr_assert_eq(r->type, type, "'%s': type %d, not %d%s%s", fmt, r->type,
                 type, r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    return r;
}

static void expect_str(redisContext *c, const char *want, const char *fmt,
                       const char *key)
{
    redisReply *r = must(c, REDIS_REPLY_STRING, fmt, key);
    cr_assert_str_eq(r->str, want, "%s", key);
    freeReplyObject(r);
}

static int threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* errorstat_<what> of node i's INFO errorstats (0 when absent). */
static long errorstat(int i, const char *what)
{
    redisReply *r = node_cmd(i, "INFO errorstats");
    char pat[64];
    long n = 0;
    snprintf(pat, sizeof pat, "errorstat_%s:count=", what);
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, pat) : 0;
    if (p)
        n = strtol(p + strlen(pat), NULL, 10);
    freeReplyObject(r);
    return n;
}


Test(cluster_router, keys_on_every_shard_pipelines_and_scripts)
{
    start_cluster();
    int before = threads();
    redisContext *c = router(2000);
    char key[NODES][32];
    for (int i = 0; i < NODES; i++) {
        key_on(i, "key:", key[i], sizeof key[i]);
        redisReply *r = must(c, REDIS_REPLY_STATUS, "SET %s v%d", key[i], i);
        freeReplyObject(r);
    }
    for (int i = 0; i < NODES; i++) { /* each on its own shard */
        char want[8];
        snprintf(want, sizeof want, "v%d", i);
        expect_str(c, want, "GET %s", key[i]);
        redisReply *r = node_cmd(i, "GET %s", key[i]);
        cr_assert_eq(r->type, REDIS_REPLY_STRING, "node %d lacks %s", i,
                     key[i]);
        freeReplyObject(r);
    }
    /* our slots are the cluster's */
    for (int n = 0; n < 200; n++) {
        char k[32];
        snprintf(k, sizeof k, n % 2 ? "job:%d" : "{q%d}:stream", n);
        redisReply *r = must(c, REDIS_REPLY_INTEGER, "CLUSTER KEYSLOT %s", k);
        cr_assert_eq(r->integer, cluster_key_slot(k, strlen(k)), "%s", k);
        freeReplyObject(r);
    }
    /* a pipeline across the shards, answered in order */
    int on[NODES] = {0};
    for (int n = 0; n < 100; n++) {
        char k[32];
        snprintf(k, sizeof k, "p:%d", n);
        on[node_of(k)]++;
        cr_assert_eq(redisAppendCommand(c, "SET %s val%d", k, n), REDIS_OK);
    }
    for (int i = 0; i < NODES; i++)
        cr_assert_gt(on[i], 0, "the pipeline misses node %d", i);
    for (int n = 0; n < 100; n++) {
        void *r;
        cr_assert_eq(redisGetReply(c, &r), REDIS_OK, "%s", c->errstr);
        cr_assert_eq(((redisReply *)r)->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
    for (int n = 0; n < 100; n++)
        cr_assert_eq(redisAppendCommand(c, "GET p:%d", n), REDIS_OK);
    for (int n = 0; n < 100; n++) {
        redisReply *r;
        char want[16];
        cr_assert_eq(redisGetReply(c, (void **)&r), REDIS_OK, "%s",
                     c->errstr);
        snprintf(want, sizeof want, "val%d", n);
        cr_assert_eq(r->type, REDIS_REPLY_STRING);
        cr_assert_str_eq(r->str, want, "reply %d out of order", n);
        freeReplyObject(r);
    }
    /* SCRIPT LOAD reaches every primary; EVALSHA runs on each shard */
    redisReply *sha = must(c, REDIS_REPLY_STRING, "SCRIPT LOAD %s",
                           "return redis.call('GET', KEYS[1])");
    for (int i = 0; i < NODES; i++) {
        redisReply *r = node_cmd(i, "SCRIPT EXISTS %s", sha->str);
        cr_assert_eq(r->element[0]->integer, 1, "node %d lacks the script",
                     i);
        freeReplyObject(r);
        char want[8];
        snprintf(want, sizeof want, "v%d", i);
        r = must(c, REDIS_REPLY_STRING, "EVALSHA %s 1 %s", sha->str, key[i]);
        cr_assert_str_eq(r->str, want);
        freeReplyObject(r);
    }
    freeReplyObject(sha);
    /* keyless commands, nested and odd replies */
    redisReply *r = must(c, REDIS_REPLY_STATUS, "PING");
    cr_assert_str_eq(r->str, "PONG");
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_ARRAY, "TIME");
    cr_assert_eq(r->elements, 2);
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_INTEGER, "WAIT 0 0");
    cr_assert_eq(r->integer, 0);
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_ARRAY, "EVAL %s 0",
             "return {1, {2, 'x', {'deep'}}, 'y', redis.status_reply('FINE')}");
    cr_assert_eq(r->elements, 4);
    cr_assert_eq(r->element[0]->integer, 1);
    cr_assert_eq(r->element[1]->type, REDIS_REPLY_ARRAY);
    cr_assert_str_eq(r->element[1]->element[1]->str, "x");
    cr_assert_str_eq(r->element[1]->element[2]->element[0]->str, "deep");
    cr_assert_eq(r->element[3]->type, REDIS_REPLY_STATUS);
    cr_assert_str_eq(r->element[3]->str, "FINE");
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_NIL, "GET %s", "no-such-key");
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_ERROR, "INCR %s", key[1]);
    cr_assert_not_null(strstr(r->str, "not an integer"), "%s", r->str);
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_ERROR, "MULTI");
    cr_assert_not_null(strstr(r->str, "jobrt cluster router: MULTI is not "
                              "supported"), "%s", r->str);
    freeReplyObject(r);
    expect_str(c, "v2", "GET %s", key[2]); /* and it goes on */
    /* a value bigger than every buffer, binary-safe */
    size_t big = (size_t)3 << 20;
    char *v = malloc(big);
    cr_assert_not_null(v);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)(i * 7 + i / 251);
    r = must(c, REDIS_REPLY_STATUS, "SET big %b", v, big);
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_STRING, "GET big");
    cr_assert_eq(r->len, big);
    cr_assert_eq(memcmp(r->str, v, big), 0, "the big value changed");
    freeReplyObject(r);
    free(v);
    cr_assert_gt(threads(), before, "no router thread");
    redisFree(c);
    long long deadline = mono_ms() + 5000; /* the thread ends by itself */
    while (threads() > before && mono_ms() < deadline)
        sleep_ms(10);
    cr_assert_eq(threads(), before, "the router thread outlived redisFree");
    stop_cluster();
}

/* One slot moved by hand: ASK while keys move, MOVED after; the context
 * made before the move reads a key written before it. */
Test(cluster_router, follows_ask_then_moved_through_a_migration)
{
    start_cluster();
    redisContext *c = router(2000);
    const char *k1 = "{mig}k1", *k2 = "{mig}k2";
    unsigned slot = cluster_key_slot(k1, strlen(k1));
    int src = node_of(k1), dst = (src + 1) % NODES, other = (src + 2) % NODES;
    redisReply *r = must(c, REDIS_REPLY_STATUS, "SET %s before", k1);
    freeReplyObject(r);
    r = node_cmd(dst, "CLUSTER SETSLOT %u IMPORTING %s", slot, cl.id[src]);
    cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
    freeReplyObject(r);
    r = node_cmd(src, "CLUSTER SETSLOT %u MIGRATING %s", slot, cl.id[dst]);
    cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
    freeReplyObject(r);
    long ask0 = errorstat(src, "ASK");
    /* k2 is not on src: src answers ASK, the router asks dst */
    r = must(c, REDIS_REPLY_STATUS, "SET %s during", k2);
    freeReplyObject(r);
    r = node_cmd(dst, "CLUSTER COUNTKEYSINSLOT %u", slot);
    cr_assert_eq(r->integer, 1, "k2 is not on the importing node");
    freeReplyObject(r);
    expect_str(c, "before", "GET %s", k1); /* still on src */
    expect_str(c, "during", "GET %s", k2); /* ASK again */
    cr_assert_eq(errorstat(src, "ASK"), ask0 + 2);
    /* move k1, then give the slot to dst everywhere */
    char port[16];
    snprintf(port, sizeof port, "%d", cl.port[dst]);
    const char *mig[] = {"MIGRATE", "127.0.0.1", port, "", "0", "5000",
                         "KEYS", k1};
    redisContext *d = node_connect(cl.port[src]);
    r = redisCommandArgv(d, 8, mig, NULL);
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "MIGRATE: %s",
              r ? r->str : d->errstr);
    freeReplyObject(r);
    redisFree(d);
    int order[] = {dst, src, other};
    for (int i = 0; i < NODES; i++) {
        r = node_cmd(order[i], "CLUSTER SETSLOT %u NODE %s", slot,
                     cl.id[dst]);
        cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
        freeReplyObject(r);
    }
    long moved0 = errorstat(src, "MOVED");
    expect_str(c, "before", "GET %s", k1); /* the old map: src, MOVED */
    cr_assert_eq(errorstat(src, "MOVED"), moved0 + 1);
    expect_str(c, "before", "GET %s", k1); /* the map knows now */
    expect_str(c, "during", "GET %s", k2);
    cr_assert_eq(errorstat(src, "MOVED"), moved0 + 1, "still sent to src");
    r = node_cmd(dst, "GET %s", k1);
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "k1 is not on dst");
    freeReplyObject(r);
    redisFree(c);
    stop_cluster();
}

/* A killed node is named once the retries run out; the others still
 * answer. A write whose reply is lost (the node paused) is not sent
 * again. */
Test(cluster_router, a_lost_node_is_named_and_writes_are_not_repeated)
{
    start_cluster();
    redisContext *c = router(300);
    char dead[32], alive[32], paused[32], probe[32];
    key_on(2, "dead:", dead, sizeof dead);
    key_on(1, "probe:", probe, sizeof probe);
    key_on(0, "alive:", alive, sizeof alive);
    key_on(1, "paused:", paused, sizeof paused);
    redisReply *r = must(c, REDIS_REPLY_STATUS, "SET %s 1", dead);
    freeReplyObject(r);
    kill(cl.pid[2], SIGKILL);
    waitpid(cl.pid[2], NULL, 0);
    cl.pid[2] = 0;
    long long t0 = mono_ms();
    r = must(c, REDIS_REPLY_ERROR, "GET %s", dead);
    long long took = mono_ms() - t0;
    char want[96];
    snprintf(want, sizeof want, "ERR jobrt cluster router: cannot reach "
             "127.0.0.1:%d: ", cl.port[2]);
    cr_assert_not_null(strstr(r->str, want), "%s", r->str);
    cr_assert_not_null(strstr(r->str, "refused"), "%s", r->str);
    cr_assert_lt(took, 2000, "took %lld ms with a 300 ms timeout", took);
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_STATUS, "SET %s 1", alive);
    freeReplyObject(r);
    redisFree(c);
    /* A write whose connection is cut after it was sent: node 1 holds
     * writes for 1 s, and once the INCR waits there (CLIENT LIST says
     * cmd=incr), a child kills its clients. Redis
     * drops a paused client's pending command when the client goes, so
     * the INCR never runs; one sent again on a new connection (there is
     * time left: 2 s) would run when the pause ends. */
    c = router(2000);
    r = must(c, REDIS_REPLY_STATUS, "SET %s 0", paused);
    freeReplyObject(r);
    r = node_cmd(1, "CLIENT PAUSE 1000 WRITE");
    cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
    freeReplyObject(r);
    pid_t killer = fork();
    cr_assert_geq(killer, 0);
    if (killer == 0) {
        redisContext *k = redisConnect("127.0.0.1", cl.port[1]);
        int seen = 0;
        for (int i = 0; i < 180 && k && !k->err && !seen; i++) {
            redisReply *l = redisCommand(k, "CLIENT LIST TYPE normal");
            seen = l && l->type == REDIS_REPLY_STRING &&
                   strstr(l->str, "cmd=incr") != NULL;
            if (l)
                freeReplyObject(l);
            if (!seen)
                sleep_ms(5);
        }
        redisReply *kr = seen && k && !k->err
                             ? redisCommand(k, "CLIENT KILL TYPE normal "
                                            "SKIPME yes")
                             : NULL;
        _exit(kr && kr->type == REDIS_REPLY_INTEGER && kr->integer > 0 ? 0
                                                                       : 1);
    }
    r = must(c, REDIS_REPLY_ERROR, "INCR %s", paused);
    cr_assert_not_null(strstr(r->str, "it may have run, so it is not sent "
                              "again"), "%s", r->str);
    freeReplyObject(r);
    int status;
    waitpid(killer, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "CLIENT KILL killed nothing");
    /* a direct write returns once the pause has ended */
    r = node_cmd(1, "SET %s x", probe);
    cr_assert_eq(r->type, REDIS_REPLY_STATUS, "%s", r->str);
    freeReplyObject(r);
    r = node_cmd(1, "GET %s", paused);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(r->str, "0", "the lost INCR was sent again");
    freeReplyObject(r);
    r = must(c, REDIS_REPLY_INTEGER, "INCR %s", paused);
    cr_assert_eq(r->integer, 1);
    freeReplyObject(r);
    redisFree(c);
    stop_cluster();
}

/* Discovery asks the seeds after the target's node; a target that is
 * not a cluster or refuses the login is a configuration error. */
Test(cluster_router, discovery_failures_say_why)
{
    start_cluster();
    redis_target_t t;
    char err[1024], url[64];
    int config = -1, gone = free_port();
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", gone);
    cr_assert_eq(redis_target_parse(url, &t, err, sizeof err), 0, "%s", err);
    t.cluster = 1;
    redisContext *c = cluster_router_connect(&t, 500, err, sizeof err);
    cr_assert_null(c);
    snprintf(url, sizeof url, "cannot reach 127.0.0.1:%d: ", gone);
    cr_assert_not_null(strstr(err, "no node answered CLUSTER SLOTS"), "%s",
                       err);
    cr_assert_not_null(strstr(err, url), "%s", err);
    /* the dead target first, then a seed that answers */
    cluster_node_t seeds[2] = {{"127.0.0.1", gone}, {"127.0.0.1", 0}};
    seeds[1].port = cl.port[1];
    cluster_map_t m;
    cr_assert_eq(cluster_discover(&t, seeds, 2, &m, &config, err,
                                  sizeof err), 0, "%s", err);
    cr_assert_eq(m.n, NODES);
    cluster_map_free(&m);
    redis_target_free(&t);
    /* a plain redis-server with a password */
    int port = free_port();
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    char *argv[] = {"redis-server", "--port", p, "--bind", "127.0.0.1",
                    "--requirepass", "s3cret", "--save", "", "--appendonly",
                    "no", "--dir", cl.dir, NULL};
    pid_t pid = spawn(argv, "plain.log");
    long long deadline = mono_ms() + 10000;
    for (;;) { /* up once it answers at all (NOAUTH) */
        redisContext *pc = redisConnect("127.0.0.1", port);
        redisReply *pr = pc && !pc->err ? redisCommand(pc, "PING") : NULL;
        int up = pr != NULL;
        freeReplyObject(pr);
        redisFree(pc);
        if (up)
            break;
        cr_assert_lt(mono_ms(), deadline, "the plain server did not start");
        sleep_ms(20);
    }
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d", port);
    cr_assert_eq(redis_target_parse(url, &t, err, sizeof err), 0, "%s", err);
    t.cluster = 1;
    cr_assert_eq(cluster_discover(&t, NULL, 0, &m, &config, err, sizeof err),
                 -1);
    cr_assert_eq(config, 1, "a refused login is a config error: %s", err);
    cr_assert_not_null(strstr(err, "AUTH failed"), "%s", err);
    cr_assert_null(strstr(err, "wrong"), "the password is shown: %s", err);
    redis_target_free(&t);
    snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d", port);
    cr_assert_eq(redis_target_parse(url, &t, err, sizeof err), 0, "%s", err);
    t.cluster = 1;
    cr_assert_eq(cluster_discover(&t, NULL, 0, &m, &config, err, sizeof err),
                 -1);
    cr_assert_eq(config, 1, "not a cluster is a config error: %s", err);
    cr_assert_not_null(strstr(err, "cluster support disabled"), "%s", err);
    redis_target_free(&t);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    stop_cluster();
}
