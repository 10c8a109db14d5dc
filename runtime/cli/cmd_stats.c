/*
 * cmd_stats.c - `jobrt stats [QUEUE | -q QUEUE] [--json]`: per queue (one,
 * or every queue of the namespace's index), how many jobs
 * wait, are delayed, parked, running or dead-lettered, how old the oldest
 * waiting one is, how many workers are live, and how fast they settle
 * jobs (the sum of their heartbeat records' rates), read once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "cli/stats_view.h"

#define STATS_JSON_HELP                                                      \
    "Print one JSON document instead: {\"server_time_ms\", \"truncated\", " \
    "\"queues\": [{\"queue\", \"waiting\" (null: Redis cannot tell), "      \
    "\"delayed\", \"parked\", \"running\", \"pending\", \"dlq\", "          \
    "\"length\", \"oldest_waiting_ms\" (null: nothing waits), "             \
    "\"live_workers\", \"last_heartbeat_ms\" (null: read by name), "         \
    "\"rate\", \"done\", \"retried\", \"dead\", "         \
    "\"workers_without_counters\", \"parked_pairs\": [{\"job\", "           \
    "\"version\", \"count\"}]}]} (docs/inspecting.md)."

int cmd_stats(int argc, char **argv)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *group = "jobrt";
    const char *queue_opt = NULL;
    int json = 0;
    const cli_opt_t opts[] = {
        {"queue", 'q', "JOBRT_QUEUE", OPT_STRING, &queue_opt, "NAME",
         "Only this queue, as the positional QUEUE (default: every queue of "
         "the namespace).", 0, 0},
        {"group", 0, "JOBRT_GROUP", OPT_STRING, &group, "NAME",
         "The fleet's consumer group (default jobrt).", 0, 0},
        REDIS_CLI_CONN_ROWS(ro),
        {"json", 0, NULL, OPT_FLAG, &json, NULL, STATS_JSON_HELP, 0, 0},
    };
    const cli_cmd_t cmd = {
        "stats", "jobrt stats [QUEUE | --queue NAME] [--group NAME] [--json]",
        "Shows one row per queue: WAITING (in the stream, not yet delivered; "
        "'?' when\nRedis cannot tell), DELAYED (retry backoff, --delay, "
        "--at), PARKED (no worker\nthat took them serves their version), "
        "RUNNING (delivered to a worker, not yet\nacknowledged), DLQ (dead "
        "letters), OLDEST (age of the oldest waiting job, by\nthe Redis "
        "server's clock), WORKERS (live in the registry), RATE/S (jobs "
        "settled\nper second over about the last 10 s, summed over the live "
        "workers), and DONE,\nRETRIED, DEAD (summed over the live workers, "
        "each since it started). Then\none line per parked (job, version), the "
        "64 largest, and one per queue with no\nlive worker. Each queue is "
        "read in one round trip. Without QUEUE, every queue\nof the index "
        "NS:queues (each queue a worker served), also those whose workers\n"
        "all stopped or died.\n"
        "Exit codes: 0, 1 Redis error, 2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos && queue_opt && strcmp(pos[0], queue_opt) != 0)
        return cli_usage_error(&cmd, "queue '%s' and --queue '%s' differ: "
                               "give one", pos[0], queue_opt);
    const char *queue = n_pos ? pos[0] : queue_opt;
    ro.queue = queue ? queue : DEFAULT_QUEUE;
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(&cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;
    stats_view_t v;
    char err[512];
    if (stats_view_read(c, &ro, queue, group, "stats", &v, err,
                        sizeof err) != 0) {
        fprintf(stderr, "jobrt stats: %s\n", err);
        redisFree(c);
        return 1;
    }
    redisFree(c);
    if (v.truncated)
        fprintf(stderr, "jobrt stats: note: the index %s names more than %d "
                "queues; only the %d most recently heard from are shown\n",
                keys.queues, STATS_MAX_QUEUES, STATS_MAX_QUEUES);
    if (json) {
        cJSON *doc = stats_view_json(&v);
        char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
        if (s)
            printf("%s\n", s);
        else
            rc = 1;
        free(s);
        cJSON_Delete(doc);
    } else if (v.n == 0) {
        printf("no queues in namespace %s (no worker has served one)\n",
               ro.ns);
    } else {
        buf_t b = {0};
        stats_view_table(&b, &v);
        if (b.len)
            fwrite(b.data, 1, b.len, stdout);
        buf_free(&b);
    }
    stats_view_free(&v);
    return rc;
}
