/*
 * test_redis_conn.c - which Redis errors retrying cannot fix, and the
 * blocking connect of the CLI commands against a real redis-server
 * (started per test on a private unix socket): AUTH as an ACL user, and
 * one error line naming the step, never the password, for a wrong
 * password, a missing password and a db out of range.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue/redis_conn.h"
#include "support/test_redis.h"

#define SECRET "Zq7-s3cr3t"

Test(redis_conn, config_errors)
{
    const char *config[] = {
        "WRONGPASS invalid username-password pair or user is disabled.",
        "NOAUTH Authentication required.",
        "ERR AUTH <password> called without any password configured for "
        "the default user. Are you sure your configuration is correct?",
        "ERR Client sent AUTH, but no password is set",
        "ERR invalid password",
        "ERR DB index is out of range",
        "NOPERM this user has no permissions to run the 'script|load' "
        "command",
        "ERR unknown command 'XREADGROUP', with args beginning with: ",
        "ERR unknown subcommand 'UNBLOCK'. Try CLIENT HELP.",
        "ERR wrong number of arguments for 'auth' command",
    };
    const char *transient[] = {
        "LOADING Redis is loading the dataset in memory",
        "BUSY Redis is busy running a script.",
        "MASTERDOWN Link with MASTER is down",
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "OOM command not allowed when used memory > 'maxmemory'.",
        "READONLY You can't write against a read only replica.",
        "ERR something new",
    };
    for (size_t i = 0; i < sizeof config / sizeof config[0]; i++)
        cr_assert_eq(redis_error_is_config(config[i]), 1, "%s", config[i]);
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        cr_assert_eq(redis_error_is_config(transient[i]), 0, "%s",
                     transient[i]);
    cr_assert_eq(redis_error_is_config(NULL), 0);
}

/* What an error reply asks of a connection: MOVED (of its own slot)
 * drops it and names where to go, ASK / TRYAGAIN / CLUSTERDOWN retry it, READONLY reconnects
 * with --sentinel or --cluster and retries (said once) without; nothing
 * else is routed. A connection that is not up is only pointed. */
Test(redis_conn, route_error)
{
    uv_loop_t *loop = uv_default_loop();
    redis_target_t plain = {.host = "127.0.0.1", .port = 6379,
                            .display = "127.0.0.1:6379"};
    redis_target_t cl = plain;
    cl.cluster = 1;
    redis_target_t sen = plain;
    sen.n_sentinels = 1;
    static redis_conn_t conns[16];
    int n = 0;
#define ROUTE(t, e) (redis_conn_init(&conns[n], loop, &(t), "writer", NULL, \
                                     NULL, NULL, NULL),                      \
                     redis_conn_route_error(&conns[n++], (e), strlen(e)))
    const char *moved = "MOVED 3999 127.0.0.1:7002";
    cr_assert_eq(ROUTE(cl, moved), REDIS_ROUTE_RECONNECT);
    cr_assert_eq(conns[n - 1].moved_hint, 1);
    cr_assert_str_eq(conns[n - 1].cur_host, "127.0.0.1");
    cr_assert_eq(conns[n - 1].cur_port, 7002);
    cr_assert_eq(ROUTE(plain, moved), REDIS_ROUTE_NONE,
                 "no --cluster: an error like any other");
    /* a MOVED for another slot than the connection's is not followed */
    redis_conn_init(&conns[n], loop, &cl, "writer", NULL, NULL, NULL, NULL);
    redis_conn_set_slot(&conns[n], 12);
    cr_assert_eq(redis_conn_route_error(&conns[n], moved, strlen(moved)),
                 REDIS_ROUTE_NONE);
    cr_assert_eq(conns[n].moved_hint, 0);
    n++;
    redis_conn_init(&conns[n], loop, &cl, "writer", NULL, NULL, NULL, NULL);
    redis_conn_set_slot(&conns[n], 3999);
    cr_assert_eq(redis_conn_route_error(&conns[n], moved, strlen(moved)),
                 REDIS_ROUTE_RECONNECT, "its own slot's is");
    n++;
    /* CLUSTERDOWN marks since when (the periodic check asks the map) */
    const char *down = "CLUSTERDOWN The cluster is down";
    cr_assert_eq(ROUTE(cl, down), REDIS_ROUTE_RETRY);
    cr_assert_gt(conns[n - 1].busy_since_ms, 0);
    const char *retry[] = {"ASK 3999 127.0.0.1:7002",
                           "TRYAGAIN Multiple keys request during rehashing "
                           "of slot",
                           "CLUSTERDOWN The cluster is down"};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        cr_assert_eq(ROUTE(cl, retry[i]), REDIS_ROUTE_RETRY, "%s", retry[i]);
    const char *ro = "READONLY You can't write against a read only replica.";
    cr_assert_eq(ROUTE(sen, ro), REDIS_ROUTE_RECONNECT);
    cr_assert_eq(ROUTE(cl, ro), REDIS_ROUTE_RECONNECT);
    cr_assert_eq(ROUTE(plain, ro), REDIS_ROUTE_RETRY);
    cr_assert_eq(conns[n - 1].readonly_logged, 1);
    cr_assert_eq(redis_conn_route_error(&conns[n - 1], ro, strlen(ro)),
                 REDIS_ROUTE_RETRY);
    cr_assert_eq(ROUTE(cl, "ERR something else"), REDIS_ROUTE_NONE);
