/*
 * test_queue_scripts.c - the queue's Lua scripts run on a real
 * redis-server (started per test on a private unix socket): where TRIM
 * cuts the stream, that it never deletes a pending or undelivered entry,
 * that an idle stream ends empty, and that REQUEUE adds the new entry
 * exactly once, now or delayed.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue/scripts.h"

static pid_t redis_pid;
static redisContext *rc;
static char dir[64], sock[128];

static void start_redis(void)
{
    snprintf(dir, sizeof dir, "/tmp/jobrt-test-scripts.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/redis.sock", dir);
    char *argv[] = {"redis-server", "--port", "0", "--unixsocket", sock,
                    "--save", "", "--appendonly", "no", "--dir", dir,
                    "--logfile", "redis.log", NULL};
    redis_pid = fork();
    cr_assert_geq(redis_pid, 0, "fork");
    if (redis_pid == 0) {
        /* dies with the test process, even when an assertion ends it, and
         * keeps no pipe of the test runner open */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp("redis-server", argv);
        _exit(127);
    }
    for (int i = 0; i < 500 && rc == NULL; i++) { /* up to 5 s */
        redisContext *c = redisConnectUnix(sock);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            if (ok) {
                rc = c;
                break;
            }
        }
        if (c)
            redisFree(c);
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    cr_assert_not_null(rc, "redis-server did not answer on %s", sock);
}

static void stop_redis(void)
{
    if (rc)
        redisFree(rc);
    rc = NULL;
    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, NULL, 0);
    char path[160];
    snprintf(path, sizeof path, "%s/redis.log", dir);
    unlink(path);
    rmdir(dir);
}

/* Runs a command; the reply is freed by the next call. */
static redisReply *last;
static redisReply *cmd(const char *fmt, ...)
{
    freeReplyObject(last);
    va_list ap;
    va_start(ap, fmt);
    last = redisvCommand(rc, fmt, ap);
    va_end(ap);
    cr_assert_not_null(last, "connection to redis-server lost");
    cr_assert_neq(last->type, REDIS_REPLY_ERROR, "%s", last->str);
    return last;
}

