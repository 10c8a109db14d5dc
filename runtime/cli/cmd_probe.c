/*
 * cmd_probe.c - `jobrt __probe FILE`, the hidden command the probe runs
 * in a child process (plugin/probe.h; not listed in `jobrt --help`). It
 * loads FILE the way the loader does (loader_trial(): the ELF and
 * descriptor checks, dlopen, the live descriptor, init() with the real
 * host API), then calls fini(), writing a token to the verdict descriptor
 * after each step and OK at the end, then _exit(0). A constructor or
 * init() that crashes, exits or hangs takes only this process down; the
 * parent tells which from the last token it read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "core/log.h"
#include "plugin/probe.h"

/* One token line to fd, in one write (the parent reads whole lines). */
static void say(int fd, const char *token, const char *detail)
{
    char line[PROBE_MAX_VERDICT];
    int n = snprintf(line, sizeof line, "%s%s", token, detail ? detail : "");
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' '; /* one line, whatever the reason holds */
    line[len++] = '\n';
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        done += (size_t)w;
    }
}

static void on_step(void *arg, loader_step_t step)
{
    say(*(const int *)arg,
        step == LOADER_STEP_DLOPEN ? PROBE_TOKEN_DLOPEN : PROBE_TOKEN_DESC,
        NULL);
}

int cmd_probe(int argc, char **argv)
{
    long vfd = -1, parent = 0;
    const char *log_level = "warn", *log_format = "text";
    const cli_opt_t opts[] = {
        {"verdict-fd", 0, NULL, OPT_INT, &vfd, "FD",
         "Write the tokens to FD (default stdout).", 0, 1024},
        {"parent", 0, NULL, OPT_INT, &parent, "PID",
         "Die with the process PID, which started this one.", 1, INT_MAX},
        {"log-level", 0, NULL, OPT_STRING, &log_level, "LEVEL",
         "error, warn, info or debug (default warn).", 0, 0},
        {"log-format", 0, NULL, OPT_STRING, &log_format, "FMT",
         "text or json (default text).", 0, 0},
    };
    const cli_cmd_t cmd = {
        "__probe", "jobrt __probe [options] FILE",
        "Internal: the probe's trial load of one plugin file in a child "
        "process. Loads\nFILE as the loader does (checks, dlopen, init()), "
        "calls fini() and writes\n" PROBE_TOKEN_OK " on success, or "
        "\"" PROBE_TOKEN_ERR "<reason>\" for a refusal. Exit code 0 once "
        "that is\nwritten; anything else is a plugin that crashed or "
        "exited.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&cmd, argc, argv, pos, 1, &n_pos);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (n_pos != 1)
        return cli_usage_error(&cmd, "expected the plugin file");
    if ((rc = cli_set_log_level(&cmd, log_level)) != 0)
        return rc;
    if (log_set_format_name(log_format) != 0)
        return cli_usage_error(&cmd, "--log-format: expected text or json, "
                               "got '%s'", log_format);
    /* what the plugin logs here is told apart from the real load's */
    log_set_tag("probe ");
    if (parent > 0) {
        /* A hung init() must not outlive the process waiting for it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if ((long)getppid() != parent)
            _exit(1); /* it is gone already */
    }
    int fd = STDOUT_FILENO;
    if (vfd >= 0) {
        fd = (int)vfd;
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
            return cli_usage_error(&cmd, "--verdict-fd %d: %s", fd,
                                   strerror(errno));
    }
    /* dlopen() of a bare name would search the library path */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s", strchr(pos[0], '/') ? "" : "./",
             pos[0]);
    say(fd, PROBE_TOKEN_START, NULL);
    char why[PROBE_MAX_VERDICT - 16];
    struct jobrt_plugin *p = loader_trial(path, host_api_get(), on_step, &fd,
                                          why, sizeof why);
    if (p == NULL) {
        say(fd, PROBE_TOKEN_ERR, why);
        fflush(NULL);
        _exit(0);
    }
    say(fd, PROBE_TOKEN_INIT, NULL);
    if (p->fini)
        p->fini(p->ctx);
    fflush(NULL); /* what the plugin printed, before the verdict */
    say(fd, PROBE_TOKEN_OK, NULL);
    _exit(0);
}
