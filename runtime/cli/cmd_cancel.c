/*
 * cmd_cancel.c - `jobrt cancel ID...`: adds job ids to the queue's
 * cancelled set (NS:{QUEUE}:cancelled), each with its own score above
 * every score already there (queue_script_cancel, queue/scripts.c).
 * Workers poll the set about every 0.5 s in score order from the newest
 * score they have seen, a page at a time, so they get past any number of
 * ids cancelled at once: they skip a cancelled job that has not started
 * (dead-lettered as `cancelled`) and flag a running one
 * (job_cancel_requested()).
 *
 * Scores come from the Redis server's clock, taken inside the script that
 * adds the ids, and never go below the highest one in the set: a client
 * clock behind the one of an earlier `jobrt cancel` would give a score
 * below what workers have already seen, and they would never pick the
 * cancellation up. Entries older than 7 days are dropped here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/envelope.h"
#include "core/idset.h"
#include "queue/keys.h"
#include "queue/scripts.h"

#define CANCEL_KEEP_MS "604800000" /* 7 days */

/* Workers remember only the newest QUEUE_CANCELS_REMEMBERED: say so when
 * the set holds more (cancellations live 7 days). */
static void warn_if_too_many(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "ZCARD %s", key);
    if (r && r->type == REDIS_REPLY_INTEGER &&
        r->integer > QUEUE_CANCELS_REMEMBERED)
        fprintf(stderr, "jobrt cancel: warning: %s holds %lld cancellations; "
                "workers remember the newest %d, so a job whose "
                "cancellation is older than those may still run\n", key,
                r->integer, QUEUE_CANCELS_REMEMBERED);
    freeReplyObject(r);
}

int cmd_cancel(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const cli_opt_t opts[] = {
        REDIS_CLI_OPT_ROWS(ro, "Queue the jobs were enqueued to"),
    };
    const cli_cmd_t cmd = {
        "cancel", "jobrt cancel ID [ID...] [--queue NAME]",
        "Requests cancellation of the jobs with these job ids in one queue. "
        "Workers of\nthe queue pick the request up within about 0.5 s: a job "
        "that has not started\n(waiting, delayed or retrying) is skipped and "
        "dead-lettered as 'cancelled' (a\ndelayed one when it comes due);\n"
        "a running job's handler sees "
        "job_cancel_requested() return true, and what it\nthen does is its "
        "own choice (stop early and fail or retry, or finish); a retry\nit "
        "asks for is skipped and dead-lettered as 'cancelled'. A job already "
        "finished\nis not affected. Requests are kept 7 days, so a job "
        "enqueued later with the\nsame id within that time is skipped too, "
        "as is one re-driven with\n`jobrt dlq retry`. Workers remember the "
        "newest 65 536 cancellations: it warns\nwhen the queue holds more. "
        "Ids are not checked "
        "against the queue: an id no job has is\naccepted and does nothing. "
        "Put -- before ids that start with '-'.\n\n"
        "Exit codes: 0 requested, 1 Redis error, 2 bad usage (e.g. an id "
        "that is not\n1-128 printable ASCII characters without spaces).",
        opts, (int)(sizeof opts / sizeof opts[0])};

    char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
    if (pos == NULL) {
        fprintf(stderr, "jobrt cancel: out of memory\n");
        return 1;
    }
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, argc, &n_pos);
    if (rc) {
        free(pos);
        return rc == 1 ? 0 : rc;
    }
    if (n_pos == 0) {
        free(pos);
        return cli_usage_error(&cmd, "expected at least one job ID");
    }
    /* Distinct ids, each a valid job id (docs/protocol.md). */
    int n_ids = 0;
    idset_t *seen = idset_create((size_t)n_pos);
    if (seen == NULL) {
        fprintf(stderr, "jobrt cancel: out of memory\n");
        free(pos);
        return 1;
    }
    for (int i = 0; i < n_pos; i++) {
        if (!envelope_valid_id(pos[i], strlen(pos[i]))) {
            rc = cli_usage_error(&cmd, "'%s' is not a job id (1-128 "
                                 "printable ASCII characters, no spaces)",
                                 pos[i]);
            idset_destroy(seen);
            free(pos);
            return rc;
        }
        int added = idset_add(seen, pos[i]);
        if (added < 0) {
            fprintf(stderr, "jobrt cancel: out of memory\n");
            idset_destroy(seen);
            free(pos);
            return 1;
        }
        if (added == 1)
            pos[n_ids++] = pos[i];
    }
    idset_destroy(seen);

    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL) {
        free(pos);
        return rc;
    }
    const char **av = calloc((size_t)n_ids + 5, sizeof *av);
    if (av == NULL) {
        fprintf(stderr, "jobrt cancel: out of memory\n");
        redisFree(c);
        free(pos);
        return 1;
    }
    int ac = 0;
    av[ac++] = "EVAL";
    av[ac++] = queue_script_cancel;
    av[ac++] = "1";
    av[ac++] = keys.cancelled;
    av[ac++] = CANCEL_KEEP_MS;
    for (int i = 0; i < n_ids; i++)
        av[ac++] = pos[i];
    redisReply *r = redisCommandArgv(c, ac, av, NULL);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "jobrt cancel: adding to %s failed: %s\n",
                keys.cancelled, r ? r->str : c->errstr);
        rc = 1;
    } else {
        printf("cancel requested for %d job(s): workers skip them if not "
               "started (dead-lettered as cancelled) and signal them if "
               "running (handlers see job_cancel_requested); a job already "
               "finished is not affected\n", n_ids);
        rc = 0;
        warn_if_too_many(c, keys.cancelled);
    }
    freeReplyObject(r);
    free(av);
    redisFree(c);
    free(pos);
    return rc;
}
