/*
 * log.h - the runtime's one log sink: one line per event on stderr,
 * "<time> <LEVEL> <module>: message". The level threshold is set once at
 * start-up (--log-level) and read everywhere.
 */
#ifndef JOBRT_LOG_H
#define JOBRT_LOG_H

#include <stdarg.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set-once threshold; lines above it are dropped. Returns -1 on an unknown
 * level name ("error", "warn", "info", "debug"). */
int log_set_level_name(const char *name);
void log_set_level(int level);
int log_enabled(int level);

void log_line(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vline(int level, const char *module, const char *fmt, va_list ap);

#define LOGE(mod, ...) log_line(LOG_ERROR, mod, __VA_ARGS__)
#define LOGW(mod, ...) log_line(LOG_WARN, mod, __VA_ARGS__)
#define LOGI(mod, ...) log_line(LOG_INFO, mod, __VA_ARGS__)
#define LOGD(mod, ...)                                                      \
    do {                                                                    \
        if (log_enabled(LOG_DEBUG))                                         \
            log_line(LOG_DEBUG, mod, __VA_ARGS__);                          \
    } while (0)

#endif
