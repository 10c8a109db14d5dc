/*
 * log.c - formats a whole line into a stack buffer and writes it with one
 * write(2), so lines from worker threads never interleave. Every string
 * is escaped on the way in (escape_one), and each part of a line has a
 * budget, so a line is bounded and a cut one stays valid JSON.
 */
#include "core/log.h"
#include "core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_threshold = JOBRT_LOG_INFO;      /* set once at start-up */
static log_format_t log_format = LOG_FORMAT_TEXT; /* set once at start-up */
static int log_show_payloads;                   /* set once at start-up */
static char log_tag[32];                        /* set once at start-up */
/* The last ERROR line's text, for a worker that fails to start. */
static char last_error[512];
static pthread_mutex_t last_error_lock = PTHREAD_MUTEX_INITIALIZER;

/* What each part of a line may take once escaped (LOG_LINE_MAX in all). */
#define BUDGET_FIELD 256
#define BUDGET_MSG 3072
#define BUDGET_PAYLOAD 1536
/* Kept free at the end of a line for a cut mark, a closing quote and the
 * end of the line: the parts stop before it. */
#define TAIL_RESERVE 64

void log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof log_tag, "%s", tag ? tag : "");
}

const char *log_get_tag(void) { return log_tag; }

void log_last_error(char *out, size_t out_len)
{
    pthread_mutex_lock(&last_error_lock);
    snprintf(out, out_len, "%s", last_error);
    pthread_mutex_unlock(&last_error_lock);
}

static const char *level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *level_json[] = {"error", "warn", "info", "debug"};

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

