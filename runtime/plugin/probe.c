/*
 * probe.c - the trial load of a plugin in a child process (see probe.h):
 * posix_spawn of `EXE __probe`, a bounded read of its verdict pipe, a
 * deadline kept with poll() and waitpid(WNOHANG), SIGKILL at the deadline,
 * and one line saying what the child did.
 */
#define _GNU_SOURCE
#include "plugin/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

extern char **environ;

/* How far the child got, from its tokens. */
typedef enum {
    STEP_NONE,   /* nothing: it never started the trial */
    STEP_START,  /* dlopen() (the ELF constructors) was running */
    STEP_DLOPEN, /* the runtime's check of the live descriptor */
    STEP_DESC,   /* init() */
    STEP_INIT,   /* fini() */
    STEP_OK      /* all returned */
} step_t;

typedef struct {
    char buf[PROBE_MAX_VERDICT + 1];
    size_t len;
    int eof;
} verdict_t;

/* Reads what the pipe holds now: at most PROBE_MAX_VERDICT bytes are
 * kept, the rest is read and dropped (so the child never blocks), and a
 * bounded number of reads per call (so a child that never stops writing
 * cannot hold the deadline off). */
static void read_some(int fd, verdict_t *v)
{
    for (int reads = 0; reads < 64; reads++) {
        char scratch[512];
        char *dst = scratch;
        size_t room = sizeof scratch;
        if (v->len < PROBE_MAX_VERDICT) {
            dst = v->buf + v->len;
            room = PROBE_MAX_VERDICT - v->len;
        }
        ssize_t r = read(fd, dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            v->eof = 1;
        if (r <= 0)
            return;
        if (dst != scratch)
            v->len += (size_t)r;
    }
}

/* The last step the tokens reach, and the refusal ("ERR reason"), if
 * any, in err (NUL-terminated in place). Only whole lines count. */
static step_t parse_verdict(verdict_t *v, const char **err)
{
    static const struct {
        const char *token;
        step_t step;
    } steps[] = {{PROBE_TOKEN_START, STEP_START},
                 {PROBE_TOKEN_DLOPEN, STEP_DLOPEN},
                 {PROBE_TOKEN_DESC, STEP_DESC},
                 {PROBE_TOKEN_INIT, STEP_INIT},
                 {PROBE_TOKEN_OK, STEP_OK}};
    step_t step = STEP_NONE;
    *err = NULL;
    v->buf[v->len] = '\0';
    char *line = v->buf;
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        if (strncmp(line, PROBE_TOKEN_ERR, strlen(PROBE_TOKEN_ERR)) == 0) {
            if (*err == NULL)
                *err = line + strlen(PROBE_TOKEN_ERR);
        } else {
            for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
                if (strcmp(line, steps[i].token) == 0 && steps[i].step > step)
                    step = steps[i].step;
        }
        line = nl + 1;
    }
    return step;
}

/* Starts exe with wfd as the child's PROBE_VERDICT_FD. */
static int spawn_probe(const char *exe, const char *path, int wfd, pid_t *pid,
                       char *why, size_t why_len)
{
    char vfd[16], parent[24], level[16];
    snprintf(vfd, sizeof vfd, "%d", PROBE_VERDICT_FD);
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    /* the child logs at this process's threshold */
    static const char *const names[] = {"error", "warn", "info", "debug"};
    int lv = JOBRT_LOG_ERROR;
    while (lv < JOBRT_LOG_DEBUG && log_enabled(lv + 1))
        lv++;
    snprintf(level, sizeof level, "%s", names[lv]);
    /* and in its format, so a json log stays json */
    char *argv[] = {(char *)exe,  "__probe", "--verdict-fd", vfd,
                    "--parent",   parent,    "--log-level",  level,
                    "--log-format", (char *)log_format_name(),
                    "--",         (char *)path, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return util_fail(why, why_len, "rejected by the probe: cannot start "
                         "it: %s", strerror(rc));
    rc = posix_spawnattr_init(&at);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return util_fail(why, why_len, "rejected by the probe: cannot start "
                         "it: %s", strerror(rc));
    }
    /* The pipe first (wfd may be 0, 1 or 2 if those were closed), then
     * stdin from /dev/null, stdout onto stderr, nothing else open. */
    rc = posix_spawn_file_actions_adddup2(&fa, wfd, PROBE_VERDICT_FD);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
                                              O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO,
                                              STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa,
                                                      PROBE_VERDICT_FD + 1);
