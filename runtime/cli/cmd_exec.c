/*
 * cmd_exec.c - `jobrt exec` runs one job through the plugins of a
 * directory in this process, without Redis: the plugin author's inner
 * loop. The result goes to stdout, everything else (the outcome, plugin
 * rejections, log lines) to stderr, so `jobrt exec ... | jq` works.
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

/* A rejected plugin file is one line on stderr; loaded ones are silent. */
static void report_rejected(void *arg, const char *path,
                            const struct jobrt_plugin *p, const char *why)
{
    (void)arg;
    if (p == NULL)
        fprintf(stderr, "jobrt exec: %s: rejected: %s\n", path, why);
}

int cmd_exec(int argc, char **argv)
{
    const char *dir = NULL, *payload = NULL, *id = "exec-1", *corr = NULL;
    long version = -1, attempt = 1;
    int64_t timeout_ms = 300000;
    const char *log_level = "info";
    int insecure = 0;
    int64_t probe_ms = PROBE_DEFAULT_TIMEOUT_MS;
    const cli_opt_t opts[] = {
        {"plugin-dir", 'p', "JOBRT_PLUGIN_DIR", OPT_STRING, &dir, "DIR",
         "Load the plugins in DIR (required).", 0, 0},
        PROBE_CLI_ROW(probe_ms),
        {"insecure-plugin-dir", 0, "JOBRT_INSECURE_PLUGIN_DIR", OPT_FLAG,
         &insecure, NULL,
         "Development only: load plugin files and directories that are "
         "writable by group or others or owned by another user, with a "
         "WARN line each (refused by default).", 0, 0},
        {"schema", 'v', NULL, OPT_INT, &version, "N",
         "Payload schema version (required).", 0, 2147483647},
        {"payload", 'd', NULL, OPT_STRING, &payload, "JSON",
         "The payload, as JSON text (required).", 0, 0},
        {"id", 0, NULL, OPT_STRING, &id, "ID", "Job id (default exec-1).", 0,
         0},
        {"correlation-id", 0, NULL, OPT_STRING, &corr, "ID",
         "Correlation id handed to the handler.", 0, 0},
        {"attempt", 0, NULL, OPT_INT, &attempt, "N",
         "Attempt number the handler sees (default 1).", 1, 1000},
        {"timeout", 0, NULL, OPT_DURATION, &timeout_ms, "DUR",
         "Deadline if the handler sets none (default 5m).", 1, 86400000},
        {"log-level", 0, "JOBRT_LOG_LEVEL", OPT_STRING, &log_level, "LEVEL",
         "error, warn, info or debug (default info).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "exec", "jobrt exec --plugin-dir DIR JOB -v N --payload JSON",
        "Runs one job through the plugin that serves it, in this process, "
        "without Redis.\nPrints the result JSON on stdout and the outcome on "
        "stderr.\nExit codes: 0 ok, 1 failed (permanent, or invalid payload), "
        "75 handler asked\nfor a retry, 3 no handler for this job or version, "
        "2 bad usage.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if ((rc = cli_set_log_level(&cmd, log_level)) != 0)
        return rc;
    if (dir == NULL)
        return cli_usage_error(&cmd, "--plugin-dir is required");
    if (n_pos != 1)
        return cli_usage_error(&cmd, "expected the job name");
    if (version < 0)
        return cli_usage_error(&cmd, "-v N (payload schema version) is "
                               "required");
    if (payload == NULL)
        return cli_usage_error(&cmd, "--payload is required");

    /* Build the entry the way a producer would. */
    char vbuf[24], abuf[24];
    snprintf(vbuf, sizeof vbuf, "%ld", version);
    snprintf(abuf, sizeof abuf, "%ld", attempt);
    strview_t fv[12];
    size_t n = 0;
#define FIELD(k, v)                                                         \
    do {                                                                    \
        fv[n].ptr = (k);                                                    \
        fv[n++].len = strlen(k);                                            \
        fv[n].ptr = (v);                                                    \
        fv[n++].len = strlen(v);                                            \
    } while (0)
    FIELD("job", pos[0]);
    FIELD("v", vbuf);
    FIELD("payload", payload);
    FIELD("id", id);
    FIELD("attempt", abuf);
    if (corr)
        FIELD("correlation_id", corr);
#undef FIELD
    char err[512];
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    if (l == NULL) {
        fprintf(stderr, "jobrt exec: %s\n", err);
        return 1;
    }
    if (insecure)
        loader_set_insecure(l);
    if (probe_cli_setup(&cmd, l, probe_ms) != 0) {
        loader_destroy(l);
        return 1;
    }
    plugin_set_t set = {0};
    if (loader_scan_dir(l, dir, &set, report_rejected, NULL, err,
                        sizeof err) < 0) {
        fprintf(stderr, "jobrt exec: %s\n", err);
        loader_destroy(l);
        return 1;
    }
    struct jobrt_job job;
    memset(&job, 0, sizeof job);
    router_t *router = router_create(&set);
    rc = job_load_entry(&job, "0-0", fv, n, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "jobrt exec: invalid job: %s\n", err);
        rc = rc == -1 ? 2 : 1;
        goto out;
    }
    const plugin_handler_t *h;
    route_status_t st = router_acquire(router, job.env.job.ptr,
                                       job.env.job.len, job.env.version, &h);
    if (st != ROUTE_OK) {
        char served[256];
        router_describe_versions(router, job.env.job.ptr, job.env.job.len,
                                 served, sizeof served);
        fprintf(stderr, "jobrt exec: %s: no plugin in %s serves %s v%u "
                "(served: %s)\n", route_status_reason(st), dir,
                job.env.job.ptr, job.env.version, *served ? served : "none");
        rc = 3;
        goto out;
    }
    job.handler = h;
    job.timeout_ms = h->timeout_ms ? h->timeout_ms : (uint32_t)timeout_ms;
    job.max_payload = 0;
    host_run_job(&job);
    router_release(h);
    if (job.has_result)
        printf("%.*s\n", (int)job.result.len, job.result.data);
    if (job.disposition == JOB_INVALID_PAYLOAD) {
        fprintf(stderr, "jobrt exec: invalid_envelope: %s\n", job.error);
        rc = 1;
    } else if (job.outcome == JOBRT_OK) {
        fprintf(stderr, "jobrt exec: ok: %s v%u handled by plugin %s %s in "
                "%lld ms\n", job.env.job.ptr, job.env.version, h->plugin->name,
                h->plugin->version,
                (long long)(job.finished_ms - job.started_ms));
        rc = 0;
    } else if (job.outcome == JOBRT_RETRY) {
        fprintf(stderr, "jobrt exec: retry: %s\n", job.error);
        rc = 75;
    } else {
        fprintf(stderr, "jobrt exec: failed: %s\n", job.error);
        rc = 1;
    }
out:
    job_free_buffers(&job);
    router_destroy(router);
    plugin_set_unload_all(&set);
    loader_destroy(l);
    return rc;
}
