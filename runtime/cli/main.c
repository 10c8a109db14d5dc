/*
 * main.c - `jobrt <command>`: picks the subcommand. With no command, or
 * when the first argument is an option, runs the worker (`jobrt run`).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
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
            "  status     show the recorded outcome of a job\n"
            "  dlq        list, show, retry or purge dead letters\n"
            "  cancel     request cancellation of jobs by id\n"
            "  version    print the runtime and plugin ABI versions\n\n"
            "'jobrt COMMAND --help' describes each command. Every option can "
            "also be set\nwith a JOBRT_* environment variable (named in the "
            "help); the command line wins.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 &&
            (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
            printf("jobrt %s (plugin ABI %d.%d)\n", JOBRT_VERSION,
                   JOBRT_ABI_MAJOR, JOBRT_ABI_MINOR);
            return 0;
        }
        return cmd_run(argc, argv);
    }
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(cmd, "enqueue") == 0)
        return cmd_enqueue(argc, argv);
    if (strcmp(cmd, "exec") == 0)
        return cmd_exec(argc, argv);
    if (strcmp(cmd, "plugins") == 0)
        return cmd_plugins(argc, argv);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc, argv);
    if (strcmp(cmd, "dlq") == 0)
        return cmd_dlq(argc, argv);
    if (strcmp(cmd, "cancel") == 0)
        return cmd_cancel(argc, argv);
    if (strcmp(cmd, "version") == 0) {
        if (argc > 1 && strcmp(argv[1], "--help") != 0) {
            fprintf(stderr, "jobrt version: takes no arguments\n");
            return 2;
        }
        printf("jobrt %s (plugin ABI %d.%d)\n", JOBRT_VERSION, JOBRT_ABI_MAJOR,
               JOBRT_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "jobrt: unknown command '%s' (see 'jobrt --help')\n", cmd);
    return 2;
}
