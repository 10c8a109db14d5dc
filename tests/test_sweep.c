/*
 * test_stream_sweep.c - unit tests for the bookkeeping of acked stream ids
 * until a trim passes them: id parsing and ordering, forgetting what a cut
 * removed, and handing out ids that waited too long for their own XDEL.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "queue/sweep.h"

static stream_id_t id(const char *s)
{
    stream_id_t v;
    cr_assert_eq(stream_id_parse(s, strlen(s), &v), 0, "cannot parse %s", s);
    return v;
}

static void add(stream_sweep_t *s, const char *text)
{
    cr_assert_eq(stream_sweep_add(s, text, strlen(text)), 0, "%s", text);
}

Test(stream_sweep, parses_and_orders_ids)
{
    stream_id_t a = id("1700000000000-0");
    cr_assert_eq(a.ms, 1700000000000ull);
    cr_assert_eq(a.seq, 0u);
    stream_id_t max = id("18446744073709551615-18446744073709551615");
    cr_assert_eq(max.ms, UINT64_MAX);
    cr_assert_eq(max.seq, UINT64_MAX);
    cr_assert(stream_id_less(id("5-9"), id("5-10")), "seq compares as a number");
    cr_assert(stream_id_less(id("9-99"), id("10-0")), "ms first");
    cr_assert_not(stream_id_less(id("7-7"), id("7-7")));
    cr_assert_not(stream_id_less(id("8-0"), id("7-9")));
}

Test(stream_sweep, rejects_malformed_ids)
{
    const char *bad[] = {"", "-", "1", "1-", "-1", "1-2-3", "a-1", "1-b",
                         " 1-2", "1-2 ", "+1-2", "18446744073709551616-0",
                         "0-18446744073709551616"};
    stream_sweep_t s = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stream_id_t v;
        cr_assert_neq(stream_id_parse(bad[i], strlen(bad[i]), &v), 0,
                      "'%s' must not parse", bad[i]);
        cr_assert_eq(stream_sweep_add(&s, bad[i], strlen(bad[i])), -1);
    }
    cr_assert_eq(stream_sweep_count(&s), 0u);
    /* the length bounds the parse: "12-34" inside a longer buffer */
    stream_id_t v;
    cr_assert_eq(stream_id_parse("12-345", 5, &v), 0);
    cr_assert_eq(v.seq, 34u);
    stream_sweep_free(&s);
}

Test(stream_sweep, a_cut_forgets_the_ids_below_it)
{
    stream_sweep_t s = {0};
    add(&s, "100-0");
    add(&s, "100-1");
    add(&s, "250-3");
    add(&s, "99-5");
    add(&s, "300-0");
    stream_sweep_trimmed(&s, id("250-3"));
    cr_assert_eq(stream_sweep_count(&s), 2u, "250-3 is the cut itself: kept");
    char out[4][48];
    cr_assert_eq(stream_sweep_take_stale(&s, 0, out[0], 48, 4), 2u);
    cr_assert_str_eq(out[0], "250-3");
    cr_assert_str_eq(out[1], "300-0");
    cr_assert_eq(stream_sweep_count(&s), 0u);
    stream_sweep_free(&s);
}

Test(stream_sweep, ids_the_cut_never_reaches_become_stale)
{
    stream_sweep_t s = {0};
    char out[8][48];
    add(&s, "500-0"); /* behind a long job pending at 400-0 */
    for (int round = 1; round < 3; round++) {
        cr_assert_eq(stream_sweep_take_stale(&s, 3, out[0], 48, 8), 0u,
                     "round %d: not stale yet", round);
        stream_sweep_trimmed(&s, id("400-0"));
    }
    add(&s, "600-0"); /* acked later: younger */
    stream_sweep_trimmed(&s, id("400-0"));
    cr_assert_eq(stream_sweep_take_stale(&s, 3, out[0], 48, 8), 1u);
    cr_assert_str_eq(out[0], "500-0");
    cr_assert_eq(stream_sweep_count(&s), 1u, "600-0 waits its turn");
    stream_sweep_free(&s);
}

Test(stream_sweep, take_stale_respects_max_and_grows_past_first_block)
{
    stream_sweep_t s = {0};
    char text[48];
    for (int i = 0; i < 3000; i++) {
        snprintf(text, sizeof text, "1000-%d", i);
        add(&s, text);
    }
    cr_assert_eq(stream_sweep_count(&s), 3000u);
    stream_sweep_trimmed(&s, id("1000-1000"));
    cr_assert_eq(stream_sweep_count(&s), 2000u);
    static char out[1500][48];
    cr_assert_eq(stream_sweep_take_stale(&s, 1, out[0], 48, 1500), 1500u);
    cr_assert_str_eq(out[0], "1000-1000");
    cr_assert_str_eq(out[1499], "1000-2499");
    cr_assert_eq(stream_sweep_count(&s), 500u);
    stream_sweep_free(&s);
    cr_assert_eq(stream_sweep_count(&s), 0u);
}

Test(stream_sweep, remembers_at_most_the_cap)
{
    stream_sweep_t s = {0};
    char text[48];
    for (unsigned i = 0; i < STREAM_SWEEP_MAX; i++) {
        snprintf(text, sizeof text, "7-%u", i);
        cr_assert_eq(stream_sweep_add(&s, text, strlen(text)), 0);
    }
    cr_assert_eq(stream_sweep_add(&s, "8-0", 3), -1, "over the cap");
    cr_assert_eq(stream_sweep_count(&s), (size_t)STREAM_SWEEP_MAX);
    stream_sweep_trimmed(&s, id("7-10"));
    cr_assert_eq(stream_sweep_add(&s, "8-0", 3), 0, "room again after a cut");
    stream_sweep_free(&s);
}