#undef ROUTE
    for (int i = 0; i < n; i++)
        uv_close((uv_handle_t *)&conns[i].retry_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT); /* the closes */
}

Test(redis_conn, format_duration)
{
    char out[32];
    redis_format_duration(6420, out, sizeof out);
    cr_assert_str_eq(out, "6.4 s");
    redis_format_duration(99, out, sizeof out);
    cr_assert_str_eq(out, "0.0 s");
    redis_format_duration(-5, out, sizeof out);
    cr_assert_str_eq(out, "0.0 s");
}

static test_redis_t server;

static redisContext *admin(void) { return test_redis_connect(&server); }

static void start_redis(void)
{
    redisFree(test_redis_start(&server, "conn"));
    /* an ACL user, and a password for the default user */
    redisContext *c = admin();
    redisReply *r = redisCommand(c, "ACL SETUSER app on >%s ~* &* +@all",
                                 SECRET "-app");
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "ACL SETUSER");
    freeReplyObject(r);
    r = redisCommand(c, "CONFIG SET requirepass %s", SECRET "-default");
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "CONFIG SET requirepass");
    freeReplyObject(r);
    redisFree(c);
}

static void stop_redis(void) { test_redis_stop(&server); }

/* Each test calls start_redis() first and stop_redis() last: fixtures are
 * explicit calls rather than TestSuite(.init/.fini), which cppcheck cannot
 * parse. The server dies with the test process whatever happens. */

/* Connects to url; returns whether it worked, with the error in err. */
static int try_connect(const char *url, char *err, size_t err_len)
{
    char full[256];
    redis_target_t t;
    snprintf(full, sizeof full, url, server.sock);
    cr_assert_eq(redis_target_parse(full, &t, err, err_len), 0, "%s", err);
    redisContext *c = redis_connect_sync(&t, 2000, err, err_len);
    redis_target_free(&t);
    if (c == NULL)
        return 0;
    redisReply *r = redisCommand(c, "SET k v");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    redisFree(c);
    cr_assert(ok, "SET after a good connect");
    return 1;
}

Test(redis_conn_sync, acl_user_and_default_user)
{
    char err[512] = "";
    start_redis();
    cr_assert(try_connect("unix://app:" SECRET "-app@%s", err, sizeof err),
              "%s", err);
    cr_assert(try_connect("unix://:" SECRET "-default@%s?db=2", err,
                          sizeof err), "%s", err);
    stop_redis();
}

static void assert_fails(const char *url, const char *want)
{
    char err[512] = "";
    cr_assert_eq(try_connect(url, err, sizeof err), 0, "%s connected", url);
    cr_assert_not_null(strstr(err, want), "%s: '%s' lacks '%s'", url, err,
                       want);
    cr_assert_null(strstr(err, SECRET), "%s: shows the password: %s", url,
                   err);
    cr_assert_null(strchr(err, '\n'), "one line: %s", err);
}

Test(redis_conn_sync, one_line_per_failure)
{
    start_redis();
    assert_fails("unix://app:" SECRET "-wrong@%s",
                 "AUTH as user 'app' failed: WRONGPASS");
    assert_fails("unix://nobody:" SECRET "-app@%s",
                 "AUTH as user 'nobody' failed: WRONGPASS");
    assert_fails("unix://:" SECRET "-wrong@%s", "AUTH failed: WRONGPASS");
    assert_fails("unix://%s", "PING failed: NOAUTH");
    assert_fails("unix://:" SECRET "-default@%s?db=99",
                 "SELECT 99 failed: ERR DB index is out of range");
    char target[200];
    snprintf(target, sizeof target, "redis at unix:%s?db=99: SELECT",
             server.sock);
    assert_fails("unix://:" SECRET "-default@%s?db=99", target);
    stop_redis();
}
