/*
 * json_check.c - a single-pass JSON validator. Iterative (an explicit stack
 * of container kinds, bounded by max_depth), so hostile nesting cannot
 * overflow the C stack.
 */
#include "core/json_check.h"

#include "core/util.h"

#include <stdint.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *end;
    const char *why;
} scan_t;

static int fail(scan_t *s, const char *why)
{
    if (s->why == NULL)
        s->why = why;
    return -1;
}

static void skip_ws(scan_t *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Validates one UTF-8 sequence starting at s->p (first byte >= 0x80). */
static int utf8_seq(scan_t *s)
{
    size_t n = utf8_seq_len((const char *)s->p, (size_t)(s->end - s->p));
    if (n == 0)
        return fail(s, "invalid UTF-8");
    s->p += n;
    return 0;
}

static int hex4(scan_t *s, unsigned *out)
{
    if (s->end - s->p < 4)
        return fail(s, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return fail(s, "bad \\u escape");
    }
    s->p += 4;
    *out = v;
    return 0;
}

static int string(scan_t *s)
{
    s->p++; /* opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return fail(s, "control character in string");
        if (c == '\\') {
            s->p++;
            if (s->p >= s->end)
                return fail(s, "unterminated string");
            c = *s->p++;
            if (c == 'u') {
                unsigned u;
                if (hex4(s, &u) != 0)
                    return -1;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return fail(s, "lone surrogate escape");
                if (u >= 0xd800 && u <= 0xdbff) {
                    unsigned lo;
                    if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                        return fail(s, "lone surrogate escape");
                    s->p += 2;
                    if (hex4(s, &lo) != 0)
                        return -1;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return fail(s, "lone surrogate escape");
                }
            } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
                return fail(s, "bad escape in string");
            }
        } else if (c >= 0x80) {
            if (utf8_seq(s) != 0)
                return -1;
        } else {
            s->p++;
        }
    }
    return fail(s, "unterminated string");
}

static int digits(scan_t *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : fail(s, "bad number");
}

static int number(scan_t *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0') {
        s->p++;
    } else if (digits(s) != 0) {
        return -1;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) != 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) != 0)
            return -1;
    }
    return 0;
}

static int literal(scan_t *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    return 0;
}

/* Scans a scalar, or opens a container (pushing its kind). */
static int value_start(scan_t *s, char *stack, int *depth, int max_depth)
{
    if (s->p >= s->end)
        return fail(s, "unexpected end of input");
    switch (*s->p) {
    case '{':
    case '[':
        if (*depth >= max_depth)
            return fail(s, "nesting too deep");
        stack[(*depth)++] = (char)*s->p++;
        return 1; /* container opened */
    case '"':
        return string(s);
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return fail(s, *s->p >= 0x80 ? "invalid UTF-8 or non-JSON byte"
                                     : "unexpected character");
    }
}

int json_check(const char *text, size_t len, int max_depth, const char **why)
{
    char stack[256];
    int depth = 0;
    if (max_depth <= 0 || max_depth > (int)sizeof stack)
        max_depth = (int)sizeof stack;
    scan_t s = {(const unsigned char *)text, (const unsigned char *)text + len,
                NULL};
    int r;

    skip_ws(&s);
    r = value_start(&s, stack, &depth, max_depth);
    if (r < 0)
        goto bad;
    /* After a container opens (r == 1) we expect its first member or its
     * close; after a complete value we expect ',' or a close. */
    int want_first = r == 1;
    while (depth > 0) {
        char kind = stack[depth - 1];
        skip_ws(&s);
        if (s.p >= s.end) {
            fail(&s, "unexpected end of input");
            goto bad;
        }
        char close = kind == '{' ? '}' : ']';
        if (*s.p == close) {
            s.p++;
            depth--;
            want_first = 0;
            continue;
        }
        if (!want_first) {
            if (*s.p != ',') {
                fail(&s, "expected ',' or closing bracket");
                goto bad;
            }
            s.p++;
            skip_ws(&s);
        }
        if (kind == '{') {
            if (s.p >= s.end || *s.p != '"') {
                fail(&s, "expected object key");
                goto bad;
            }
            if (string(&s) != 0)
                goto bad;
            skip_ws(&s);
            if (s.p >= s.end || *s.p != ':') {
                fail(&s, "expected ':'");
                goto bad;
            }
            s.p++;
            skip_ws(&s);
        }
        r = value_start(&s, stack, &depth, max_depth);
        if (r < 0)
            goto bad;
        want_first = r == 1;
    }
    skip_ws(&s);
    if (s.p != s.end) {
        fail(&s, "trailing characters after JSON value");
        goto bad;
    }
    return 0;
bad:
    if (why)
        *why = s.why ? s.why : "invalid JSON";
    return -1;
}

/* Skips one value of validated JSON starting at *p; returns its end. */
static const char *skip_value(const char *p, const char *end)
{
    if (*p == '"') {
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\')
                p++;
        return p < end ? p + 1 : end;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                p = skip_value(p, end) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return end;
    }
    while (p < end && !strchr(",}] \t\r\n", *p))
        p++;
    return p;
}

static const char *skip_ws_raw(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

int json_member_span(const char *s, size_t len, const char *key,
                     const char **val, size_t *val_len)
{
    const char *p = s, *end = s + len;
    size_t klen = strlen(key);
    p = skip_ws_raw(p, end);
    if (p >= end || *p != '{')
        return -1;
    p++;
    for (;;) {
        p = skip_ws_raw(p, end);
        if (p >= end || *p != '"')
            return -1;
        const char *k = p + 1;
        p = skip_value(p, end);
        size_t this_len = (size_t)(p - 1 - k);
        p = skip_ws_raw(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_ws_raw(p + 1, end);
        if (p >= end)
            return -1;
        const char *v = p;
        p = skip_value(p, end);
        if (this_len == klen && memcmp(k, key, klen) == 0) {
            *val = v;
            *val_len = (size_t)(p - v);
            return 0;
        }
        p = skip_ws_raw(p, end);
        if (p >= end || *p != ',')
            return -1;
        p++;
    }
}
