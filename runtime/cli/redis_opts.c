/*
 * redis_opts.c - option checking and connecting for the Redis commands.
 */
#include "cli/redis_opts.h"

#include <stdio.h>

redisContext *redis_cli_connect(const cli_cmd_t *cmd, const redis_cli_opts_t *o,
                                queue_keys_t *keys, int *rc)
{
    char err[512];
    redis_target_t t;
    if (queue_keys_init(keys, o->ns, o->queue, err, sizeof err) != 0 ||
        redis_target_parse(o->url, &t, err, sizeof err) != 0) {
        *rc = cli_usage_error(cmd, "%s", err);
        return NULL;
    }
    redisContext *c = redis_connect_sync(&t, 5000, err, sizeof err);
    redis_target_free(&t);
    if (c == NULL) {
        fprintf(stderr, "jobrt %s: %s\n", cmd->name, err);
        *rc = 1;
    }
    return c;
}
