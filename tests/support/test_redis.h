/*
 * test_redis.h - a private redis-server for a Criterion test: started on
 * a unix socket in a fresh directory, with persistence off, dying with the
 * test process (even when an assertion ends it), and stopped and cleaned
 * up by test_redis_stop().
 */
#ifndef JOBRT_TEST_REDIS_H
#define JOBRT_TEST_REDIS_H

#include <hiredis/hiredis.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char dir[64];
    char sock[128];
} test_redis_t;

/* Starts the server (name goes into the directory's name) and waits up to
 * 5 s for it to answer PING; a failure fails the test. Returns a
 * connection to it, which the caller frees. */
redisContext *test_redis_start(test_redis_t *r, const char *name);

/* A new connection to the server; a failure fails the test. */
redisContext *test_redis_connect(const test_redis_t *r);

/* Runs a command on c; an error reply or a lost connection fails the
 * test. The reply stays valid until the next call with the same last,
 * which frees it (tests keep one `static redisReply *last`). */
redisReply *test_redis_cmd(redisContext *c, redisReply **last,
                           const char *fmt, ...);
/* The same for a command given as argc strings. */
redisReply *test_redis_argv(redisContext *c, redisReply **last, int argc,
                            const char **argv);

/* Stops the server (unless pid is 0: a test that killed and reaped it
 * itself sets that) and removes its directory. */
void test_redis_stop(test_redis_t *r);

#endif
