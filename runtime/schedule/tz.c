/*
 * tz.c - TZif v2+ reader and POSIX TZ rule evaluator (see tz.h). The file
 * is untrusted input: every count and offset is checked against its length
 * before use, and anything inconsistent is refused with a one-line error.
 */
#include "schedule/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

#define TZ_MAX_FILE (1u << 20)

typedef struct {
    int kind; /* 'J': Jn, 'D': n (zero-based), 'M': Mm.w.d */
    int m, w, d, n;
    int32_t time; /* seconds after local midnight */
} rule_date_t;

typedef struct {
    int std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    rule_date_t start, end;
} posix_rule_t;

struct jobrt_tz_s {
    char *name;
    size_t n_trans, n_types;
    int64_t *trans;
    uint8_t *idx;
    int32_t *type_off;
    uint8_t *type_dst;
    int has_rule;
    posix_rule_t rule;
};

/* ---- calendar ---- */

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    return util_days_from_civil(y, m, d);
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* ---- POSIX TZ strings ---- */

static const char *parse_name(const char *s)
{
    const char *p = s;
    if (*p == '<') {
        while (*++p && *p != '>')
            ;
        if (*p != '>' || p - s < 4)
            return NULL;
        return p + 1;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]], hh up to max_h. */
static const char *parse_hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (*p < '0' || *p > '9')
            return NULL;
        int n = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            n = n * 10 + (*p++ - '0');
            digits++;
        }
        v[i] = n;
    }
    if (v[0] > max_h || v[1] > 59 || v[2] > 59)
        return NULL;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *parse_num(const char *p, int lo, int hi, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p++ - '0');
        if (n > hi)
            return NULL;
    }
    if (n < lo)
        return NULL;
    *out = n;
    return p;
}

static const char *parse_date(const char *p, rule_date_t *r)
{
    if (*p == 'J') {
        r->kind = 'J';
        p = parse_num(p + 1, 1, 365, &r->n);
    } else if (*p == 'M') {
        r->kind = 'M';
        if (!(p = parse_num(p + 1, 1, 12, &r->m)) || *p++ != '.' ||
            !(p = parse_num(p, 1, 5, &r->w)) || *p++ != '.' ||
            !(p = parse_num(p, 0, 6, &r->d)))
            return NULL;
    } else {
        r->kind = 'D';
        p = parse_num(p, 0, 365, &r->n);
    }
    if (!p)
        return NULL;
    r->time = 7200;
    if (*p == '/')
        p = parse_hms(p + 1, 167, &r->time);
    return p;
}

static int parse_posix(const char *s, posix_rule_t *r)
{
    int32_t off;
    memset(r, 0, sizeof *r);
    const char *p = parse_name(s);
    if (!p || !(p = parse_hms(p, 24, &off)))
        return -1;
    r->std_off = -off;
    r->dst_off = r->std_off;
    if (*p == '\0')
        return 0;
    if (!(p = parse_name(p)))
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, 24, &off)))
            return -1;
        r->dst_off = -off;
    }
    if (*p != ',') /* no rules: POSIX leaves it undefined; refuse */
        return -1;
    if (!(p = parse_date(p + 1, &r->start)) || *p++ != ',' ||
        !(p = parse_date(p, &r->end)) || *p != '\0')
        return -1;
    return 0;
}

/* Local (wall) seconds since the epoch at which date r happens in year y. */
static int64_t rule_local(const rule_date_t *r, int64_t y)
{
    int64_t day = tz_days_from_civil(y, 1, 1);
    if (r->kind == 'J')
        day += r->n - 1 + (is_leap(y) && r->n >= 60);
    else if (r->kind == 'D')
        day += r->n;
    else {
        int64_t first = tz_days_from_civil(y, r->m, 1);
        int wd = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 Thursday */
        int dd = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
        while (dd > mdays(y, r->m))
            dd -= 7;
        day = first + dd - 1;
    }
    return day * 86400 + r->time;
}

static void rule_bounds(const posix_rule_t *r, int64_t y, int64_t *start,
                        int64_t *end)
{
    *start = rule_local(&r->start, y) - r->std_off;
    *end = rule_local(&r->end, y) - r->dst_off;
}

static int rule_offset(const posix_rule_t *r, int64_t t, int *is_dst)
{
    int dst = 0;
    if (r->has_dst) {
        int64_t y, s, e;
        int m, d;
        tz_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
        rule_bounds(r, y, &s, &e);
        dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    }
    if (is_dst)
        *is_dst = dst;
    return dst ? r->dst_off : r->std_off;
}

