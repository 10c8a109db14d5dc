/*
 * util.h - small helpers shared by runtime modules: clocks, strict integer
 * parsing, a growable byte buffer.
 */
#ifndef JOBRT_UTIL_H
#define JOBRT_UTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t util_now_ms(void);  /* wall clock, ms since the Unix epoch */
int64_t util_mono_ms(void); /* monotonic clock, ms */
int64_t util_mono_us(void); /* monotonic clock, microseconds */

/* Strict decimal: digits only, no sign, no spaces, no leading zeros unless
 * the value is 0, value <= max. Returns 0 or -1. */
/* Copies NUL-terminated src into dst[size], truncating (size > 0). The
 * per-job copies use it instead of snprintf("%s"). */
void util_copy_str(char *dst, size_t size, const char *src);
int util_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/* Writes a one-line reason (printf-style) into why[why_len] and returns
 * -1: the way validators say why they refuse something. */
int util_fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Durations: "250ms", "30s", "5m", "2h", "7d", or bare seconds. */
int util_parse_duration_ms(const char *s, int64_t *out_ms);
/* ms as the shortest exact "7d", "90s", "1500ms" (what the parser takes). */
void util_format_duration(int64_t ms, char *out, size_t out_len);

/* A growable buffer; memory is kept across resets for reuse. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
int buf_appendf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Length of the valid UTF-8 sequence at p (1 for ASCII), or 0 if the
 * bytes there are not valid UTF-8. */
size_t utf8_seq_len(const char *p, size_t avail);
/* The same, and the code point it encodes into *code_point. */
size_t utf8_decode(const char *p, size_t avail, uint32_t *code_point);
/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
void utf8_truncate(char *s, size_t max);

/* "SIGSEGV (Segmentation fault)", or "signal 77" for one without a name. */
void util_signal_text(int sig, char *out, size_t out_len);

/* Appends p[0..n) for a human to read on one line: printable ASCII as
 * is, every other byte, and every byte in `also` (may be NULL), as \xNN.
 * With max > 0 the result is cut to at most max columns, ending in "...".
 * Returns 0, or -1 when out of memory. */
int buf_append_escaped(buf_t *b, const char *p, size_t n, size_t max,
                       const char *also);

/* Append s as a JSON string literal (quotes and escapes included); bytes
 * that are not valid UTF-8 become U+FFFD, so the result is valid JSON. */
int buf_append_json_str(buf_t *b, const char *s, size_t n);
void buf_reset(buf_t *b);
void buf_free(buf_t *b);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (negative before 1970); m 1-12, d 1-31. */
int64_t util_days_from_civil(int64_t y, int m, int d);

#endif
