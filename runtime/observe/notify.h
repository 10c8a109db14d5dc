/*
 * notify.h - telling the outside that `jobrt run` is ready: systemd
 * (sd_notify: READY=1, STATUS=, WATCHDOG=1, STOPPING=1, for Type=notify
 * units with WatchdogSec) and a health file for container health checks
 * (present while ready, removed when not, and on stop). Both do nothing
 * when not asked for (no NOTIFY_SOCKET, no --health-file).
 */
#ifndef JOBRT_NOTIFY_H
#define JOBRT_NOTIFY_H

#include <stdint.h>

typedef struct {
    const char *health_file; /* NULL: none */
    int ready;               /* what was last told */
    int told_ready_once;     /* READY=1 was sent */
    int stopping;
    int64_t watchdog_every_ms; /* 0: systemd wants no pings */
    int64_t next_ping_ms;
    char status[256];        /* the STATUS= last sent */
    int file_error_logged;
    int file_ok;             /* the last write of the health file worked */
    int announce;            /* readiness changes are INFO lines (someone
                                acts on them), else DEBUG */
} notify_t;

void notify_init(notify_t *n, const char *health_file);
/* Called every tick with the current verdict and a one-line status
 * ("ready: 2/2 workers" or why not); now is monotonic ms. Sends what
 * changed, pings the watchdog when due (the loop turned: that is what
 * the watchdog checks). */
void notify_update(notify_t *n, int ready, const char *status, int64_t now);
/* Stopping: STOPPING=1, and the health file goes. */
void notify_stopping(notify_t *n);

#endif