/* ---- lookups ---- */

/* Index of the last transition <= t, or -1. */
static ptrdiff_t find_trans(const jobrt_tz_t *tz, int64_t t)
{
    size_t lo = 0, hi = tz->n_trans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

static int uses_rule(const jobrt_tz_t *tz, int64_t t)
{
    return tz->has_rule &&
           (tz->n_trans == 0 || t >= tz->trans[tz->n_trans - 1]);
}

int tz_offset(const jobrt_tz_t *tz, int64_t t, int *is_dst)
{
    if (is_dst)
        *is_dst = 0;
    if (!tz)
        return 0;
    if (uses_rule(tz, t))
        return rule_offset(&tz->rule, t, is_dst);
    ptrdiff_t i = find_trans(tz, t);
    size_t ty = i < 0 ? 0 : tz->idx[i];
    if (is_dst)
        *is_dst = tz->type_dst[ty];
    return tz->type_off[ty];
}

/* Smallest candidate transition instant > t, or INT64_MAX. */
static int64_t raw_next(const jobrt_tz_t *tz, int64_t t)
{
    ptrdiff_t i = find_trans(tz, t);
    if ((size_t)(i + 1) < tz->n_trans)
        return tz->trans[i + 1];
    if (!tz->has_rule || !tz->rule.has_dst)
        return INT64_MAX;
    int64_t best = INT64_MAX, y, s, e;
    int m, d;
    tz_civil_from_days(floor_div(t, 86400), &y, &m, &d);
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        rule_bounds(&tz->rule, yy, &s, &e);
        if (s > t && s < best)
            best = s;
        if (e > t && e < best)
            best = e;
    }
    return best;
}

/* Largest candidate transition instant <= t, or INT64_MIN. */
static int64_t raw_prev(const jobrt_tz_t *tz, int64_t t)
{
    ptrdiff_t i = find_trans(tz, t);
    int64_t best = i >= 0 ? tz->trans[i] : INT64_MIN;
    if (uses_rule(tz, t) && tz->rule.has_dst) {
        int64_t y, s, e, floor_t = best;
        int m, d;
        tz_civil_from_days(floor_div(t, 86400), &y, &m, &d);
        for (int64_t yy = y - 1; yy <= y + 1; yy++) {
            rule_bounds(&tz->rule, yy, &s, &e);
            if (s <= t && s > best && s >= floor_t)
                best = s;
            if (e <= t && e > best && e >= floor_t)
                best = e;
        }
    }
    return best;
}

void tz_period(const jobrt_tz_t *tz, int64_t t, tz_period_t *p)
{
    p->offset = tz_offset(tz, t, NULL);
    p->prev_offset = p->offset;
    p->start = INT64_MIN;
    p->end = INT64_MAX;
    if (!tz)
        return;
    int64_t c = t;
    for (int guard = 0; guard < 1000; guard++) {
        c = raw_next(tz, c);
        if (c == INT64_MAX || tz_offset(tz, c, NULL) != p->offset) {
            p->end = c;
            break;
        }
    }
    c = t;
    for (int guard = 0; guard < 1000; guard++) {
        c = raw_prev(tz, c);
        if (c == INT64_MIN)
            break;
        int before = tz_offset(tz, c - 1, NULL);
        if (before != p->offset) {
            p->start = c;
            p->prev_offset = before;
            break;
        }
        c--;
    }
}

const char *tz_name(const jobrt_tz_t *tz) { return tz ? tz->name : "UTC"; }

void tz_free(jobrt_tz_t *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->type_off);
    free(tz->type_dst);
    free(tz);
}

/* ---- loading ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct {
    uint32_t isut, isstd, leap, time, type, chr;
} counts_t;

static int read_header(const unsigned char *p, size_t len, counts_t *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chr = be32(p + 40);
    /* each at most 1 MiB worth, so the sums below cannot overflow */
    if (c->isut > TZ_MAX_FILE || c->isstd > TZ_MAX_FILE ||
        c->leap > TZ_MAX_FILE || c->time > TZ_MAX_FILE ||
        c->type > TZ_MAX_FILE || c->chr > TZ_MAX_FILE)
        return -1;
    return 0;
}

