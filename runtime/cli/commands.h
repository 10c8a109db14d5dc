/*
 * commands.h - one entry point per `jobrt` subcommand. Each returns the
 * process exit code: 0 success, 2 bad usage, others as its --help says.
 */
#ifndef JOBRT_COMMANDS_H
#define JOBRT_COMMANDS_H

#include "core/version.h" /* JOBRT_VERSION */

/* Defaults shared by the commands that talk to Redis. */
#define DEFAULT_REDIS_URL "redis://127.0.0.1:6379"
#define DEFAULT_NAMESPACE "jobrt"
#define DEFAULT_QUEUE "default"

int cmd_run(int argc, char **argv);
int cmd_enqueue(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_plugins(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_dlq(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_workers(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_limit(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_events(int argc, char **argv);
/* Hidden (not in `jobrt --help`): the probe's child (plugin/probe.h). */
int cmd_probe(int argc, char **argv);

#endif
