/*
 * cmd_plugins.c - `jobrt plugins` validates every *.so in a directory the
 * way the worker would (including init) and lists what each serves, or why
 * it was rejected.
 */
#include <stdio.h>
#include <string.h>

#include "cli/options.h"
#include "cli/commands.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "core/log.h"
#include "plugin/router.h"

static void print_plugin(void *arg, const char *path,
                         const struct jobrt_plugin *p, const char *why)
{
    (void)arg;
    if (p == NULL) {
        printf("REJECTED %s: %s\n", path, why);
        return;
    }
    printf("ok       %s: plugin %s %s (ABI %u.%u, build %s):", path, p->name,
           p->version, p->abi_major, p->abi_minor,
           *p->build_id ? p->build_id : "-");
    for (uint32_t i = 0; i < p->n_handlers; i++) {
        const plugin_handler_t *h = &p->handlers[i];
        if (h->schema_min == h->schema_max)
            printf("%s %s v%u", i ? "," : "", h->job_name, h->schema_min);
        else
            printf("%s %s v%u..%u", i ? "," : "", h->job_name, h->schema_min,
                   h->schema_max);
    }
    printf("\n");
}

int cmd_plugins(int argc, char **argv)
{
    const char *dir = NULL;
    const cli_opt_t opts[] = {
        {"plugin-dir", 'p', "JOBRT_PLUGIN_DIR", OPT_STRING, &dir, "DIR",
         "Directory to check (required).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "plugins", "jobrt plugins --plugin-dir DIR",
        "Loads every *.so in DIR exactly as the worker would (descriptor, "
        "ABI, handler table,\nconflicts, init) and prints one line per file: "
        "what it serves, or why it was\nrejected. Exit codes: 0 all loaded, 1 "
        "some file rejected or DIR unreadable, 2 bad usage.",
        opts, 1};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos == 1 && dir == NULL)
        dir = pos[0];
    if (dir == NULL)
        return cli_usage_error(&cmd, "--plugin-dir is required");
    log_set_level(JOBRT_LOG_WARN);
    char err[512];
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    if (l == NULL) {
        fprintf(stderr, "jobrt plugins: %s\n", err);
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
