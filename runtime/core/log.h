/*
 * log.h - the runtime's one log sink: one line per event on stderr, written
 * with one write(2), in one of two formats chosen once at start-up
 * (--log-format, docs/logging.md):
 *
 *   text  "<time> <LEVEL> <tag><module>: message [id=.. job=.. v=..]"
 *   json  {"ts":"..","level":"info","worker":"w2","module":"..",
 *          "id":"..","job":"..","v":2,...,"msg":".."}
 *
 * Every string that goes into a line (message, module, job fields) is
 * escaped: control bytes, DEL, C1 controls and invalid UTF-8 never reach
 * stderr raw, so no job name, id, handler error or plugin message can
 * forge a line or drive a terminal. Lines are bounded (LOG_LINE_MAX); a
 * message or field cut to fit ends with LOG_CUT_MARK. The threshold,
 * format, tag and payload switch are set once at start-up and read
 * everywhere.
 */
#ifndef JOBRT_LOG_H
#define JOBRT_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The levels are the plugin ABI's (JOBRT_LOG_ERROR .. JOBRT_LOG_DEBUG), so
 * a plugin's log line needs no translation; the names cannot clash with
 * <syslog.h>'s LOG_* as plain LOG_INFO would. */
#include "jobrt/plugin.h"

/* One line is at most this many bytes, newline included. */
#define LOG_LINE_MAX 8192
/* A message is formatted into this many bytes before it is escaped. */
#define LOG_MSG_MAX 2048
/* Payload bytes a line shows with --log-payloads. */
#define LOG_PAYLOAD_MAX 1024
/* What ends a message or field that was cut to fit. */
#define LOG_CUT_MARK "...[cut]"

typedef enum { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 } log_format_t;

/* Set-once threshold; lines above it are dropped. Returns -1 on an unknown
 * level name ("error", "warn", "info", "debug"). */
int log_set_level_name(const char *name);
void log_set_level(int level);
int log_enabled(int level);

/* Set-once format. Returns -1 on an unknown name ("text", "json"). */
int log_set_format_name(const char *name);
void log_set_format(log_format_t format);
log_format_t log_get_format(void);
const char *log_format_name(void);

/* Set once: whether job lines that carry a payload show it (cut to
 * LOG_PAYLOAD_MAX, escaped); off by default, see --log-payloads. */
void log_set_payloads(int on);
int log_payloads(void);

/* The message of the last ERROR line (module: text, escaped as in a text
 * line), for a worker that must tell its supervisor why it could not
 * start; "" if none. */
void log_last_error(char *out, size_t out_len);
/* A tag written before every module name ("w2 "), set once at start-up:
 * the workers of one supervisor share its stderr. In json lines it is the
 * "worker" key, without the trailing space. */
void log_set_tag(const char *tag);
/* The tag ("" if none); async-signal-safe (the crash report reads it). */
const char *log_get_tag(void);

/* What a line about one job says about it: any field may be NULL (0 for
 * the numbers) when it is not known at that point, and is then left out.
 * Strings are borrowed for the call and need not be valid or printable:
 * they are escaped. */
typedef struct {
    const char *id;        /* the job id (the envelope's, or the entry's) */
    const char *stream_id; /* the stream entry, when it says more than id */
    const char *job;       /* job name */
    uint32_t version;      /* payload schema version; with has_version */
    int has_version;
    const char *queue;
    uint32_t attempt;      /* 0 = unknown */
    const char *plugin;    /* the plugin's name */
    const char *build_id;  /* the plugin build's id */
    const char *correlation_id;
    const char *payload;   /* shown only with --log-payloads */
    size_t payload_len;
} log_job_t;

/* A number a line carries as its own key (json: a JSON number). */
typedef struct {
    const char *key;
    double value;
    int decimals; /* digits after the point: 0 for counts */
} log_num_t;

void log_line(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vline(int level, const char *module, const char *fmt, va_list ap);

/* A line about one job: job (may be NULL) adds its fields. */
void log_job(int level, const char *module, const log_job_t *job,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_vjob(int level, const char *module, const log_job_t *job,
              const char *fmt, va_list ap);

/* A line with n numbers (the worker's summary). */
void log_nums(int level, const char *module, const log_num_t *nums, size_t n,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Escapes len bytes of s as the text format does (\n, \t, \\, \x1b, and
 * \xNN for DEL, C1 controls and invalid UTF-8) into out[out_len], always
 * NUL-terminated; cut before an escape that would not fit, then ending in
 * LOG_CUT_MARK. Returns the bytes written. For tests and for anyone who
 * must show an untrusted string on one line. */
size_t log_escape_text(const char *s, size_t len, char *out, size_t out_len);
/* The same as the inside of a JSON string (\", \\, \n, \u001b ...;
 * invalid UTF-8 becomes U+FFFD), without the quotes. */
size_t log_escape_json(const char *s, size_t len, char *out, size_t out_len);

#define LOGE(mod, ...) log_line(JOBRT_LOG_ERROR, mod, __VA_ARGS__)
#define LOGW(mod, ...) log_line(JOBRT_LOG_WARN, mod, __VA_ARGS__)
#define LOGI(mod, ...) log_line(JOBRT_LOG_INFO, mod, __VA_ARGS__)
#define LOGD(mod, ...)                                                      \
    do {                                                                    \
        if (log_enabled(JOBRT_LOG_DEBUG))                                   \
            log_line(JOBRT_LOG_DEBUG, mod, __VA_ARGS__);                    \
    } while (0)

/* The same for a line about one job (job: a const log_job_t *). */
#define LOGJE(mod, job, ...) log_job(JOBRT_LOG_ERROR, mod, job, __VA_ARGS__)
#define LOGJW(mod, job, ...) log_job(JOBRT_LOG_WARN, mod, job, __VA_ARGS__)
#define LOGJI(mod, job, ...) log_job(JOBRT_LOG_INFO, mod, job, __VA_ARGS__)
#define LOGJD(mod, job, ...)                                                \
    do {                                                                    \
        if (log_enabled(JOBRT_LOG_DEBUG))                                   \
            log_job(JOBRT_LOG_DEBUG, mod, job, __VA_ARGS__);                \
    } while (0)

#endif