#endif
    if (rc == 0)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&at, &all);
    if (rc == 0)
        rc = posix_spawn(pid, exe, &fa, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return util_fail(why, why_len, "rejected by the probe: cannot run "
                         "%s: %s", exe, strerror(rc));
    return 0;
}

/* Waits for the child until the deadline, reading its verdict; kills and
 * reaps it at the deadline. Returns 0 with *status (and *timed_out), or
 * -1 if its status cannot be had (errno). */
static int wait_probe(pid_t pid, int rfd, int64_t timeout_ms, verdict_t *v,
                      int *status, int *timed_out)
{
    int64_t deadline = util_mono_ms() + timeout_ms;
    int nap = 1;
    *timed_out = 0;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *status = st;
            read_some(rfd, v);
            return 0;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        int64_t left = deadline - util_mono_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
                ;
            if (r != pid)
                return -1;
            *status = st;
            *timed_out = 1;
            read_some(rfd, v);
            return 0;
        }
        if (!v->eof) {
            /* the child's exit closes the pipe, which wakes this up */
            struct pollfd pfd = {.fd = rfd, .events = POLLIN};
            if (poll(&pfd, 1, left < 100 ? (int)left : 100) > 0)
                read_some(rfd, v);
            continue;
        }
        /* the pipe is closed: the child is exiting (or closed it) */
        poll(NULL, 0, nap < left ? nap : (int)left);
        if (nap < 50)
            nap *= 2;
    }
}

/* Under AddressSanitizer the child's crash is the sanitizer's report on
 * stderr and an exit status, not a signal. */
#ifdef __SANITIZE_ADDRESS__
#define SANITIZER_HINT " or a crash: see the sanitizer's report on stderr"
#else
#define SANITIZER_HINT ""
#endif

/* The line for a child that did not pass, from how far it got. */
static int explain(step_t step, int status, int timed_out, int64_t timeout_ms,
                   const char *exe, char *why, size_t why_len)
{
    static const char *const who[] = {
        [STEP_START] = "its ELF constructors (run by dlopen())",
        [STEP_DLOPEN] = "the check of its descriptor",
        [STEP_DESC] = "init()",
        [STEP_INIT] = "fini()",
    };
    static const char *const exit_when[] = {
        [STEP_START] = "during dlopen(), before init() (a constructor "
                       "called exit()?" SANITIZER_HINT ")",
        [STEP_DLOPEN] = "while its descriptor was checked",
        [STEP_DESC] = "before init() returned (init() called exit()?"
                      SANITIZER_HINT ")",
        [STEP_INIT] = "before fini() returned (fini() called exit()?"
                      SANITIZER_HINT ")",
    };
    const char *pre = "rejected by the probe: ";
    char dur[32], sig[96];
    util_format_duration(timeout_ms, dur, sizeof dur);
    if (step == STEP_NONE) {
        if (timed_out)
            return util_fail(why, why_len, "%sthe probe process (%s) did not "
                             "start within %s (killed)", pre, exe, dur);
        if (WIFSIGNALED(status)) {
            util_signal_text(WTERMSIG(status), sig, sizeof sig);
            return util_fail(why, why_len, "%sthe probe process (%s) died of "
                             "%s before it started", pre, exe, sig);
        }
        return util_fail(why, why_len, "%sthe probe process (%s) exited with "
                         "status %d before it started (is it jobrt?)", pre,
                         exe, WEXITSTATUS(status));
    }
    if (step == STEP_OK) {
        if (timed_out)
            return util_fail(why, why_len, "%sthe probe process did not exit "
                             "within %s after fini() returned (killed)", pre,
                             dur);
        if (WIFSIGNALED(status)) {
            util_signal_text(WTERMSIG(status), sig, sizeof sig);
            return util_fail(why, why_len, "%sthe probe process died of %s "
                             "after init() and fini() returned (a thread the "
                             "plugin started?)", pre, sig);
        }
        return util_fail(why, why_len, "%sthe probe process exited with "
                         "status %d after init() and fini() returned", pre,
                         WEXITSTATUS(status));
    }
    if (timed_out)
        return util_fail(why, why_len, "%s%s did not return within %s (probe "
                         "process killed)", pre, who[step], dur);
    if (WIFSIGNALED(status)) {
        util_signal_text(WTERMSIG(status), sig, sizeof sig);
        return util_fail(why, why_len, "%s%s crashed with %s", pre, who[step],
                         sig);
    }
    return util_fail(why, why_len, "%sthe probe process exited with status "
                     "%d %s", pre, WEXITSTATUS(status), exit_when[step]);
}

