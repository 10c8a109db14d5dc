/*
 * test_tz.c - the TZif reader: offsets against glibc's localtime_r (TZ is
 * set in this test process only) over 2020-2035 for several zones, bad
 * names, and truncated or corrupted files, which must be refused.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schedule/tz.h"

static void check_zone(const char *name)
{
    char err[256];
    jobrt_tz_t *tz = tz_load(name, err, sizeof err);
    cr_assert(tz, "%s", err);
    setenv("TZ", name, 1);
    tzset();
    int n = 0;
    /* 2020-01-01 .. 2036-01-01, every 1h37m, plus around each change */
    for (int64_t t = 1577836800; t < 2082758400; t += 5820) {
        struct tm tm;
        time_t tt = (time_t)t;
        localtime_r(&tt, &tm);
        int dst;
        int off = tz_offset(tz, t, &dst);
        cr_assert_eq(off, tm.tm_gmtoff, "%s at %lld: %d vs %ld", name,
                     (long long)t, off, tm.tm_gmtoff);
        cr_assert_eq(dst, tm.tm_isdst > 0, "%s at %lld dst", name,
                     (long long)t);
        tz_period_t p;
        tz_period(tz, t, &p);
        cr_assert(p.start <= t && t < p.end);
        if (p.end != INT64_MAX) {
            cr_assert_neq(tz_offset(tz, p.end, NULL), p.offset);
            cr_assert_eq(tz_offset(tz, p.end - 1, NULL), p.offset);
            n++;
        }
    }
    (void)n;
    tz_free(tz);
}

Test(tz, offsets_match_glibc)
{
    check_zone("Europe/Berlin");
    check_zone("America/New_York");
    check_zone("Australia/Lord_Howe");
    check_zone("Asia/Kolkata");
    check_zone("UTC");
}

Test(tz, known_values)
{
    char err[256];
    jobrt_tz_t *tz = tz_load("Europe/Berlin", err, sizeof err);
    cr_assert(tz, "%s", err);
    int dst;
    cr_assert_eq(tz_offset(tz, 1711846799, &dst), 3600); /* 2024-03-31 */
    cr_assert_eq(dst, 0);
    cr_assert_eq(tz_offset(tz, 1711846800, &dst), 7200);
    cr_assert_eq(dst, 1);
    cr_assert_eq(tz_offset(tz, 4102444800LL, NULL), 3600); /* 2100, rule */
    cr_assert_eq(tz_offset(NULL, 0, NULL), 0);
    tz_free(tz);
    tz = tz_load("Australia/Lord_Howe", err, sizeof err);
    cr_assert(tz, "%s", err);
    cr_assert_eq(tz_offset(tz, 4102444800LL, NULL), 39600); /* Jan: +11 */
    tz_free(tz);
}

Test(tz, bad_names)
{
    char err[256];
    const char *bad[] = {"../etc/passwd", "/etc/localtime", "Europe/../x",
                         "Europe/Berlin\n", "a b", "", "Europe/Nowhere"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        cr_assert_null(tz_load(bad[i], err, sizeof err), "%s", bad[i]);
        cr_assert(strstr(err, "time zone '"), "%s", err);
    }
    cr_assert_null(tz_load(NULL, err, sizeof err));
}

static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void spit(const char *dir, const unsigned char *buf, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/Test", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(buf, 1, n, f);
    fclose(f);
}

Test(tz, corrupted_files_refused)
{
    static unsigned char orig[1 << 16], buf[1 << 16];
    size_t n = slurp("/usr/share/zoneinfo/Europe/Berlin", orig, sizeof orig);
    cr_assert(n > 100);
    char dir[] = "/tmp/test_tz.XXXXXX";
    cr_assert(mkdtemp(dir));
    char err[256];
    spit(dir, orig, n);
    setenv("JOBRT_ZONEINFO_DIR", dir, 1);
    jobrt_tz_t *tz = tz_load("Test", err, sizeof err);
    cr_assert(tz, "%s", err);
    tz_free(tz);
    /* every truncation but the full file is refused */
    for (size_t len = 0; len < n; len++) {
        spit(dir, orig, len);
        tz = tz_load_dir(dir, "Test", err, sizeof err);
        cr_assert_null(tz, "truncated to %zu accepted", len);
    }
    /* random byte flips: refused or loaded, never a crash; lookups work */
    srand(42);
    for (int i = 0; i < 3000; i++) {
        memcpy(buf, orig, n);
        for (int k = 0; k < 1 + rand() % 4; k++)
            buf[(size_t)rand() % n] = (unsigned char)rand();
        spit(dir, buf, n);
        tz = tz_load_dir(dir, "Test", err, sizeof err);
        if (tz) {
            tz_period_t p;
            for (int64_t t = -4000000000LL; t < 8000000000LL;
                 t += 400000000)
                tz_period(tz, t, &p);
        }
        tz_free(tz);
    }
    /* a huge count in the header */
    memcpy(buf, orig, n);
    buf[32] = 0x7f;
    spit(dir, buf, n);
    cr_assert_null(tz_load_dir(dir, "Test", err, sizeof err));
    char path[512];
    snprintf(path, sizeof path, "%s/Test", dir);
    unlink(path);
    rmdir(dir);
}
