/*
 * cmd_pause.c - `jobrt pause QUEUE` and `jobrt resume QUEUE`: set or
 * remove the queue's :paused key (JSON {"at","by","reason"}). Every worker
 * of the queue reads it every 250 ms and takes no new job while it is set
 * (queue/pause.c); jobs already running finish, producers still enqueue,
 * and the key outlives worker restarts until `jobrt resume` removes it.
 * And the kill switch, `jobrt disable JOB` / `jobrt enable JOB`: a field
 * of the queue's :disabled hash, read by the same poll; the workers park
 * the job's entries instead of running them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/redis_opts.h"
#include "core/envelope.h"
#include "core/util.h"
#include "queue/keys.h"
#include "queue/pause_ctl.h"

/* "user@host" of whoever runs this, for the record. */
static void who(char *out, size_t len)
{
    const char *user = getenv("USER");
    if (user == NULL || user[0] == '\0')
        user = getenv("LOGNAME");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    snprintf(out, len, "%s@%s", user && user[0] ? user : "?",
             host[0] ? host : "?");
}

/* Prints how a stored pause reads: "since <time> by <who>: <reason>". */
static void print_pause(const char *json, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "at"),
                *by = cJSON_GetObjectItemCaseSensitive(o, "by"),
                *why = cJSON_GetObjectItemCaseSensitive(o, "reason");
    char when[64] = "an unknown time";
    if (cJSON_IsNumber(at)) {
        time_t t = (time_t)(at->valuedouble / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    printf("since %s by %s", when,
           cJSON_IsString(by) ? by->valuestring : "?");
    if (cJSON_IsString(why) && why->valuestring[0])
        printf(": %s", why->valuestring);
    cJSON_Delete(o);
}

/* Parses the command line of a command that takes one WHAT (QUEUE, JOB)
 * and maybe --reason. Returns 1 with *arg set, or 0 with *exit_code what
 * the command exits with (0 after --help, 2 after a usage line). */
static int parse_one(const cli_cmd_t *cmd, int argc, char **argv,
                     const char *what, const char *reason, const char **arg,
                     int *exit_code)
{
    char *pos[2];
    int n_pos, rc = cli_parse(cmd, argc, argv, pos, 2, &n_pos);
    if (rc)
        *exit_code = rc == 1 ? 0 : rc;
    else if (n_pos == 0)
        *exit_code = cli_usage_error(cmd, "expected the %s to %s", what,
                                     cmd->name);
    else if (n_pos > 1)
        *exit_code = cli_usage_error(cmd, "unexpected argument '%s' (one %s "
                                     "at a time)", pos[1], what);
    else if (!pause_reason_ok(reason))
        *exit_code = cli_usage_error(cmd, "--reason must be at most %d "
                                     "printable ASCII characters",
                                     PAUSE_REASON_MAX);
    else {
        *arg = pos[0];
        return 1;
    }
    return 0;
}

static int pause_or_resume(int argc, char **argv, int pause)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *reason = "";
    const cli_opt_t pause_opts[] = {
        {"reason", 0, NULL, OPT_STRING, &reason, "TEXT",
         "Why, kept with the pause and shown by `jobrt stats` and in the "
         "workers' logs (at most 200 printable ASCII characters).", 0, 0},
        REDIS_CLI_CONN_ROWS(ro),
    };
    const cli_opt_t resume_opts[] = {REDIS_CLI_CONN_ROWS(ro)};
    const cli_cmd_t pause_cmd = {
        "pause", "jobrt pause QUEUE [--reason TEXT] [options]",
        "Pauses a queue for the whole fleet: every worker of the queue "
        "stops taking new\njobs from it within about 0.25 s (it reads the "
        "queue's :paused key that often).\nJobs already running finish and "
        "are acknowledged as usual; producers can still\nenqueue, and due "
        "delayed jobs still move into the queue, so nothing is lost;\n"
        "parked jobs are not taken and a dead worker's jobs are not "
        "reclaimed until\n`jobrt resume`. The pause is kept in Redis: "
        "workers started or restarted\nmeanwhile stay paused. `jobrt stats` "
        "shows it. Pausing a paused queue keeps\nthe first pause and says "
        "so.\n\n"
        "Exit codes: 0 paused (or already paused), 1 Redis error, 2 bad "
        "usage.",
        pause_opts, (int)(sizeof pause_opts / sizeof pause_opts[0])};
    const cli_cmd_t resume_cmd = {
        "resume", "jobrt resume QUEUE [options]",
        "Resumes a queue paused with `jobrt pause`: every worker of the "
        "queue takes jobs\nfrom it again within about 0.25 s. Resuming a "
        "queue that is not paused changes\nnothing and says so.\n\n"
        "Exit codes: 0 resumed (or was not paused), 1 Redis error, 2 bad "
        "usage.",
        resume_opts, (int)(sizeof resume_opts / sizeof resume_opts[0])};
    const cli_cmd_t *cmd = pause ? &pause_cmd : &resume_cmd;

    int rc;
    if (!parse_one(cmd, argc, argv, "QUEUE", reason, &ro.queue, &rc))
        return rc;
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;

    char prev[512], err[600], by[320];
    int rc2;
    if (pause) {
        who(by, sizeof by);
        rc2 = pause_ctl_set(c, &keys, by, reason, prev, sizeof prev, err,
                            sizeof err);
    } else {
        rc2 = pause_ctl_clear(c, &keys, prev, sizeof prev, err, sizeof err);
    }
    redisFree(c);
    if (rc2 < 0) {
        fprintf(stderr, "jobrt %s: %s\n", cmd->name, err);
        return 1;
    }
    int was_paused = pause ? rc2 == 0 : rc2 == 1;
    if (pause && was_paused) {
        printf("queue %s was already paused ", ro.queue);
        print_pause(prev, strlen(prev));
        printf("; that pause stays\n");
    } else if (pause) {
        printf("queue %s paused: its workers take no new jobs from it "
               "within about 0.25 s;\nrunning jobs finish, producers can "
               "still enqueue; `jobrt resume %s` undoes it\n", ro.queue,
               ro.queue);
    } else if (was_paused) {
        printf("queue %s resumed (it was paused ", ro.queue);
        print_pause(prev, strlen(prev));
        printf("): its workers take jobs again within about 0.25 s\n");
    } else {
        printf("queue %s was not paused; nothing changed\n", ro.queue);
    }
    return 0;
}

