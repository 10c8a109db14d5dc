/*
 * redis_opts.h - what the short-lived Redis commands (status, cancel, dlq)
 * share: the --queue/--redis/--namespace options, and checking them and
 * connecting with one clear line on failure.
 */
#ifndef JOBRT_CMD_REDIS_H
#define JOBRT_CMD_REDIS_H

#include "cli/options.h"
#include "cli/commands.h"
#include "queue/keys.h"
#include "queue/redis_conn.h"

typedef struct {
    const char *queue, *url, *ns;
} redis_cli_opts_t;

#define REDIS_CLI_OPTS_INIT {DEFAULT_QUEUE, DEFAULT_REDIS_URL, DEFAULT_NAMESPACE}

/* The option rows for where Redis is and which keys to use, for a
 * cli_opt_t table (commands that name the queue otherwise, like enqueue,
 * use these alone and set o.queue themselves). */
#define REDIS_CLI_CONN_ROWS(o)                                               \
    {"redis", 'r', "JOBRT_REDIS", OPT_STRING, &(o).url, "URL",               \
     "Redis URL (default " DEFAULT_REDIS_URL ").", 0, 0},                    \
    {"namespace", 0, "JOBRT_NAMESPACE", OPT_STRING, &(o).ns, "NS",           \
     "Key prefix (default " DEFAULT_NAMESPACE ").", 0, 0}

/* The --queue row; queue_help is a literal. */
#define REDIS_CLI_QUEUE_ROW(o, queue_help)                                   \
    {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &(o).queue, "NAME",            \
     queue_help " (default " DEFAULT_QUEUE ").", 0, 0}

/* Both: the rows of status, cancel and dlq. */
#define REDIS_CLI_OPT_ROWS(o, queue_help)                                    \
    REDIS_CLI_QUEUE_ROW(o, queue_help), REDIS_CLI_CONN_ROWS(o)

/* Builds the queue's key names and connects. Returns the connection, or
 * NULL after printing one line, with *rc = 2 (bad queue, namespace or URL)
 * or 1 (Redis unreachable). */
redisContext *redis_cli_connect(const cli_cmd_t *cmd, const redis_cli_opts_t *o,
                                queue_keys_t *keys, int *rc);

#endif