static size_t block_len(const counts_t *c, size_t tsize)
{
    return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chr +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static const char *parse_tzif(jobrt_tz_t *tz, const unsigned char *buf,
                              size_t len)
{
    counts_t c;
    if (read_header(buf, len, &c) != 0)
        return "not a TZif file (bad header)";
    if (buf[4] < '2')
        return "TZif version 1 is not supported (no 64-bit data)";
    size_t v1 = 44 + block_len(&c, 4);
    if (v1 > len)
        return "truncated (version 1 data)";
    const unsigned char *p = buf + v1;
    size_t rest = len - v1;
    if (read_header(p, rest, &c) != 0)
        return "bad second (64-bit) header";
    size_t blen = block_len(&c, 8);
    if (44 + blen > rest)
        return "truncated (64-bit data)";
    if (c.type == 0 || c.type > 256 || c.chr == 0)
        return "bad type or abbreviation count";
    if (c.leap != 0)
        return "leap-second zones are not supported";
    if ((c.isstd != 0 && c.isstd != c.type) ||
        (c.isut != 0 && c.isut != c.type))
        return "bad indicator counts";
    p += 44;
    tz->n_trans = c.time;
    tz->n_types = c.type;
    tz->trans = malloc(sizeof *tz->trans * (c.time ? c.time : 1));
    tz->idx = malloc(c.time ? c.time : 1);
    tz->type_off = malloc(sizeof *tz->type_off * c.type);
    tz->type_dst = malloc(c.type);
    if (!tz->trans || !tz->idx || !tz->type_off || !tz->type_dst)
        return "out of memory";
    for (size_t i = 0; i < c.time; i++) {
        tz->trans[i] = be64(p + i * 8);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return "transition times are not ascending";
    }
    p += (size_t)c.time * 8;
    for (size_t i = 0; i < c.time; i++) {
        if (p[i] >= c.type)
            return "transition names a type that does not exist";
        tz->idx[i] = p[i];
    }
    p += c.time;
    for (size_t i = 0; i < c.type; i++) {
        int32_t off = (int32_t)be32(p + i * 6);
        if (off < -89999 || off > 93599 || p[i * 6 + 4] > 1 ||
            p[i * 6 + 5] >= c.chr)
            return "bad local time type";
        tz->type_off[i] = off;
        tz->type_dst[i] = p[i * 6 + 4];
    }
    /* footer: "\n<POSIX TZ>\n" */
    const unsigned char *f = buf + v1 + 44 + blen;
    size_t flen = len - (size_t)(f - buf);
    if (flen < 2 || f[0] != '\n')
        return "missing footer";
    const unsigned char *nl = memchr(f + 1, '\n', flen - 1);
    if (!nl || nl - f - 1 >= 128)
        return "bad footer";
    char s[128];
    memcpy(s, f + 1, (size_t)(nl - f - 1));
    s[nl - f - 1] = '\0';
    if (s[0] != '\0') {
        if (parse_posix(s, &tz->rule) != 0)
            return "footer TZ rule cannot be parsed";
        tz->has_rule = 1;
    }
    return NULL;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' ||
              ch == '-' || ch == '/'))
            return 0;
    }
    return 1;
}

jobrt_tz_t *tz_load_dir(const char *dir, const char *name, char *err,
                        size_t err_len)
{
    char path[4096];
    unsigned char *buf = NULL;
    jobrt_tz_t *tz = NULL;
    int fd = -1;
    if (!dir || !*dir)
        dir = getenv("JOBRT_ZONEINFO_DIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    if (!name || !name_ok(name)) {
        snprintf(err, err_len,
                 "time zone '%.64s': bad name (letters, digits, _+-/ only,"
                 " no '..', no leading '/')",
                 name ? name : "(null)");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, err_len, "time zone '%s': %s: %s", name, path,
                 strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > TZ_MAX_FILE) {
        snprintf(err, err_len, "time zone '%s': %s: not a regular file"
                 " of at most 1 MiB", name, path);
        goto fail;
    }
    size_t len = (size_t)st.st_size, got = 0;
    buf = malloc(len ? len : 1);
    tz = calloc(1, sizeof *tz);
    if (!buf || !tz || !(tz->name = strdup(name))) {
        snprintf(err, err_len, "time zone '%s': out of memory", name);
        goto fail;
    }
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r <= 0) {
            snprintf(err, err_len, "time zone '%s': %s: short read", name,
                     path);
            goto fail;
        }
        got += (size_t)r;
    }
    const char *why = parse_tzif(tz, buf, len);
    if (why) {
        snprintf(err, err_len, "time zone '%s': %s: %s", name, path, why);
        goto fail;
    }
    close(fd);
    free(buf);
    return tz;
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    tz_free(tz);
    return NULL;
}

jobrt_tz_t *tz_load(const char *name, char *err, size_t err_len)
{
    return tz_load_dir(NULL, name, err, err_len);
}
