/*
 * test_fetch_plan.c - unit tests for the fetch plan: a simulated worker
 * with backlogged queues takes entries in proportion to the weights,
 * strict priority drains the first queue first, an idle queue keeps a
 * probe that holds no slot, grants never promise more slots than are
 * free, and a queue that comes back from idle gets no catch-up burst.
 */
#include <criterion/criterion.h>

#include "exec/fetch_plan.h"

/* A worker with `slots` slots and queues with backlog[i] entries. Each
 * round: every queue without a read asks for one; then every read is
 * answered (entries taken from the backlog, bounded by the free slots as
 * the worker would hand the rest back); then `finish` running jobs end. */
typedef struct {
    fetch_plan_t p;
    size_t slots, running;
    long backlog[FETCH_PLAN_MAX_QUEUES];
    size_t asked[FETCH_PLAN_MAX_QUEUES];
    int block[FETCH_PLAN_MAX_QUEUES];
    unsigned long long ran[FETCH_PLAN_MAX_QUEUES];
    unsigned long long handed_back;
} sim_t;

static void sim_init(sim_t *s, size_t n, const uint32_t *w, int strict,
                     size_t slots, long backlog)
{
    memset(s, 0, sizeof *s);
    fetch_plan_init(&s->p, n, w, strict, slots);
    s->slots = slots;
    for (size_t i = 0; i < n; i++)
        s->backlog[i] = backlog;
}

static void sim_round(sim_t *s, size_t finish)
{
    size_t n = s->p.n;
    for (size_t i = 0; i < n; i++) {
        if (s->p.q[i].reading)
            continue;
        s->asked[i] = fetch_plan_grant(&s->p, i, s->slots - s->running,
                                       &s->block[i]);
        size_t reserved = 0;
        for (size_t j = 0; j < n; j++)
            reserved += s->p.q[j].reserved;
        cr_assert_leq(reserved, s->slots - s->running,
                      "grants promise %zu slots, %zu are free", reserved,
                      s->slots - s->running);
    }
    for (size_t i = 0; i < n; i++) {
        if (!s->p.q[i].reading)
            continue;
        if (s->block[i] && s->backlog[i] == 0)
            continue; /* a blocking read on an empty queue waits */
        size_t got = s->asked[i] < (size_t)s->backlog[i]
                         ? s->asked[i] : (size_t)s->backlog[i];
        s->backlog[i] -= (long)got;
        fetch_plan_read_done(&s->p, i, s->asked[i], got, 1);
        for (size_t k = 0; k < got; k++) {
            if (s->running < s->slots) {
                s->running++;
                s->ran[i]++;
            } else {
                s->handed_back++; /* back to its queue */
                s->backlog[i]++;
            }
        }
    }
    s->running -= finish < s->running ? finish : s->running;
}

Test(fetch_plan, backlogged_queues_share_slots_by_weight)
{
    const uint32_t w[] = {10, 3, 1};
    sim_t s;
    sim_init(&s, 3, w, 0, 8, 1000000);
    for (int r = 0; r < 20000; r++)
        sim_round(&s, 3);
    unsigned long long total = s.ran[0] + s.ran[1] + s.ran[2];
    cr_assert_gt(total, 50000, "the slots kept busy: %llu", total);
    for (int i = 0; i < 3; i++) {
        double share = (double)s.ran[i] / (double)total;
        double want = w[i] / 14.0;
        cr_assert(share > want * 0.97 && share < want * 1.03,
                  "queue %d took %.4f of the jobs, its weight says %.4f", i,
                  share, want);
    }
}

Test(fetch_plan, equal_weights_still_read_in_batches)
{
    const uint32_t w[] = {1, 1};
    sim_t s;
    sim_init(&s, 2, w, 0, 16, 1000000);
    size_t biggest = 0;
    for (int r = 0; r < 1000; r++) {
        sim_round(&s, 16);
        for (int i = 0; i < 2; i++)
            if (s.asked[i] > biggest)
                biggest = s.asked[i];
    }
    cr_assert_geq(biggest, 8, "a read asks for 8 or more, not one by one "
                  "(largest %zu)", biggest);
    double share = (double)s.ran[0] / (double)(s.ran[0] + s.ran[1]);
    cr_assert(share > 0.48 && share < 0.52, "share %.3f", share);
}

