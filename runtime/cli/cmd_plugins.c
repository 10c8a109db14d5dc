/*
 * cmd_plugins.c - `jobrt plugins` validates every *.so in a directory the
 * way the worker would (including init) and lists what each serves and the
 * SHA-256 of the build, or why it was rejected. Its --help says which
 * plugin code runs when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/probe_opts.h"
#include "core/log.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "plugin/router.h"

static void print_plugin(void *arg, const char *path,
                         const struct jobrt_plugin *p, const char *why)
{
    (void)arg;
    if (p == NULL) {
        printf("REJECTED %s: %s\n", path, why);
        return;
    }
    printf("ok       %s: plugin %s %s (ABI %u.%u, build %s, sha256 %.12s):",
           path, p->name, p->version, p->abi_major, p->abi_minor,
           *p->build_id ? p->build_id : "-", p->sha256);
    for (uint32_t i = 0; i < p->n_handlers; i++) {
        const plugin_handler_t *h = &p->handlers[i];
        if (h->schema_min == h->schema_max)
            printf("%s %s v%u", i ? "," : "", h->job_name, h->schema_min);
        else
            printf("%s %s v%u..%u", i ? "," : "", h->job_name, h->schema_min,
                   h->schema_max);
    }
    if (p->pin_reason[0])
        printf(" (needs restart to reload: %s)", p->pin_reason);
    printf("\n");
}

int cmd_plugins(int argc, char **argv)
{
    const char *dir = NULL;
    int insecure = 0;
    int64_t probe_ms = PROBE_DEFAULT_TIMEOUT_MS;
    const cli_opt_t opts[] = {
        {"plugin-dir", 'p', "JOBRT_PLUGIN_DIR", OPT_STRING, &dir, "DIR",
         "Directory to check (required).", 0, 0},
        PROBE_CLI_ROW(probe_ms),
        {"insecure-plugin-dir", 0, "JOBRT_INSECURE_PLUGIN_DIR", OPT_FLAG,
         &insecure, NULL,
         "Development only: accept plugin files and directories that are "
         "writable by group or others or owned by another user, with a "
         "WARN line each (refused by default).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "plugins", "jobrt plugins [--plugin-dir] DIR",
        "Loads every *.so in DIR exactly as the worker would and prints one "
        "line per file:\nwhat it serves and the SHA-256 of the file, or why "
        "it was rejected.\n\n"
        "Checked before any plugin code runs (a file failing these never "
        "runs):\n"
        "  owner and mode of DIR, of each parent and of the file (root or "
        "this user,\n  not writable by group or others), symlinks staying "
        "inside DIR; the ELF\n  structure against the file's length, class "
        "and machine; the descriptor's\n  magic, ABI version and sizes, "
        "read from the file.\n"
        "Then, unless --probe-timeout is 0, the file is loaded in a "
        "short-lived child\nprocess (the probe): its constructors, init() "
        "and fini() run there first, and\none that crashes, calls exit() or "
        "does not finish in time is REJECTED with\nwhat happened (the "
        "signal, the exit status, or the time limit).\n"
        "Then plugin code runs in this process, in this order:\n"
        "  1. dlopen(): the plugin's IFUNC resolvers and ELF constructors "
        "(and those\n     of the libraries it needs) run; then the runtime checks the "
        "descriptor's names, handler\n     table and conflicts with plugins "
        "already loaded;\n"
        "  2. init(), if the plugin has one; if it fails, fini() is not "
        "called;\n"
        "  3. handlers: only `jobrt run` and `jobrt exec` call them, never "
        "this command;\n"
        "  4. fini(), then dlclose() runs the ELF destructors, at exit (at "
        "once for a\n     plugin rejected after dlopen, without fini()).\n\n"
        "Exit codes: 0 all loaded, 1 some file rejected or DIR unreadable "
        "or not trusted,\n2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos == 1) {
        /* DIR as an argument; from the environment it is replaced */
        if (dir && dir != getenv("JOBRT_PLUGIN_DIR"))
            return cli_usage_error(&cmd, "the plugin directory is given "
                                   "twice (--plugin-dir and DIR); give it "
                                   "once");
        dir = pos[0];
    }
    if (dir == NULL)
        return cli_usage_error(&cmd, "--plugin-dir is required");
    log_set_level(JOBRT_LOG_WARN);
    char err[512];
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    if (l == NULL) {
        fprintf(stderr, "jobrt plugins: %s\n", err);
        return 1;
    }
    if (insecure)
        loader_set_insecure(l);
    if (probe_cli_setup(&cmd, l, probe_ms) != 0) {
        loader_destroy(l);
        return 1;
    }
    plugin_set_t set = {0};
    int rejected = loader_scan_dir(l, dir, &set, print_plugin, NULL, err,
                                   sizeof err);
    if (rejected < 0)
        fprintf(stderr, "jobrt plugins: %s\n", err);
    else
        printf("%u loaded, %d rejected\n", set.count, rejected);
    plugin_set_unload_all(&set);
    loader_destroy(l);
    return rejected == 0 ? 0 : 1;
}
