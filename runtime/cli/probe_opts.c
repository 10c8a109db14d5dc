/*
 * probe_opts.c - turning the plugin probe on for a command (see
 * probe_opts.h).
 */
#include "cli/probe_opts.h"

#include <limits.h>
#include <stdio.h>

int probe_cli_setup(const cli_cmd_t *cmd, loader_t *loader,
                    int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return 0;
    char exe[PATH_MAX], err[256];
    if (probe_self_exe(exe, sizeof exe, err, sizeof err) != 0) {
        fprintf(stderr, "jobrt %s: the plugin probe: %s (--probe-timeout 0 "
                "turns it off)\n", cmd->name, err);
        return 1;
    }
    if (loader_set_probe(loader, exe, timeout_ms) != 0) {
        fprintf(stderr, "jobrt %s: out of memory\n", cmd->name);
        return 1;
    }
    return 0;
}