Test(fetch_plan, strict_priority_drains_the_first_queue_first)
{
    sim_t s;
    sim_init(&s, 3, NULL, 1, 8, 500);
    /* until queue 0 is empty, the others run at most what their idle
     * probes brought at the start */
    int r = 0;
    while (s.backlog[0] > 0 && r++ < 100000)
        sim_round(&s, 4);
    cr_assert_eq(s.backlog[0], 0);
    cr_assert_leq(s.ran[1] + s.ran[2], 2, "queues 1 and 2 ran %llu while "
                  "queue 0 had work", s.ran[1] + s.ran[2]);
    while ((s.backlog[1] > 0 || s.backlog[2] > 0) && r++ < 200000)
        sim_round(&s, 4);
    cr_assert_eq(s.backlog[1] + s.backlog[2], 0, "then the others drain");
}

Test(fetch_plan, an_idle_queue_keeps_a_probe_that_holds_no_slot)
{
    const uint32_t w[] = {1, 1};
    fetch_plan_t p;
    fetch_plan_init(&p, 2, w, 0, 4);
    int block;
    /* never read: a first look that does not block (and holds no slot) */
    cr_assert_eq(fetch_plan_grant(&p, 0, 4, &block), 1);
    cr_assert_eq(block, 0);
    cr_assert_eq(p.q[0].reserved, 0);
    fetch_plan_read_done(&p, 0, 1, 0, 1);
    cr_assert(p.q[0].known && !p.q[0].busy);
    /* empty: idle, a blocking probe of one */
    cr_assert_eq(fetch_plan_grant(&p, 0, 4, &block), 1);
    cr_assert_eq(block, 1);
    cr_assert_eq(p.q[0].reserved, 0, "the probe holds no slot");
    cr_assert_eq(fetch_plan_unreserved(&p, 4), 4);
    /* it found work: busy, and its next read does not block */
    fetch_plan_read_done(&p, 0, 1, 1, 1);
    cr_assert(p.q[0].busy);
    size_t g = fetch_plan_grant(&p, 0, 3, &block);
    cr_assert_gt(g, 0);
    cr_assert_leq(g, 3);
    cr_assert_eq(block, 0);
    cr_assert_eq(fetch_plan_unreserved(&p, 3), 3 - g);
    /* nothing there after all: idle again, the grant goes back */
    fetch_plan_read_done(&p, 0, g, 0, 1);
    cr_assert(!p.q[0].busy);
    cr_assert_eq(fetch_plan_unreserved(&p, 3), 3);
    /* a read that was never sent only returns its grant */
    cr_assert_eq(fetch_plan_grant(&p, 1, 3, &block), 1);
    fetch_plan_read_done(&p, 1, 1, 0, 0);
    cr_assert(!p.q[1].busy && !p.q[1].reading && !p.q[1].known);
}

Test(fetch_plan, strict_lower_queues_wait_until_the_higher_ones_are_known)
{
    fetch_plan_t p;
    fetch_plan_init(&p, 2, NULL, 1, 4);
    int block;
    /* both take a first look; the lower one finds work first */
    cr_assert_eq(fetch_plan_grant(&p, 0, 4, &block), 1);
    cr_assert_eq(fetch_plan_grant(&p, 1, 4, &block), 1);
    fetch_plan_read_done(&p, 1, 1, 1, 1);
    cr_assert(p.q[1].busy);
    cr_assert_eq(fetch_plan_grant(&p, 1, 3, &block), 0,
                 "the higher queue's look is not answered yet");
    fetch_plan_read_done(&p, 0, 1, 1, 1); /* it has work */
    cr_assert_eq(fetch_plan_grant(&p, 1, 2, &block), 0, "higher is busy");
    cr_assert_eq(fetch_plan_grant(&p, 0, 2, &block), 2);
    fetch_plan_read_done(&p, 0, 2, 0, 1); /* and now it is empty */
    cr_assert_eq(fetch_plan_grant(&p, 1, 2, &block), 2);
    cr_assert_eq(block, 0);
}

