/*
 * test_redis.c - a private redis-server for unit tests; see test_redis.h.
 */
#include "test_redis.h"

#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

redisContext *test_redis_connect(const test_redis_t *r)
{
    redisContext *c = redisConnectUnix(r->sock);
    cr_assert(c && !c->err, "cannot connect to %s", r->sock);
    return c;
}

redisContext *test_redis_start(test_redis_t *r, const char *name)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/jobrt-test-%.20s.XXXXXX", name);
    cr_assert_not_null(mkdtemp(r->dir));
    snprintf(r->sock, sizeof r->sock, "%s/redis.sock", r->dir);
    char *argv[] = {"redis-server", "--port", "0", "--unixsocket", r->sock,
                    "--save", "", "--appendonly", "no", "--dir", r->dir,
                    "--logfile", "redis.log", NULL};
    r->pid = fork();
    cr_assert_geq(r->pid, 0, "fork");
    if (r->pid == 0) {
        /* dies with the test process, and keeps no pipe of the test
         * runner open */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp("redis-server", argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* up to 5 s */
        redisContext *c = redisConnectUnix(r->sock);
        if (c && !c->err) {
            redisReply *rep = redisCommand(c, "PING");
            int ok = rep && rep->type == REDIS_REPLY_STATUS;
            freeReplyObject(rep);
            if (ok)
                return c;
        }
        if (c)
            redisFree(c);
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("redis-server did not answer on %s", r->sock);
    return NULL;
}

void test_redis_stop(test_redis_t *r)
{
    if (r->pid > 0) { /* 0: the test killed and reaped it itself */
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    char path[160];
    snprintf(path, sizeof path, "%s/redis.log", r->dir);
    unlink(path);
    rmdir(r->dir);
}

redisReply *test_redis_cmd(redisContext *c, redisReply **last,
                           const char *fmt, ...)
{
    freeReplyObject(*last);
    va_list ap;
    va_start(ap, fmt);
    *last = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert_not_null(*last, "connection to redis-server lost");
    cr_assert_neq((*last)->type, REDIS_REPLY_ERROR, "%s", (*last)->str);
    return *last;
}

redisReply *test_redis_argv(redisContext *c, redisReply **last, int argc,
                            const char **argv)
{
    freeReplyObject(*last);
    *last = redisCommandArgv(c, argc, argv, NULL);
    cr_assert_not_null(*last, "connection to redis-server lost");
    cr_assert_neq((*last)->type, REDIS_REPLY_ERROR, "%s", (*last)->str);
    return *last;
}