int log_set_format_name(const char *name)
{
    if (strcasecmp(name, "text") == 0)
        log_format = LOG_FORMAT_TEXT;
    else if (strcasecmp(name, "json") == 0)
        log_format = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

void log_set_format(log_format_t format) { log_format = format; }

log_format_t log_get_format(void) { return log_format; }

const char *log_format_name(void)
{
    return log_format == LOG_FORMAT_JSON ? "json" : "text";
}

void log_set_payloads(int on) { log_show_payloads = on != 0; }

int log_payloads(void) { return log_show_payloads; }

/* ---- escaping ------------------------------------------------------------ */

enum { ESC_TEXT, ESC_TEXT_FIELD, ESC_JSON };

/* The escaped form of the character at s into rep (at least 16 bytes);
 * sets *used to the input bytes it stands for and returns its length. */
static size_t escape_one(const unsigned char *s, size_t len, int mode,
                         char *rep, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned c = s[0];
    *used = 1;
    if (c >= 0x20 && c < 0x7f) {
        if (c == '\\' || (mode == ESC_JSON && c == '"')) {
            rep[0] = '\\', rep[1] = (char)c;
            return 2;
        }
        if (c == ' ' && mode == ESC_TEXT_FIELD) /* k=v stays one word */
            return (size_t)snprintf(rep, 16, "\\x20");
        rep[0] = (char)c;
        return 1;
    }
    if (c == '\n' || c == '\t' || c == '\r') {
        rep[0] = '\\';
        rep[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        return 2;
    }
    if (c < 0x80) /* the other C0 controls (ESC is \x1b) and DEL */
        return mode == ESC_JSON
                   ? (size_t)snprintf(rep, 16, "\\u00%c%c", hex[c >> 4],
                                      hex[c & 15])
                   : (size_t)snprintf(rep, 16, "\\x%c%c", hex[c >> 4],
                                      hex[c & 15]);
    uint32_t cp;
    size_t n = utf8_decode((const char *)s, len, &cp);
    if (n == 0) /* not UTF-8: the byte shown, never written */
        return mode == ESC_JSON ? (size_t)snprintf(rep, 16, "\\ufffd")
                                : (size_t)snprintf(rep, 16, "\\x%c%c",
                                                   hex[c >> 4], hex[c & 15]);
    *used = n;
    if (cp <= 0x9f) /* C1 controls: CSI (U+009B) is an escape too */
        return mode == ESC_JSON
                   ? (size_t)snprintf(rep, 16, "\\u00%c%c", hex[cp >> 4],
                                      hex[cp & 15])
                   : (size_t)snprintf(rep, 16, "\\xc2\\x%c%c", hex[cp >> 4],
                                      hex[cp & 15]);
    if (mode == ESC_JSON && (cp == 0x2028 || cp == 0x2029))
        return (size_t)snprintf(rep, 16, "\\u%04x", cp); /* JS line breaks */
    memcpy(rep, s, n);
    return n;
}

/* A line being built: parts stop at soft (cap - TAIL_RESERVE); the cut
 * mark and closing bytes may use the rest. */
typedef struct {
    char *p;
    size_t len, cap, soft;
    int full; /* a part hit soft: nothing more but closing bytes */
} line_t;

static void put_closing(line_t *o, const char *s, size_t n)
{
    if (o->len + n > o->cap)
        n = o->cap - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* Raw bytes of our own (keys, punctuation); all or nothing. */
static int put_raw(line_t *o, const char *s, size_t n)
{
    if (o->full || o->len + n > o->soft) {
        o->full = 1;
        return -1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    return 0;
}

static void put_str(line_t *o, const char *s) { put_raw(o, s, strlen(s)); }

/* len bytes of s escaped, at most budget bytes of them; a cut ends in the
 * mark. Returns 1 if it was cut. */
static int put_escaped(line_t *o, const char *s, size_t len, int mode,
                       size_t budget)
{
    if (o->full || o->len >= o->soft) {
        o->full = 1;
        return 1;
    }
    size_t end = o->len + budget < o->soft ? o->len + budget : o->soft;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        char rep[16];
        size_t used, n = escape_one(u + i, len - i, mode, rep, &used);
        if (o->len + n > end) {
            if (end == o->soft)
                o->full = 1;
            put_closing(o, LOG_CUT_MARK, sizeof LOG_CUT_MARK - 1);
            return 1;
        }
        memcpy(o->p + o->len, rep, n);
        o->len += n;
        i += used;
    }
    return 0;
}

size_t log_escape_text(const char *s, size_t len, char *out, size_t out_len)
{
    if (out_len == 0)
        return 0;
    size_t reserve = sizeof LOG_CUT_MARK; /* the mark and the NUL */
    line_t o = {out, 0, out_len - 1, out_len > reserve ? out_len - reserve : 0,
                0};
    put_escaped(&o, s, len, ESC_TEXT, (size_t)-1 / 2);
    out[o.len] = '\0';
    return o.len;
}

size_t log_escape_json(const char *s, size_t len, char *out, size_t out_len)
{
    if (out_len == 0)
        return 0;
    size_t reserve = sizeof LOG_CUT_MARK;
    line_t o = {out, 0, out_len - 1, out_len > reserve ? out_len - reserve : 0,
                0};
    put_escaped(&o, s, len, ESC_JSON, (size_t)-1 / 2);
    out[o.len] = '\0';
    return o.len;
}

/* ---- lines --------------------------------------------------------------- */

/* One key with a string value: json ,"key":"value"; text " key=value".
 * Returns 1 if the value was cut (it ends in the mark) or left out. */
static int put_field(line_t *o, const char *key, const char *value,
                     size_t len, size_t budget, int text_mode)
{
    if (o->full)
        return 1;
    size_t start = o->len;
    int cut;
    if (log_format == LOG_FORMAT_JSON) {
        if (put_raw(o, ",\"", 2) || put_raw(o, key, strlen(key)) ||
            put_raw(o, "\":\"", 3)) {
            o->len = start; /* no half key: the line ends before it */
            return 1;
        }
        cut = put_escaped(o, value, len, ESC_JSON, budget);
        put_closing(o, "\"", 1);
    } else {
        if (put_raw(o, " ", 1) || put_raw(o, key, strlen(key)) ||
            put_raw(o, "=", 1)) {
            o->len = start;
            return 1;
        }
        cut = put_escaped(o, value, len, text_mode, budget);
    }
    return cut;
}

static void put_opt(line_t *o, const char *key, const char *value)
{
    if (value && *value)
        put_field(o, key, value, strlen(value), BUDGET_FIELD, ESC_TEXT_FIELD);
}

/* One key with a number: json ,"key":12; text " key=12". */
static void put_num(line_t *o, const char *key, double value, int decimals)
{
    char num[48], head[112];
    snprintf(num, sizeof num, "%.*f", decimals < 0 ? 0 : decimals, value);
    if (log_format == LOG_FORMAT_JSON)
        snprintf(head, sizeof head, ",\"%.40s\":%s", key, num);
    else
        snprintf(head, sizeof head, " %.40s=%s", key, num);
    put_str(o, head);
}

static void put_job(line_t *o, const log_job_t *j)
{
    put_opt(o, "id", j->id);
    put_opt(o, "stream_id", j->stream_id);
    put_opt(o, "job", j->job);
    if (j->has_version)
        put_num(o, "v", j->version, 0);
    put_opt(o, "queue", j->queue);
    if (j->attempt)
        put_num(o, "attempt", j->attempt, 0);
    put_opt(o, "plugin", j->plugin);
    put_opt(o, "build_id", j->build_id);
    put_opt(o, "correlation_id", j->correlation_id);
    if (log_show_payloads && j->payload) {
        size_t n = j->payload_len;
        int cut = n > LOG_PAYLOAD_MAX;
        if (cut)
            n = LOG_PAYLOAD_MAX;
        if (log_format == LOG_FORMAT_JSON) {
            if (put_field(o, "payload", j->payload, n, BUDGET_PAYLOAD,
                          ESC_JSON) == 0 && cut) { /* the mark inside */
                o->len--;
                put_closing(o, LOG_CUT_MARK "\"", sizeof LOG_CUT_MARK);
            }
        } else {
            if (put_field(o, "payload", j->payload, n, BUDGET_PAYLOAD,
                          ESC_TEXT) == 0 && cut)
                put_closing(o, LOG_CUT_MARK, sizeof LOG_CUT_MARK - 1);
        }
    }
}

static int has_job_fields(const log_job_t *j)
{
    return j && ((j->id && *j->id) || (j->stream_id && *j->stream_id) ||
                 (j->job && *j->job));
}

static void remember_error(const char *module, const char *msg, size_t len)
{
    char head[128];
    size_t n = log_escape_text(module, strlen(module), head, sizeof head);
    pthread_mutex_lock(&last_error_lock);
    if (n + 2 < sizeof last_error) {
        memcpy(last_error, head, n);
        memcpy(last_error + n, ": ", 2);
        log_escape_text(msg, len, last_error + n + 2,
                        sizeof last_error - n - 2);
    }
    pthread_mutex_unlock(&last_error_lock);
}

static void emit(int level, const char *module, const log_job_t *job,
                 const log_num_t *nums, size_t n_nums, const char *fmt,
                 va_list ap)
{
    if (level > log_threshold)
        return;
    level = level < 0 ? 0 : level > 3 ? 3 : level;
    char msg[LOG_MSG_MAX];
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t msg_len = m < 0 ? 0 : (size_t)m;
    int msg_cut = msg_len >= sizeof msg;
    if (msg_cut)
        msg_len = sizeof msg - 1;
    if (module == NULL)
        module = "?";
    if (level == JOBRT_LOG_ERROR)
        remember_error(module, msg, msg_len);

    char buf[LOG_LINE_MAX];
    line_t o = {buf, 0, sizeof buf, sizeof buf - TAIL_RESERVE, 0};
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
    size_t tag_len = strlen(log_tag);
    if (log_format == LOG_FORMAT_JSON) {
        char head[112];
        snprintf(head, sizeof head, "{\"ts\":\"%s\",\"level\":\"%s\"", ts,
                 level_json[level]);
        put_str(&o, head);
        while (tag_len && log_tag[tag_len - 1] == ' ')
            tag_len--;
        if (tag_len)
            put_field(&o, "worker", log_tag, tag_len, BUDGET_FIELD,
                      ESC_JSON);
        put_field(&o, "module", module, strlen(module), BUDGET_FIELD,
                  ESC_JSON);
        if (job)
            put_job(&o, job);
        for (size_t i = 0; i < n_nums; i++)
            put_num(&o, nums[i].key, nums[i].value, nums[i].decimals);
        if (put_field(&o, "msg", msg, msg_len, BUDGET_MSG, ESC_JSON) == 0 &&
            msg_cut) {
            o.len--; /* the mark inside the string */
            put_closing(&o, LOG_CUT_MARK "\"", sizeof LOG_CUT_MARK);
        }
        put_closing(&o, "}\n", 2);
    } else {
        char head[96];
        snprintf(head, sizeof head, "%s %-5s ", ts, level_names[level]);
        put_str(&o, head);
        put_escaped(&o, log_tag, tag_len, ESC_TEXT, BUDGET_FIELD);
        put_escaped(&o, module, strlen(module), ESC_TEXT, BUDGET_FIELD);
        put_raw(&o, ": ", 2);
        if (put_escaped(&o, msg, msg_len, ESC_TEXT, BUDGET_MSG) == 0 &&
            msg_cut)
            put_closing(&o, LOG_CUT_MARK, sizeof LOG_CUT_MARK - 1);
        if (has_job_fields(job) && put_raw(&o, " [", 2) == 0) {
            size_t before = o.len;
            put_job(&o, job);
            if (o.len > before && o.p[before] == ' ') { /* "[id=" */
                memmove(o.p + before, o.p + before + 1, o.len - before - 1);
                o.len--;
            }
            put_closing(&o, "]", 1);
        }
        put_closing(&o, "\n", 1);
    }
    ssize_t w = write(STDERR_FILENO, buf, o.len);
    (void)w;
}

void log_vline(int level, const char *module, const char *fmt, va_list ap)
{
    emit(level, module, NULL, NULL, 0, fmt, ap);
}

void log_line(int level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, module, NULL, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_vjob(int level, const char *module, const log_job_t *job,
              const char *fmt, va_list ap)
{
    emit(level, module, job, NULL, 0, fmt, ap);
}

void log_job(int level, const char *module, const log_job_t *job,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, module, job, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_nums(int level, const char *module, const log_num_t *nums, size_t n,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, module, NULL, log_format == LOG_FORMAT_JSON ? nums : NULL,
         log_format == LOG_FORMAT_JSON ? n : 0, fmt, ap);
    va_end(ap);
}
