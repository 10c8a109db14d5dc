/*
 * util.c - clocks, strict number and duration parsing, growable buffers.
 */
#define _GNU_SOURCE /* sigabbrev_np, sigdescr_np */
#include "core/util.h"

#include <signal.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void util_copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int util_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int util_fail(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return -1;
}

int util_parse_duration_ms(const char *s, int64_t *out_ms)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    if (util_parse_u64(s, digits, (uint64_t)INT64_MAX / 86400000, &v) != 0)
        return -1;
    const char *unit = s + digits;
    int64_t mult;
    if (*unit == '\0' || strcmp(unit, "s") == 0)
        mult = 1000;
    else if (strcmp(unit, "ms") == 0)
        mult = 1;
    else if (strcmp(unit, "m") == 0)
        mult = 60000;
    else if (strcmp(unit, "h") == 0)
        mult = 3600000;
    else if (strcmp(unit, "d") == 0)
        mult = 86400000;
    else
        return -1;
    *out_ms = (int64_t)v * mult;
    return 0;
}

int buf_reserve(buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_appendf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

size_t utf8_decode(const char *p, size_t avail, uint32_t *code_point)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned c = u[0], need;
    uint32_t cp;
    if (c < 0x80) {
        *code_point = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail <= need)
        return 0;
    for (unsigned i = 1; i <= need; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (u[i] & 0x3f);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *code_point = cp;
    return need + 1;
}

size_t utf8_seq_len(const char *p, size_t avail)
{
    uint32_t cp;
    return utf8_decode(p, avail, &cp);
}

void utf8_truncate(char *s, size_t max)
{
    size_t n = strlen(s), i = 0;
    while (i < n && i < max) {
        size_t k = utf8_seq_len(s + i, n - i);
        if (k == 0)
            k = 1;
        if (i + k > max)
            break;
        i += k;
    }
    s[i] = '\0';
}

int buf_append_json_str(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (buf_reserve(b, n + 2) != 0 || buf_append(b, "\"", 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            if (buf_append(b, esc, 2) != 0)
                return -1;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            if (buf_append(b, esc, 6) != 0)
                return -1;
        } else if (c < 0x80) {
            if (buf_append(b, &s[i], 1) != 0)
                return -1;
        } else {
            size_t n_seq = utf8_seq_len(s + i, n - i);
            if (n_seq == 0) { /* invalid byte: replacement character */
                if (buf_append(b, "\\ufffd", 6) != 0)
                    return -1;
            } else {
                if (buf_append(b, s + i, n_seq) != 0)
                    return -1;
                i += n_seq - 1;
            }
        }
    }
    return buf_append(b, "\"", 1);
}

static size_t esc_width(unsigned char c, const char *also)
{
    return c >= 0x20 && c < 0x7f && !(also && c && strchr(also, c)) ? 1 : 4;
}

int buf_append_escaped(buf_t *b, const char *p, size_t n, size_t max,
                       const char *also)
{
    static const char hex[] = "0123456789abcdef";
    size_t total = 0, limit = (size_t)-1, used = 0;
    for (size_t i = 0; i < n && (max == 0 || total <= max); i++)
        total += esc_width((unsigned char)p[i], also);
    int cut = max > 0 && total > max;
    if (cut)
        limit = max > 3 ? max - 3 : 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        size_t w = esc_width(c, also);
        if (used + w > limit)
            break;
        char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        if (buf_append(b, w == 1 ? (const char *)&p[i] : e, w) != 0)
            return -1;
        used += w;
    }
    return cut ? buf_append(b, "...", 3) : 0;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void util_format_duration(int64_t ms, char *out, size_t out_len)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"},
                 {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms > 0 && ms % units[i].ms == 0) {
            snprintf(out, out_len, "%lld%s", (long long)(ms / units[i].ms),
                     units[i].unit);
            return;
        }
    snprintf(out, out_len, "%lldms", (long long)ms);
}

void util_signal_text(int sig, char *out, size_t out_len)
{
    const char *abbrev = sigabbrev_np(sig);
    const char *descr = sigdescr_np(sig);
    if (abbrev)
        snprintf(out, out_len, "SIG%s (%s)", abbrev, descr ? descr : "?");
    else
        snprintf(out, out_len, "signal %d", sig);
}

int64_t util_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
