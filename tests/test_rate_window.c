/*
 * test_rate_window.c - a rate from a sampled counter (core/rate_window.c):
 * none from one sample; steady growth gives its rate; only the last 10 s
 * count; samples closer than the gap are skipped; a counter that went
 * back reads as 0.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "core/rate_window.h"

Test(rate_window, rates_over_the_last_ten_seconds)
{
    rate_window_t r = {0};
    cr_assert_eq(rate_window_per_sec(&r), 0);
    rate_window_add(&r, 1000, 0);
    cr_assert_eq(rate_window_per_sec(&r), 0, "one sample: no rate");
    rate_window_add(&r, 2000, 50);
    cr_assert_float_eq(rate_window_per_sec(&r), 50.0, 1e-9);
    rate_window_add(&r, 2100, 5000); /* too close: skipped */
    cr_assert_float_eq(rate_window_per_sec(&r), 50.0, 1e-9);
    /* 30 s of 10 per second, then 20 per second for 10 s */
    long long n = 50;
    for (int64_t t = 3000; t <= 32000; t += 1000)
        rate_window_add(&r, t, (unsigned long long)(n += 10));
    cr_assert_float_eq(rate_window_per_sec(&r), 10.0, 1e-9);
    for (int64_t t = 33000; t <= 42000; t += 1000)
        rate_window_add(&r, t, (unsigned long long)(n += 20));
    cr_assert_float_eq(rate_window_per_sec(&r), 20.0, 1e-9);
    /* idle for 10 s: back to 0 */
    for (int64_t t = 43000; t <= 52000; t += 1000)
        rate_window_add(&r, t, (unsigned long long)n);
    cr_assert_float_eq(rate_window_per_sec(&r), 0.0, 1e-9);
    /* a long gap: the newest pair spans more than the window */
    rate_window_add(&r, 90000, (unsigned long long)n + 600);
    cr_assert_float_eq(rate_window_per_sec(&r), 0.0, 1e-9,
                       "no sample within 10 s of the newest but itself");
    rate_window_add(&r, 91000, 1); /* the counter went back */
    cr_assert_eq(rate_window_per_sec(&r), 0);
}