int probe_plugin(const char *exe, const char *path, int64_t timeout_ms,
                 char *why, size_t why_len)
{
    int fds[2];
    if (timeout_ms <= 0)
        timeout_ms = 1;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return util_fail(why, why_len, "rejected by the probe: cannot make "
                         "its pipe: %s", strerror(errno));
    if (fds[1] == PROBE_VERDICT_FD) {
        /* dup2 onto itself would keep close-on-exec set */
        int moved = fcntl(fds[1], F_DUPFD_CLOEXEC, PROBE_VERDICT_FD + 1);
        int e = errno;
        close(fds[1]);
        if (moved < 0) {
            close(fds[0]);
            return util_fail(why, why_len, "rejected by the probe: cannot "
                             "make its pipe: %s", strerror(e));
        }
        fds[1] = moved;
    }
    int fl = fcntl(fds[0], F_GETFL);
    if (fl >= 0)
        fcntl(fds[0], F_SETFL, fl | O_NONBLOCK);
    pid_t pid;
    int rc = spawn_probe(exe, path, fds[1], &pid, why, why_len);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    verdict_t v;
    v.len = 0;
    v.eof = 0;
    int status = 0, timed_out = 0;
    rc = wait_probe(pid, fds[0], timeout_ms, &v, &status, &timed_out);
    int e = errno;
    close(fds[0]);
    if (rc != 0)
        return util_fail(why, why_len, "rejected by the probe: lost the "
                         "probe process %ld: %s (is SIGCHLD ignored?)",
                         (long)pid, strerror(e));
    const char *err;
    step_t step = parse_verdict(&v, &err);
    if (err != NULL && !timed_out && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
        return util_fail(why, why_len, "%s", err); /* the loader's reason */
    if (step == STEP_OK && !timed_out && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
        return 0;
    return explain(step, status, timed_out, timeout_ms, exe, why, why_len);
}

int probe_self_exe(char *out, size_t out_len, char *err, size_t err_len)
{
    ssize_t n = readlink("/proc/self/exe", out, out_len ? out_len - 1 : 0);
    if (n < 0)
        return util_fail(err, err_len, "cannot find this executable "
                         "(readlink /proc/self/exe): %s", strerror(errno));
    if ((size_t)n >= out_len - 1)
        return util_fail(err, err_len, "the path of this executable is too "
                         "long");
    out[n] = '\0';
    /* Replaced since it started (an upgrade by rename): the kernel still
     * runs this very binary by the magic name. */
    const char *deleted = " (deleted)";
    size_t dl = strlen(deleted);
    if ((size_t)n > dl && strcmp(out + n - dl, deleted) == 0)
        snprintf(out, out_len, "/proc/self/exe");
    return 0;
}
