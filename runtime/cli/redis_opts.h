/*
 * redis_opts.h - what the commands that talk to Redis (run, enqueue,
 * status, cancel, dlq) share: the --queue/--redis/--namespace options and
 * where the password comes from (the URL, JOBRT_REDIS_PASSWORD or
 * --redis-password-file), checking them, and connecting with one clear
 * line on failure. The password is never printed.
 */
#ifndef JOBRT_CMD_REDIS_H
#define JOBRT_CMD_REDIS_H

#include "cli/commands.h"
#include "cli/options.h"
#include "queue/keys.h"
#include "queue/redis_conn.h"

typedef struct {
    const char *queue, *url, *ns;
    const char *password_file; /* --redis-password-file, or NULL */
    const char *sentinels, *master_name; /* --sentinel, --master-name */
    int cluster;                         /* --cluster */
} redis_cli_opts_t;

#define REDIS_CLI_OPTS_INIT                                                  \
    {DEFAULT_QUEUE, DEFAULT_REDIS_URL, DEFAULT_NAMESPACE, NULL, NULL, NULL, 0}

/* The environment variable that holds the password itself; it has no
 * command-line form, so the password never shows in argv or `ps`. */
#define REDIS_PASSWORD_ENV "JOBRT_REDIS_PASSWORD"
#define REDIS_PASSWORD_FILE_ENV "JOBRT_REDIS_PASSWORD_FILE"

#define REDIS_CLI_URL_HELP                                                   \
    "Where Redis is: redis://[[user]:password@]host[:port][/db] or "         \
    "unix://[[user]:password@]/path.sock[?db=N]; user and password "         \
    "percent-encoded, or the password from " REDIS_PASSWORD_ENV " or "       \
    "--redis-password-file (default " DEFAULT_REDIS_URL ")."

/* The option rows for where Redis is and how to log in (`run` has these
 * and its own --namespace row). */
#define REDIS_CLI_LOGIN_ROWS(o)                                              \
    {"redis", 'r', "JOBRT_REDIS", OPT_STRING, &(o).url, "URL",               \
     REDIS_CLI_URL_HELP, 0, 0},                                              \
    {"redis-password-file", 0, REDIS_PASSWORD_FILE_ENV, OPT_STRING,          \
     &(o).password_file, "FILE",                                             \
     "Log in to Redis with the password on the first line of FILE (so it "   \
     "is not in argv); the password may instead be in the environment as "   \
     REDIS_PASSWORD_ENV ". Never printed.", 0, 0},                          \
    {"sentinel", 0, "JOBRT_SENTINEL", OPT_STRING, &(o).sentinels,            \
     "HOST:PORT,...",                                                        \
     "Find the primary through these Redis Sentinels (with --master-name), " \
     "and follow a failover; --redis then gives only the login and db.",    \
     0, 0},                                                                  \
    {"master-name", 0, "JOBRT_MASTER_NAME", OPT_STRING, &(o).master_name,    \
     "NAME", "The name the Sentinels monitor the primary by.", 0, 0},       \
    {"cluster", 0, "JOBRT_CLUSTER", OPT_FLAG, &(o).cluster, NULL,            \
     "--redis is a node of a Redis Cluster: each queue's keys are on the "   \
     "primary serving its slot, found and followed through MOVED and "       \
     "failovers, with ASK and TRYAGAIN retried (db must be 0).", 0, 0}

/* The option rows for where Redis is, how to log in and which keys to
 * use, for a cli_opt_t table (commands that name the queue otherwise, like
 * enqueue, use these alone and set o.queue themselves). */
#define REDIS_CLI_CONN_ROWS(o)                                               \
    REDIS_CLI_LOGIN_ROWS(o),                                                 \
    {"namespace", 0, "JOBRT_NAMESPACE", OPT_STRING, &(o).ns, "NS",           \
     "Key prefix (default " DEFAULT_NAMESPACE ").", 0, 0}

/* The --queue row; queue_help is a literal. */
#define REDIS_CLI_QUEUE_ROW(o, queue_help)                                   \
    {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &(o).queue, "NAME",            \
     queue_help " (default " DEFAULT_QUEUE ").", 0, 0}

/* Both: the rows of status, cancel and dlq. */
#define REDIS_CLI_OPT_ROWS(o, queue_help)                                    \
    REDIS_CLI_QUEUE_ROW(o, queue_help), REDIS_CLI_CONN_ROWS(o)

/* Parses the URL and finds the password (JOBRT_REDIS_PASSWORD, the
 * password file). Returns 0, or 2 after printing one usage line (bad URL,
 * password given twice, unreadable or empty file); t needs
 * redis_target_free() only after 0. */
int redis_cli_target(const cli_cmd_t *cmd, const redis_cli_opts_t *o,
                     redis_target_t *t);

/* Builds the queue's key names and connects. Returns the connection, or
 * NULL after printing one line, with *rc = 2 (bad queue, namespace, URL
 * or password option) or 1 (Redis unreachable, or refused the login). */
redisContext *redis_cli_connect(const cli_cmd_t *cmd, const redis_cli_opts_t *o,
                                queue_keys_t *keys, int *rc);

#endif
