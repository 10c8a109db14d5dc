/*
 * log.c - formats a whole line into a stack buffer and writes it with one
 * write(2), so lines from worker threads never interleave.
 */
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_threshold = JOBRT_LOG_INFO; /* set once at start-up */

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0 ||
            (i == JOBRT_LOG_WARN && strcasecmp(name, "warning") == 0)) {
            log_threshold = i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(int level) { log_threshold = level; }

int log_enabled(int level) { return level <= log_threshold; }

void log_vline(int level, const char *module, const char *fmt, va_list ap)
{
    if (level > log_threshold)
        return;
    char buf[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(buf, sizeof buf,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
                     level_names[level < 0 ? 0 : level > 3 ? 3 : level],
                     module);
    if (n < 0)
        return;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    buf[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w;
}

void log_line(int level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vline(level, module, fmt, ap);
    va_end(ap);
}
