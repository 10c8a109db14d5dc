/*
 * main.c - `jobrt <command>`: picks the subcommand. With no command, or
 * when the first argument is an option, runs the worker (`jobrt run`).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "jobrt/plugin.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: jobrt [command] [options]\n\n"
            "A worker runtime for background jobs: handlers are .so plugins, "
            "jobs come\nfrom Redis Streams and are routed by job name and "
            "payload schema version.\n\n"
            "Commands:\n"
            "  run        run the worker (the default command)\n"
            "  enqueue    add jobs to a queue (one, or NDJSON from stdin)\n"
            "  exec       run one job through a plugin locally, no Redis\n"
            "  plugins    validate and list the plugins in a directory\n"
            "  status     where a job is: queued, delayed, parked, running, "
            "finished\n"
            "  dlq        list, show, retry or purge dead letters\n"
            "  cancel     request cancellation of jobs by id\n"
            "  pause      stop the whole fleet taking jobs from a queue\n"
            "  resume     let the fleet take jobs from a paused queue again\n"
            "  disable    kill switch: the fleet parks a job type's jobs\n"
            "  enable     run a disabled job type again\n"
            "  limit      fleet-wide rate and concurrency limits per job\n"
            "  schedule   recurring jobs: add, list, remove, pause, resume\n"
            "  events     job lifecycle events of a queue: on, off, status, "
            "tail\n"
            "  workers    list the live workers and what each serves\n"
            "  rollout    per schema version of a job: who serves it, jobs "
            "waiting\n"
            "  reload     make every live worker reload its plugins, print "
            "outcomes\n"
            "  stats      per queue: waiting, delayed, parked, running, DLQ, "
            "rates\n"
            "  top        a live view of the queues and workers, refreshed "
            "each second\n"
            "  version    print the runtime, SDK, ABI and wire format versions\n"
            "  help       print this, or 'jobrt help COMMAND': a command's "
            "help\n\n"
            "'jobrt COMMAND --help' describes each command. Every option can "
            "also be set\nwith a JOBRT_* environment variable (named in the "
            "help); the command line wins.\n");
}

static int print_version(void)
{
    printf("jobrt %s\n"
           "plugin SDK %s (builds plugins for ABI %d.%d)\n"
           "loads plugins built for ABI %d.%d to %d.%d\n"
           "wire format %d\n",
           JOBRT_VERSION, JOBRT_SDK_VERSION, JOBRT_ABI_MAJOR, JOBRT_ABI_MINOR,
           JOBRT_ABI_MAJOR, JOBRT_ABI_MINOR_OLDEST, JOBRT_ABI_MAJOR,
           JOBRT_ABI_MINOR, JOBRT_WIRE_VERSION);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    const cli_cmd_t cmd = {
        "version", "jobrt version",
        "Prints the runtime's version, the version of the plugin SDK it "
        "ships\n(include/jobrt/plugin.h, whose major.minor is the plugin "
        "ABI), the ABI range it\nloads (a plugin built against the same "
        "major and a minor up to this one\nloads), and the wire format "
        "version it reads (docs/protocol.md). The versions\nare semantic "
        "(CHANGELOG.md).\nExit codes: 0, 2 bad usage.",
        NULL, 0};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 0, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    return print_version();
}

static int cmd_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},         {"enqueue", cmd_enqueue},
    {"exec", cmd_exec},       {"plugins", cmd_plugins},
    {"status", cmd_status},   {"dlq", cmd_dlq},
    {"cancel", cmd_cancel},   {"workers", cmd_workers},
    {"rollout", cmd_rollout}, {"reload", cmd_reload},
    {"stats", cmd_stats},     {"top", cmd_top},
    {"pause", cmd_pause},     {"resume", cmd_resume},
    {"disable", cmd_disable}, {"enable", cmd_enable},
    {"limit", cmd_limit},     {"schedule", cmd_schedule},
    {"events", cmd_events},
    {"version", cmd_version}, {"help", cmd_help},
    /* hidden: what the plugin probe runs in its child (plugin/probe.h) */
    {"__probe", cmd_probe},
};

/* `jobrt help [COMMAND]`: the top-level help, or COMMAND's (as
 * `jobrt COMMAND --help` prints it). */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (argc > 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc == 2) {
            printf("Usage: jobrt help [COMMAND]\n\nPrints the help of "
                   "COMMAND, or the list of commands.\n");
            return 0;
        }
        fprintf(stderr, "jobrt help: expected one command, got %d "
                "arguments (see 'jobrt help --help')\n", argc - 1);
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            char *help_argv[] = {argv[1], "--help", NULL};
            return commands[i].run(2, help_argv);
        }
    fprintf(stderr, "jobrt help: unknown command '%s' (see 'jobrt --help')\n",
            argv[1]);
    return 2;
}

int main(int argc, char **argv)
{
    /* A write to a Redis socket the server closed is an error the command
     * reports (and the worker reconnects after), not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 &&
            (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "--version") == 0)
            return cmd_version(argc - 1, argv + 1); /* = `jobrt version` */
        return cmd_run(argc, argv);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "jobrt: unknown command '%s' (see 'jobrt --help')\n",
            argv[1]);
    return 2;
}
