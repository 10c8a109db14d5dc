/*
 * cmd_status.c - `jobrt status ID`: prints the job's outcome record (JSON)
 * as the worker stored it, or says plainly that there is none.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/envelope.h"

int cmd_status(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const cli_opt_t opts[] = {
        REDIS_CLI_OPT_ROWS(ro, "Queue the job was enqueued to"),
    };
    const cli_cmd_t cmd = {
        "status", "jobrt status ID [--queue NAME]",
        "Prints the recorded outcome of job ID as JSON: status (succeeded, "
        "dead or cancelled),\nreason, result or error, attempts, plugin, "
        "timestamps. "
        "Records are kept for the worker's\n--result-ttl / --failure-ttl. "
        "Put -- before an ID that starts with '-'.\n"
        "Exit codes: 0 found, 1 no record or Redis error, 2 bad usage (e.g. "
        "an ID that\nis not 1-128 printable ASCII characters without "
        "spaces).",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos != 1)
        return cli_usage_error(&cmd, "expected one job ID");
    if (!envelope_valid_id(pos[0], strlen(pos[0])))
        return cli_usage_error(&cmd, "'%s' is not a job id (1-%d printable "
                               "ASCII characters, no spaces)", pos[0],
                               ENVELOPE_MAX_ID);
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;
    redisReply *r = redisCommand(c, "GET %s%s", keys.job_prefix, pos[0]);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "jobrt status: GET failed: %s\n",
                r ? r->str : c->errstr);
        rc = 1;
    } else if (r->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "jobrt status: no record of job %s in queue %s "
                "(still queued, delayed, parked or running; never enqueued; "
                "or its record expired; `jobrt rollout JOB` counts parked "
                "jobs)\n", pos[0], ro.queue);
        rc = 1;
    } else {
        printf("%.*s\n", (int)r->len, r->str);
        rc = 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}
