/*
 * notify.c - sd_notify (libsystemd) and the health file.
 */
#include "observe/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "core/log.h"

void notify_init(notify_t *n, const char *health_file)
{
    memset(n, 0, sizeof *n);
    n->health_file = health_file;
    const char *sock = getenv("NOTIFY_SOCKET");
    n->announce = health_file || (sock && *sock);
    uint64_t usec = 0;
    /* ping at half the interval systemd gives (WatchdogSec) */
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        n->watchdog_every_ms = (int64_t)(usec / 2000);
    if (health_file) /* a stale one from an earlier run says nothing */
        unlink(health_file);
}

/* Writes the health file through a temporary name, so a reader never
 * sees half of it. The temporary is created afresh (O_EXCL, no link
 * followed): in a shared directory such as /tmp, a link another user put
 * there must not make jobrt truncate what it points to. */
static void write_health_file(notify_t *n, const char *status)
{
    char tmp[4096 + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", n->health_file);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0644);
    int ok = fd >= 0;
    if (ok) {
        char line[320];
        int len = snprintf(line, sizeof line, "%d %s\n", (int)getpid(),
                           status);
        ok = write(fd, line, (size_t)len) == len;
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, n->health_file) == 0;
        if (!ok)
            unlink(tmp);
    }
    if (!ok && !n->file_error_logged) {
        n->file_error_logged = 1;
        LOGE("ops", "--health-file %s: cannot write it: %s; health checks "
             "that read it will say not ready", n->health_file,
             strerror(errno));
    } else if (ok) {
        n->file_error_logged = 0;
    }
    n->file_ok = ok;
}

static void ping_watchdog(notify_t *n, int64_t now)
{
    if (n->watchdog_every_ms && now >= n->next_ping_ms) {
        n->next_ping_ms = now + n->watchdog_every_ms;
        sd_notify(0, "WATCHDOG=1");
    }
}

void notify_update(notify_t *n, int ready, const char *status, int64_t now)
{
    if (n->stopping) { /* a drain is the loop turning too */
        ping_watchdog(n, now);
        return;
    }
    int changed = ready != n->ready || (ready && !n->told_ready_once);
    if (n->health_file && ready &&
        (changed || !n->file_ok || strcmp(status, n->status) != 0 ||
         access(n->health_file, F_OK) != 0))
        /* ready: the file is there and says so (written again after a
         * failed write, or when someone or a watchdog removed it) */
        write_health_file(n, status);
    else if (n->health_file && changed && !ready)
        unlink(n->health_file);
    if (changed) {
        n->ready = ready;
        if (ready && !n->told_ready_once) {
            n->told_ready_once = 1;
            sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", status,
                       (int)getpid());
            snprintf(n->status, sizeof n->status, "%s", status);
        }
        log_line(n->announce ? JOBRT_LOG_INFO : JOBRT_LOG_DEBUG, "ops", "%s",
                 ready ? "ready" : status);
    }
    if (strcmp(status, n->status) != 0) {
        snprintf(n->status, sizeof n->status, "%s", status);
        sd_notifyf(0, "STATUS=%s", status);
    }
    ping_watchdog(n, now);
}

void notify_stopping(notify_t *n)
{
    if (n->stopping)
        return;
    n->stopping = 1;
    n->ready = 0;
    if (n->health_file)
        unlink(n->health_file);
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining running jobs");
}
