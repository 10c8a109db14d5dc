/*
 * cmd_status.c - `jobrt status ID`: prints the job's outcome record (JSON)
 * as the worker stored it, or says plainly that there is none.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "queue_keys.h"
#include "redis_conn.h"

int cmd_status(int argc, char **argv)
{
    const char *redis_url = DEFAULT_REDIS_URL, *ns = DEFAULT_NAMESPACE;
    const char *queue = DEFAULT_QUEUE;
    const cli_opt_t opts[] = {
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &queue, "NAME",
         "Queue the job was enqueued to (default " DEFAULT_QUEUE ").", 0, 0},
        {"redis", 'r', "JOBRT_REDIS", OPT_STRING, &redis_url, "URL",
         "Redis URL (default " DEFAULT_REDIS_URL ").", 0, 0},
        {"namespace", 0, "JOBRT_NAMESPACE", OPT_STRING, &ns, "NS",
         "Key prefix (default " DEFAULT_NAMESPACE ").", 0, 0},
    };
    const cli_cmd_t cmd = {
        "status", "jobrt status ID [--queue NAME]",
        "Prints the recorded outcome of job ID as JSON: status (succeeded, "
        "dead or cancelled),\nreason, result or error, attempts, plugin, timestamps. "
        "Records are kept for the worker's\n--result-ttl / --failure-ttl. "
        "Exit codes: 0 found, 1 no record or Redis error,\n2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos != 1)
        return cli_usage_error(&cmd, "expected a job ID");
    char err[512];
    queue_keys_t keys;
    if (queue_keys_init(&keys, ns, queue, err, sizeof err) != 0)
        return cli_usage_error(&cmd, "%s", err);
    redis_target_t t;
    if (redis_target_parse(redis_url, &t, err, sizeof err) != 0)
        return cli_usage_error(&cmd, "%s", err);
    redisContext *c = redis_connect_sync(&t, 5000, err, sizeof err);
    redis_target_free(&t);
    if (c == NULL) {
        fprintf(stderr, "jobrt status: %s\n", err);
        return 1;
    }
    redisReply *r = redisCommand(c, "GET %s%s", keys.job_prefix, pos[0]);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "jobrt status: GET failed: %s\n",
                r ? r->str : c->errstr);
        rc = 1;
    } else if (r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "jobrt status: no record of job %s in queue %s "
                "(still queued or running, never enqueued, or its record "
                "expired)\n", pos[0], queue);
        rc = 1;
    } else {
        printf("%.*s\n", (int)r->len, r->str);
        rc = 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}
