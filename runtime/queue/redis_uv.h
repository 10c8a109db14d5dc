/*
 * redis_uv.h - attaches a hiredis async context to a libuv loop.
 *
 * jobrt carries its own adapter instead of <hiredis/adapters/libuv.h>:
 * the one in Debian's hiredis 0.14 drops poll errors (a refused or reset
 * TCP connection), so hiredis never learns the connection failed and the
 * worker would wait on it forever. Here an error wakes hiredis up on the
 * events it asked for, and it reports the failure through its callbacks.
 */
#ifndef JOBRT_REDIS_UV_H
#define JOBRT_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Returns REDIS_OK or REDIS_ERR. The adapter frees itself when hiredis
 * cleans the context up. */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