static redisReply *eval_argv(const char *script, int nkeys, int nargs,
                             const char *const *args)
{
    const char *argv[32];
    char n[8];
    cr_assert_lt(nargs, 29);
    snprintf(n, sizeof n, "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = n;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    freeReplyObject(last);
    last = redisCommandArgv(rc, nargs + 3, argv, NULL);
    cr_assert_not_null(last);
    cr_assert_neq(last->type, REDIS_REPLY_ERROR, "%s", last->str);
    return last;
}

/* TRIM on stream "s" for group "g" with the given stale ids; returns the
 * cut point it answered. */
static const char *trim(int n_stale, const char *const *stale)
{
    const char *args[16] = {"s", "g"};
    cr_assert_lt(n_stale, 14);
    for (int i = 0; i < n_stale; i++)
        args[2 + i] = stale[i];
    redisReply *r = eval_argv(queue_scripts[SCRIPT_TRIM], 1, 2 + n_stale,
                              args);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    return r->str;
}

static int exists(const char *id)
{
    return cmd("XRANGE s %s %s", id, id)->elements == 1;
}

/* Entries 1-1 .. 10-1; group g reads the first `read`, acks `acked`. */
static void setup_stream(int read, const char *const *acked, int n_acked)
{
    for (int i = 1; i <= 10; i++)
        cmd("XADD s %d-1 job noop v 1 payload {}", i);
    cmd("XGROUP CREATE s g 0");
    if (read)
        cmd("XREADGROUP GROUP g c COUNT %d STREAMS s >", read);
    for (int i = 0; i < n_acked; i++)
        cr_assert_eq(cmd("XACK s g %s", acked[i])->integer, 1);
}

Test(queue_scripts, trim_cuts_below_the_oldest_pending_entry)
{
    start_redis();
    const char *acked[] = {"1-1", "2-1", "4-1", "5-1"};
    setup_stream(6, acked, 4); /* 3-1 and 6-1 pending, 7..10 undelivered */
    cr_assert_str_eq(trim(0, NULL), "3-1");
    cr_assert_eq(cmd("XLEN s")->integer, 8);
    cr_assert(!exists("1-1") && !exists("2-1"));
    cr_assert(exists("3-1") && exists("4-1"), "the cut is below 3-1 only");
    stop_redis();
}

Test(queue_scripts, stale_ids_go_unless_still_pending)
{
    start_redis();
    const char *acked[] = {"1-1", "2-1", "4-1", "5-1"};
    setup_stream(6, acked, 4);
    /* 6-1 is still pending (say its ack failed): it must stay */
    const char *stale[] = {"4-1", "5-1", "6-1", "2-1"};
    cr_assert_str_eq(trim(4, stale), "3-1");
    cr_assert(!exists("4-1") && !exists("5-1"));
    cr_assert(exists("3-1") && exists("6-1"), "pending entries stay");
    for (int i = 7; i <= 10; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d-1", i);
        cr_assert(exists(id), "undelivered %s stays", id);
    }
    cr_assert_eq(cmd("XLEN s")->integer, 6);
    stop_redis();
}

Test(queue_scripts, an_idle_stream_ends_empty_and_new_entries_stay)
{
    start_redis();
    setup_stream(10, NULL, 0);
    for (int i = 1; i <= 10; i++)
        cmd("XACK s g %d-1", i);
    cr_assert_str_eq(trim(0, NULL), "10-1");
    cr_assert_eq(cmd("XLEN s")->integer, 0);
    cmd("XADD s 11-1 job noop v 1 payload {}");
    cr_assert_str_eq(trim(0, NULL), "10-1");
    cr_assert(exists("11-1"), "an entry not yet delivered stays");
    cr_assert_eq(cmd("XLEN s")->integer, 1);
    stop_redis();
}

Test(queue_scripts, a_group_that_read_nothing_blocks_the_cut_only)
{
    start_redis();
    const char *acked[] = {"1-1", "2-1", "3-1"};
    setup_stream(3, acked, 3);
    cmd("XGROUP CREATE s other 0");
    const char *stale[] = {"2-1"};
    cr_assert_str_eq(trim(1, stale), "", "no cut below another group");
    cr_assert(exists("1-1") && exists("3-1"));
    cr_assert(!exists("2-1"), "stale ids are still deleted");
    stop_redis();
}

Test(queue_scripts, trim_of_a_missing_stream_does_nothing)
{
    start_redis();
    const char *stale[] = {"1-1"};
    cr_assert_str_eq(trim(1, stale), "");
    cr_assert_eq(cmd("EXISTS s")->integer, 0);
    stop_redis();
}

Test(queue_scripts, requeue_adds_the_new_entry_once)
{
    start_redis();
    cmd("XADD s 1-1 job retry v 1 payload {} id a");
    cmd("XGROUP CREATE s g 0");
    cmd("XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    const char *now[] = {"s", "z", "g", "1-1", "0", "0", "job", "retry",
                         "v", "1", "payload", "{}", "id", "a", "attempt",
                         "2", "last_error", "boom"};
    cr_assert_eq(eval_argv(queue_scripts[SCRIPT_REQUEUE], 2, 18, now)->integer,
                 1);
    redisReply *r = cmd("XRANGE s (1-1 +");
    cr_assert_eq(r->elements, 1, "one new entry at the tail");
    redisReply *f = r->element[0]->element[1];
    cr_assert_eq(f->elements, 12);
    cr_assert_str_eq(f->element[9]->str, "2");
    cr_assert_str_eq(f->element[11]->str, "boom");
    cr_assert_eq(cmd("XPENDING s g")->element[0]->integer, 0, "acked");
    /* a resend after a lost reply adds nothing */
    cr_assert_eq(eval_argv(queue_scripts[SCRIPT_REQUEUE], 2, 18, now)->integer,
                 0);
    cr_assert_eq(cmd("XLEN s")->integer, 2, "old (until trimmed) + new");

    /* delayed: into the sorted set, due about 60 s from now */
    cmd("XREADGROUP GROUP g c COUNT 1 STREAMS s >");
    const char *new_id = cmd("XRANGE s (1-1 +")->element[0]->element[0]->str;
    char id[48];
    snprintf(id, sizeof id, "%s", new_id);
    const char *later[] = {"s", "z", "g", id, "60000", "0", "job", "retry",
                           "v", "1", "payload", "{}", "id", "a"};
    cr_assert_eq(
        eval_argv(queue_scripts[SCRIPT_REQUEUE], 2, 14, later)->integer, 1);
    cr_assert_eq(cmd("ZCARD z")->integer, 1);
    cr_assert_eq(cmd("XLEN s")->integer, 2, "nothing new in the stream");
    stop_redis();
}
