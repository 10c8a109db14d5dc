/*
 * log.h - the runtime's one log sink: one line per event on stderr,
 * "<time> <LEVEL> <module>: message". The level threshold is set once at
 * start-up (--log-level) and read everywhere.
 */
#ifndef JOBRT_LOG_H
#define JOBRT_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* The levels are the plugin ABI's (JOBRT_LOG_ERROR .. JOBRT_LOG_DEBUG), so
 * a plugin's log line needs no translation; the names cannot clash with
 * <syslog.h>'s LOG_* as plain LOG_INFO would. */
#include "jobrt/plugin.h"

/* Set-once threshold; lines above it are dropped. Returns -1 on an unknown
 * level name ("error", "warn", "info", "debug"). */
int log_set_level_name(const char *name);
void log_set_level(int level);
int log_enabled(int level);

/* The message of the last ERROR line (module: text), for a worker that
 * must tell its supervisor why it could not start; "" if none. */
void log_last_error(char *out, size_t out_len);
/* A tag written before every module name ("w2 "), set once at start-up:
 * the workers of one supervisor share its stderr. */
void log_set_tag(const char *tag);

void log_line(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vline(int level, const char *module, const char *fmt, va_list ap);

#define LOGE(mod, ...) log_line(JOBRT_LOG_ERROR, mod, __VA_ARGS__)
#define LOGW(mod, ...) log_line(JOBRT_LOG_WARN, mod, __VA_ARGS__)
#define LOGI(mod, ...) log_line(JOBRT_LOG_INFO, mod, __VA_ARGS__)
#define LOGD(mod, ...)                                                      \
    do {                                                                    \
        if (log_enabled(JOBRT_LOG_DEBUG))                                   \
            log_line(JOBRT_LOG_DEBUG, mod, __VA_ARGS__);                    \
    } while (0)

#endif
