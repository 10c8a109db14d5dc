/*
 * probe_opts.h - the --probe-timeout option of the commands that load
 * plugins (plugins, exec, and run), and turning the loader's probe on
 * with this very binary (plugin/probe.h): each new or changed plugin file
 * is first loaded, init() and fini() included, in a short-lived child
 * process, so a constructor or init() that crashes, exits or hangs is a
 * rejected file instead of a dead or wedged command.
 */
#ifndef JOBRT_CMD_PROBE_OPTS_H
#define JOBRT_CMD_PROBE_OPTS_H

#include <stdint.h>

#include "cli/options.h"
#include "plugin/loader.h"
#include "plugin/probe.h"

#define PROBE_CLI_HELP                                                       \
    "Before this process loads a plugin file, load it in a short-lived "     \
    "child process (`jobrt __probe`) that runs its ELF constructors, "       \
    "init() and fini() and must finish within DUR: a file whose "            \
    "constructor or init() crashes, calls exit() or hangs is rejected with " \
    "one line saying so, and the other plugins still load. init() and "      \
    "fini() therefore run twice, once in the probe and once for real. 0 "    \
    "turns the probe off (default 10s)."

/* The option row; target is an int64_t holding PROBE_DEFAULT_TIMEOUT_MS. */
#define PROBE_CLI_ROW(target)                                                \
    {"probe-timeout", 0, "JOBRT_PROBE_TIMEOUT", OPT_DURATION, &(target),     \
     "DUR", PROBE_CLI_HELP, 0, 3600000}

/* loader_set_probe() with this executable (probe_self_exe()) when
 * timeout_ms > 0. Returns 0, or 1 after one line on stderr naming the
 * command. */
int probe_cli_setup(const cli_cmd_t *cmd, loader_t *loader,
                    int64_t timeout_ms);

#endif