int cmd_pause(int argc, char **argv)
{
    return pause_or_resume(argc, argv, 1);
}

int cmd_resume(int argc, char **argv)
{
    return pause_or_resume(argc, argv, 0);
}

/* ---- disable and enable ------------------------------------------------- */

static int disable_or_enable(int argc, char **argv, int disable)
{
    redis_cli_opts_t ro = REDIS_CLI_OPTS_INIT;
    const char *reason = "";
    const cli_opt_t disable_opts[] = {
        {"reason", 0, NULL, OPT_STRING, &reason, "TEXT",
         "Why, kept with the switch and shown by `jobrt stats` and in the "
         "workers' logs (at most 200 printable ASCII characters).", 0, 0},
        REDIS_CLI_OPT_ROWS(ro, "The queue whose workers park the job"),
    };
    const cli_opt_t enable_opts[] = {
        REDIS_CLI_OPT_ROWS(ro, "The queue whose workers run the job again"),
    };
    const cli_cmd_t disable_cmd = {
        "disable", "jobrt disable JOB [--queue Q] [--reason TEXT] [options]",
        "The kill switch of one job type on one queue, for the whole fleet: "
        "within about\n0.25 s every worker of the queue parks the jobs of "
        "JOB (every schema version)\ninstead of running them. Jobs of JOB "
        "already running finish. Parked jobs stay in\nthe stream, pending "
        "to a parked:JOB:vN pseudo-consumer (`jobrt stats` counts\nthem), "
        "and never expire while the job is disabled, whatever --park-ttl "
        "says;\nproducers can still enqueue. `jobrt enable JOB` lets the "
        "workers take them\nagain. Kept in Redis (the queue's :disabled "
        "hash, at most 1024 jobs), so\nworkers started meanwhile park them "
        "too. Disabling a disabled job keeps the\nfirst record and says "
        "so.\n\n"
        "Exit codes: 0 disabled (or already), 1 Redis error or the queue "
        "holds 1024\ndisabled jobs, 2 bad usage.",
        disable_opts, (int)(sizeof disable_opts / sizeof disable_opts[0])};
    const cli_cmd_t enable_cmd = {
        "enable", "jobrt enable JOB [--queue Q] [options]",
        "Ends `jobrt disable JOB` on the queue: within about 0.25 s the "
        "workers run new\njobs of JOB again and take the ones parked while "
        "it was disabled. Enabling a\njob that is not disabled changes "
        "nothing and says so.\n\n"
        "Exit codes: 0 enabled (or was not disabled), 1 Redis error, 2 bad "
        "usage.",
        enable_opts, (int)(sizeof enable_opts / sizeof enable_opts[0])};
    const cli_cmd_t *cmd = disable ? &disable_cmd : &enable_cmd;

    const char *job;
    int rc;
    if (!parse_one(cmd, argc, argv, "JOB", reason, &job, &rc))
        return rc;
    if (!envelope_valid_name(job, strlen(job)))
        return cli_usage_error(cmd, "'%s' is not a job name (1-128 "
                               "characters of [A-Za-z0-9_.:/-])", job);
    queue_keys_t keys;
    redisContext *c = redis_cli_connect(cmd, &ro, &keys, &rc);
    if (c == NULL)
        return rc;
    char prev[512], err[600], by[320];
    if (disable) {
        who(by, sizeof by);
        rc = pause_ctl_disable(c, &keys, job, by, reason, prev, sizeof prev,
                               err, sizeof err);
    } else {
        rc = pause_ctl_enable(c, &keys, job, prev, sizeof prev, err,
                              sizeof err);
    }
    redisFree(c);
    if (rc < 0) {
        fprintf(stderr, "jobrt %s: %s\n", cmd->name, err);
        return 1;
    }
    if (disable && rc == 0) {
        printf("job %s was already disabled on queue %s ", job, ro.queue);
        print_pause(prev, strlen(prev));
        printf("; that stays\n");
    } else if (disable) {
        printf("job %s disabled on queue %s: its workers park its jobs "
               "instead of running them\nwithin about 0.25 s; `jobrt "
               "enable %s -q %s` undoes it\n", job, ro.queue, job,
               ro.queue);
    } else if (rc == 1) {
        printf("job %s enabled on queue %s (it was disabled ", job,
               ro.queue);
        print_pause(prev, strlen(prev));
        printf("): its workers run it again and take its parked jobs\n");
    } else {
        printf("job %s was not disabled on queue %s; nothing changed\n", job,
               ro.queue);
    }
    return 0;
}

int cmd_disable(int argc, char **argv)
{
    return disable_or_enable(argc, argv, 1);
}

int cmd_enable(int argc, char **argv)
{
    return disable_or_enable(argc, argv, 0);
}
