/*
 * cron.c - cron expression parser and next-fire search (see cron.h for
 * the syntax and the DST rules).
 */
#include "schedule/cron.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *name;
    int lo, hi;
    const char *const *names; /* 3-letter names for lo.. or NULL */
} field_t;

static const char *const MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY",
                                     "JUN", "JUL", "AUG", "SEP", "OCT",
                                     "NOV", "DEC", NULL};
static const char *const DAYS[] = {"SUN", "MON", "TUE", "WED",
                                   "THU", "FRI", "SAT", NULL};

static const field_t FIELDS[6] = {
    {"second", 0, 59, NULL},      {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},        {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, MONTHS},     {"day-of-week", 0, 7, DAYS},
};

/* Parses a value at *p (digits or a name); -1 if none. */
static int parse_value(const field_t *f, const char **p)
{
    const char *s = *p;
    if (*s >= '0' && *s <= '9') {
        int n = 0, k = 0;
        while (*s >= '0' && *s <= '9' && k < 4) {
            n = n * 10 + (*s++ - '0');
            k++;
        }
        if (*s >= '0' && *s <= '9')
            return -2; /* too many digits: out of range */
        *p = s;
        return n;
    }
    if (f->names) {
        for (int i = 0; f->names[i]; i++)
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *p = s + 3;
                return i + (f == &FIELDS[4] ? 1 : 0);
            }
    }
    return -1;
}

static int parse_item(const field_t *f, const char *item, size_t len,
                      uint64_t *mask, char *why, size_t why_len)
{
    char tok[CRON_MAX_LEN + 1];
    memcpy(tok, item, len);
    tok[len] = '\0';
    if (len == 0) {
        snprintf(why, why_len, "empty list item");
        return -1;
    }
    const char *p = tok;
    int a, b, step = 1;
    if (*p == '*') {
        a = f->lo;
        b = f->hi;
        p++;
    } else {
        a = parse_value(f, &p);
        if (a == -1)
            goto bad;
        b = a;
        if (*p == '-') {
            p++;
            b = parse_value(f, &p);
            if (b == -1)
                goto bad;
        }
        if (a < f->lo || a > f->hi || b < f->lo || b > f->hi) {
            snprintf(why, why_len, "'%s': value out of range %d-%d", tok,
                     f->lo, f->hi);
            return -1;
        }
        if (a > b) {
            snprintf(why, why_len, "'%s': range is reversed", tok);
            return -1;
        }
    }
    if (*p == '/') {
        p++;
        if (*tok != '*' && !strchr(tok, '-'))
            b = f->hi; /* a/n: from a to the max */
        const char *q = p;
        step = parse_value(&FIELDS[0], &q);
        if (step < 0 || q == p || !(*p >= '0' && *p <= '9'))
            goto bad;
        p = q;
        if (step == 0) {
            snprintf(why, why_len, "'%s': step 0 is not allowed", tok);
            return -1;
        }
        if (step > f->hi - f->lo + 1) {
            snprintf(why, why_len, "'%s': step %d out of range 1-%d", tok,
                     step, f->hi - f->lo + 1);
            return -1;
        }
    }
    if (*p != '\0')
        goto bad;
    for (int v = a; v <= b; v += step)
        *mask |= 1ull << v;
    return 0;
bad:
    snprintf(why, why_len, "'%s': bad token", tok);
    return -1;
}

static int parse_field(const field_t *f, const char *s, size_t len,
                       uint64_t *mask, char *why, size_t why_len)
{
    *mask = 0;
    const char *end = s + len;
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        if (parse_item(f, s, (size_t)(e - s), mask, why, why_len) != 0)
            return -1;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

int cron_parse(const char *expr, cron_expr_t *out, char *err,
               size_t err_len)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(expr);
    if (n > CRON_MAX_LEN) {
        snprintf(err, err_len, "cron expression is too long (%zu bytes,"
                 " at most %d)", n, CRON_MAX_LEN);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)expr[i] < 0x20 && expr[i] != '\t') {
            snprintf(err, err_len, "cron expression has a control"
                     " character at byte %zu", i);
            return -1;
        } else if ((unsigned char)expr[i] >= 0x7f) {
            snprintf(err, err_len, "cron expression has a non-ASCII"
                     " byte at byte %zu", i);
            return -1;
        }
    const char *tok[7];
    size_t tlen[7];
    int nf = 0;
    for (const char *p = expr; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (nf < 7) {
            tok[nf] = s;
            tlen[nf] = (size_t)(p - s);
        }
        nf++;
    }
    if (nf != 5 && nf != 6) {
        snprintf(err, err_len, "cron expression '%s': %d fields, expected"
                 " 5 or 6", expr, nf);
        return -1;
    }
    uint64_t m[6];
    int first = nf == 6 ? 0 : 1;
    if (nf == 5)
        m[0] = 1; /* second 0 */
    for (int i = first; i < 6; i++) {
        char why[CRON_MAX_LEN + 64];
        const char *t = tok[i - first];
        size_t l = tlen[i - first];
        if (parse_field(&FIELDS[i], t, l, &m[i], why, sizeof why) != 0) {
            snprintf(err, err_len, "cron expression '%s': %s field: %s",
                     expr, FIELDS[i].name, why);
            return -1;
        }
        if (i == 3 && *t == '*')
            out->flags |= CRON_DOM_STAR;
        if (i == 5 && *t == '*')
            out->flags |= CRON_DOW_STAR;
    }
    if (m[5] & (1ull << 7))
        m[5] = (m[5] | 1) & 0x7f;
    out->sec = m[0];
    out->min = m[1];
    out->hour = (uint32_t)m[2];
    out->dom = (uint32_t)m[3];
    out->mon = (uint16_t)m[4];
    out->dow = (uint8_t)m[5];
    return 0;
}