Test(fetch_plan, one_queue_asks_for_every_free_slot_and_blocks)
{
    fetch_plan_t p;
    fetch_plan_init(&p, 1, NULL, 0, 8);
    int block = 0;
    cr_assert_eq(fetch_plan_grant(&p, 0, 5, &block), 5);
    cr_assert_eq(block, 1);
    cr_assert_eq(fetch_plan_grant(&p, 0, 5, &block), 0,
                 "one read at a time");
    fetch_plan_read_done(&p, 0, 5, 2, 1);
    cr_assert_eq(fetch_plan_grant(&p, 0, 0, &block), 0, "no free slot");
}

Test(fetch_plan, a_queue_back_from_idle_gets_no_catch_up_burst)
{
    const uint32_t w[] = {1, 1};
    sim_t s;
    sim_init(&s, 2, w, 0, 8, 1000000);
    s.backlog[1] = 0; /* queue 1 idle for a while */
    for (int r = 0; r < 2000; r++)
        sim_round(&s, 8);
    unsigned long long before0 = s.ran[0], before1 = s.ran[1];
    s.backlog[1] = 1000000;
    for (int r = 0; r < 200; r++)
        sim_round(&s, 8);
    unsigned long long d0 = s.ran[0] - before0, d1 = s.ran[1] - before1;
    cr_assert_gt(d0, 0, "queue 0 is not starved by the returning one");
    double share = (double)d1 / (double)(d0 + d1);
    cr_assert(share > 0.4 && share < 0.6, "queue 1 took %.3f after its "
              "return (no burst)", share);
}

Test(fetch_plan, a_queue_that_cannot_read_holds_no_other_back)
{
    /* weighted: a busy queue that is paused must not pin the others */
    const uint32_t w[] = {10, 1};
    sim_t s;
    sim_init(&s, 2, w, 0, 4, 1000000);
    for (int r = 0; r < 200; r++)
        sim_round(&s, 4);
    cr_assert(s.p.q[1].busy);
    fetch_plan_read_done(&s.p, 1, 0, 0, FETCH_PLAN_CANNOT_READ); /* paused */
    unsigned long long before = s.ran[0];
    for (int r = 0; r < 200; r++) {
        /* queue 1 never asks while paused: its reader sees the pause */
        size_t asked = 0;
        int block;
        if (!s.p.q[0].reading)
            asked = fetch_plan_grant(&s.p, 0, s.slots - s.running, &block);
        if (s.p.q[0].reading) {
            fetch_plan_read_done(&s.p, 0, asked, asked, 1);
            s.running += asked;
            s.ran[0] += asked;
        }
        s.running -= s.running < 4 ? s.running : 4;
    }
    cr_assert_gt(s.ran[0] - before, 400, "queue 0 kept its slots busy while "
                 "queue 1 was paused (%llu)", s.ran[0] - before);

    /* strict: a higher queue that cannot read lets the lower one read */
    fetch_plan_t p;
    fetch_plan_init(&p, 2, NULL, 1, 4);
    int block;
    cr_assert_eq(fetch_plan_grant(&p, 1, 4, &block), 1); /* first look */
    fetch_plan_read_done(&p, 1, 1, 1, 1);
    cr_assert_eq(fetch_plan_grant(&p, 1, 3, &block), 0, "queue 0 unknown");
    cr_assert(p.q[1].refused, "waiting for its share, not stalled");
    fetch_plan_read_done(&p, 0, 0, 0, FETCH_PLAN_CANNOT_READ);
    cr_assert_eq(fetch_plan_grant(&p, 1, 3, &block), 3);
    cr_assert(!p.q[1].refused);
}
