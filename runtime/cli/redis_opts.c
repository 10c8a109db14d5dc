/*
 * redis_opts.c - option checking and connecting for the Redis commands.
 */
#include "cli/redis_opts.h"

#include "queue/sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int redis_cli_target(const cli_cmd_t *cmd, const redis_cli_opts_t *o,
                     redis_target_t *t)
{
    char err[1024];
    /* cli_parse stores the environment's own string when the value came
     * from there, so the error line can name the place it was given. */
    const char *file_env = getenv(REDIS_PASSWORD_FILE_ENV);
    redis_target_spec_t spec = {
        .url = o->url,
        .password = getenv(REDIS_PASSWORD_ENV),
        .password_from = "environment " REDIS_PASSWORD_ENV,
        .password_file = o->password_file,
        .password_file_from = o->password_file && o->password_file == file_env
                                  ? "environment " REDIS_PASSWORD_FILE_ENV
                                  : "--redis-password-file",
    };
    if (redis_target_resolve(&spec, t, err, sizeof err) != 0)
        return cli_usage_error(cmd, "%s", err);
    if (o->cluster) {
        const char *why = o->sentinels ? "--sentinel (a Cluster has no "
                                         "Sentinels; give one of its nodes)"
                          : t->path  ? "a unix:// URL (give a node's "
                                       "redis://host:port)"
                          : t->db    ? "a db other than 0 (a Cluster has "
                                       "db 0 only)"
                                     : NULL;
        if (why) {
            redis_target_free(t);
            return cli_usage_error(cmd, "--cluster does not go with %s",
                                   why);
        }
        t->cluster = 1;
        size_t n = strlen(t->display);
        snprintf(t->display + n, sizeof t->display - n, " (cluster)");
    }
    if ((o->sentinels != NULL) != (o->master_name != NULL)) {
        redis_target_free(t);
        return cli_usage_error(cmd, "--sentinel and --master-name go "
                               "together");
    }
    if (o->sentinels) {
        if (t->path) {
            redis_target_free(t);
            return cli_usage_error(cmd, "--sentinel: the --redis URL must "
                                   "be redis:// (it gives the login and db)");
        }
        if (sentinel_set(t, o->sentinels, o->master_name, err,
                         sizeof err) != 0) {
            redis_target_free(t);
            return cli_usage_error(cmd, "%s", err);
        }
    }
    /* t holds its own copies now. Take secrets out of the environment,
     * so that nothing this process starts (a plugin's child) inherits
     * them. The strings stay valid: unsetenv does not free them. */
    unsetenv(REDIS_PASSWORD_ENV);
    const char *url_env = getenv("JOBRT_REDIS");
    if (url_env && strchr(url_env, '@'))
        unsetenv("JOBRT_REDIS");
    return 0;
}

redisContext *redis_cli_connect(const cli_cmd_t *cmd, const redis_cli_opts_t *o,
                                queue_keys_t *keys, int *rc)
{
    char err[512];
    redis_target_t t;
    if (queue_keys_init(keys, o->ns, o->queue, err, sizeof err) != 0) {
        *rc = cli_usage_error(cmd, "%s", err);
        return NULL;
    }
    if ((*rc = redis_cli_target(cmd, o, &t)) != 0)
        return NULL;
    redisContext *c = redis_connect_sync(&t, 5000, err, sizeof err);
    redis_target_free(&t);
    if (c == NULL) {
        fprintf(stderr, "jobrt %s: %s\n", cmd->name, err);
        *rc = 1;
    }
    return c;
}