/* ---- next fire ---- */

static int day_matches(const cron_expr_t *c, int64_t days, int mday)
{
    int wd = (int)(((days % 7) + 7 + 4) % 7);
    int dom = (c->dom >> mday) & 1, dow = (c->dow >> wd) & 1;
    if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
        return dom && dow;
    return dom || dow;
}

static int next_bit(uint64_t mask, int from, int max)
{
    for (int v = from; v <= max; v++)
        if ((mask >> v) & 1)
            return v;
    return -1;
}

/* Smallest matching wall time w with lo <= w < hi (local seconds), or
 * INT64_MAX. */
static int64_t wall_next(const cron_expr_t *c, int64_t lo, int64_t hi)
{
    int64_t w = lo;
    while (w < hi) {
        int64_t days = w >= 0 ? w / 86400 : (w - 86399) / 86400;
        int64_t sod = w - days * 86400, y;
        int mo, d;
        tz_civil_from_days(days, &y, &mo, &d);
        if (!((c->mon >> mo) & 1)) {
            w = (mo == 12 ? tz_days_from_civil(y + 1, 1, 1)
                          : tz_days_from_civil(y, mo + 1, 1)) * 86400;
            continue;
        }
        if (!day_matches(c, days, d)) {
            w = (days + 1) * 86400;
            continue;
        }
        int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60),
            s = (int)(sod % 60);
        int nh = next_bit(c->hour, h, 23);
        if (nh < 0) {
            w = (days + 1) * 86400;
            continue;
        }
        if (nh != h) {
            w = days * 86400 + nh * 3600;
            continue;
        }
        int nm = next_bit(c->min, mi, 59);
        if (nm < 0) {
            w = days * 86400 + (h + 1) * 3600;
            continue;
        }
        if (nm != mi) {
            w = days * 86400 + h * 3600 + nm * 60;
            continue;
        }
        int ns = next_bit(c->sec, s, 59);
        if (ns < 0) {
            w = days * 86400 + h * 3600 + (mi + 1) * 60;
            continue;
        }
        w = days * 86400 + h * 3600 + mi * 60 + ns;
        return w < hi ? w : INT64_MAX;
    }
    return INT64_MAX;
}

int64_t cron_next(const cron_expr_t *c, const jobrt_tz_t *tz,
                  int64_t after_ms)
{
    int64_t t = (after_ms >= 0 ? after_ms / 1000
                               : (after_ms - 999) / 1000) + 1;
    int64_t limit = t + (int64_t)5 * 366 * 86400;
    int all_hours = c->hour == 0xffffff;
    while (t <= limit) {
        tz_period_t p;
        tz_period(tz, t, &p);
        /* a gap just before t: fire at t if a skipped wall time matches */
        if (t == p.start && p.offset > p.prev_offset &&
            wall_next(c, p.start + p.prev_offset, p.start + p.offset) !=
                INT64_MAX)
            return t * 1000;
        int64_t lo = t + p.offset;
        int64_t hi = p.end == INT64_MAX ? limit + p.offset + 1
                                        : p.end + p.offset;
        /* a repeat at the start of this period: its wall times already
         * happened in the previous one */
        if (!all_hours && p.start != INT64_MIN &&
            p.offset < p.prev_offset && lo < p.start + p.prev_offset)
            lo = p.start + p.prev_offset;
        int64_t w = lo < hi ? wall_next(c, lo, hi) : INT64_MAX;
        if (w != INT64_MAX) {
            int64_t u = w - p.offset;
            return u <= limit ? u * 1000 : -1;
        }
        if (p.end == INT64_MAX)
            return -1;
        t = p.end;
    }
    return -1;
}
