/*
 * log.c - formats a whole line into a stack buffer and writes it with one
 * write(2), so lines from worker threads never interleave.
 */
#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_threshold = JOBRT_LOG_INFO; /* set once at start-up */
static char log_tag[32];                    /* set once at start-up */
/* The last ERROR line's text, for a worker that fails to start. */
static char last_error[512];
static pthread_mutex_t last_error_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof log_tag, "%s", tag ? tag : "");
}

void log_last_error(char *out, size_t out_len)
{
    pthread_mutex_lock(&last_error_lock);
    snprintf(out, out_len, "%s", last_error);
    pthread_mutex_unlock(&last_error_lock);
}

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
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s%s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
                     level_names[level < 0 ? 0 : level > 3 ? 3 : level],
                     log_tag, module);
    if (n < 0)
        return;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    if (level == JOBRT_LOG_ERROR) {
        size_t head = strlen(log_tag) + 25 + 6; /* time, level, tag */
        pthread_mutex_lock(&last_error_lock);
        if (head < len)
            snprintf(last_error, sizeof last_error, "%.*s",
                     (int)(len - head), buf + head);
        pthread_mutex_unlock(&last_error_lock);
    }
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
