/*
 * test_health.c - the readiness judge (observe/health.c) on made-up
 * boards: a fresh, healthy board is ready; then each check fails in turn,
 * in the order the judge reports them, with its own reason: the process
 * state, the loop's heartbeat, plugins, the Redis connection, confirmed
 * writes, fetch progress and lease renewals; each stale input is ready
 * again at its limit and not one millisecond past it; an input never set
 * says "never", not a negative age.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "observe/health.h"

#define NOW 1000000 /* monotonic ms */
#define FETCH_EVERY 5000
#define LEASE_EVERY 10000

static board_t *b;

static void setup(void)
{
    b = calloc(1, board_size(1));
    cr_assert_not_null(b);
    board_init(b, 1);
    metrics_t *m = &b->metrics;
    atomic_store(&b->state, BOARD_READY);
    atomic_store(&b->heartbeat_ms, NOW - 100);
    atomic_store(&m->plugins_loaded, 1);
    atomic_store(&m->redis_up, 1);
    atomic_store(&m->write_ms, NOW - 500);
    atomic_store(&m->fetch_ms, NOW - 10);
    atomic_store(&m->fetch_every_ms, FETCH_EVERY);
    atomic_store(&m->lease_ms, NOW - 1000);
    atomic_store(&m->lease_every_ms, LEASE_EVERY);
}

static void teardown(void) { free(b); }


static health_verdict_t judge(void)
{
    health_verdict_t v;
    memset(&v, 0x55, sizeof v); /* the judge must write both fields */
    health_judge(b, NOW, &v);
    return v;
}

static void assert_ready(const char *what)
{
    health_verdict_t v = judge();
    cr_assert_eq(v.ready, 1, "%s: not ready: %s", what, v.why);
    cr_assert_str_eq(v.why, "", "%s", what);
}

static void assert_not_ready(const char *what, const char *why)
{
    health_verdict_t v = judge();
    cr_assert_eq(v.ready, 0, "%s: judged ready", what);
    cr_assert_str_eq(v.why, why, "%s", what);
}

Test(health, a_fresh_board_is_ready)
{
    setup();
    assert_ready("fresh");
    /* at its limit, each input is still fresh */
    atomic_store(&b->heartbeat_ms, NOW - HEALTH_LOOP_STALE_MS);
    atomic_store(&b->metrics.write_ms, NOW - HEALTH_WRITE_STALE_MS);
    atomic_store(&b->metrics.fetch_ms, NOW - FETCH_EVERY - HEALTH_SLACK_MS);
    atomic_store(&b->metrics.lease_ms, NOW - LEASE_EVERY - HEALTH_SLACK_MS);
    assert_ready("every input at its limit");
    teardown();
}

Test(health, the_process_state)
{
    setup();
    atomic_store(&b->state, BOARD_STARTING);
    assert_not_ready("starting", "starting (loading plugins, connecting)");
    atomic_store(&b->state, BOARD_DRAINING);
    assert_not_ready("draining", "draining: takes no new jobs");
    atomic_store(&b->state, BOARD_KILL_ME);
    assert_not_ready("kill me", "being stopped for an overrunning handler");
    atomic_store(&b->state, BOARD_KILLING);
    assert_not_ready("killing", "being stopped for an overrunning handler");
    atomic_store(&b->state, 77);
    assert_not_ready("garbage state", "in an unknown state");
    atomic_store(&b->state, BOARD_READY);
    assert_ready("ready again");
    teardown();
}

Test(health, the_loop_heartbeat)
{
    setup();
    atomic_store(&b->heartbeat_ms, NOW - HEALTH_LOOP_STALE_MS - 1);
    assert_not_ready("stale heartbeat", "its loop has not turned for 2001 ms");
    atomic_store(&b->heartbeat_ms, 0);
    assert_not_ready("no heartbeat", "its loop has never turned");
    atomic_store(&b->heartbeat_ms, NOW);
    assert_ready("heartbeat now");
    teardown();
}

Test(health, plugins_and_redis)
{
    setup();
    atomic_store(&b->metrics.plugins_loaded, 0);
    assert_not_ready("no plugin", "no plugin is loaded");
    atomic_store(&b->metrics.plugins_loaded, 3);
    atomic_store(&b->metrics.redis_up, 0);
    assert_not_ready("Redis down",
                     "not connected to Redis (or its scripts are not loaded)");
    atomic_store(&b->metrics.redis_up, 1);
    assert_ready("Redis up");
    teardown();
}

Test(health, confirmed_writes)
{
    setup();
    atomic_store(&b->metrics.write_ms, 0);
    assert_not_ready("no write yet", "Redis has confirmed no write yet");
    atomic_store(&b->metrics.write_ms, NOW - HEALTH_WRITE_STALE_MS - 1);
    assert_not_ready("stale write", "Redis has confirmed no write for 3001 ms");
    atomic_store(&b->metrics.write_ms, NOW);
    assert_ready("write now");
    teardown();
}

Test(health, fetch_progress)
{
    setup();
    atomic_store(&b->metrics.fetch_ms, NOW - FETCH_EVERY - HEALTH_SLACK_MS - 1);
    assert_not_ready("stale fetch",
                     "the fetch loop has made no progress for 8001 ms");
    atomic_store(&b->metrics.fetch_ms, 0);
    assert_not_ready("no fetch yet", "the fetch loop has made no progress "
                     "yet");
    /* a longer blocking read gives the fetch loop longer */
    atomic_store(&b->metrics.fetch_ms, NOW - FETCH_EVERY - HEALTH_SLACK_MS - 1);
    atomic_store(&b->metrics.fetch_every_ms, FETCH_EVERY + 1);
    assert_ready("fetch within a longer read's block");
    teardown();
}

Test(health, lease_renewals)
{
    setup();
    atomic_store(&b->metrics.lease_ms, NOW - LEASE_EVERY - HEALTH_SLACK_MS - 1);
    assert_not_ready("stale leases", "leases have not been renewed for 13001 "
                     "ms (due every 10000 ms)");
    atomic_store(&b->metrics.lease_ms, 0);
    assert_not_ready("no renewal yet", "leases have not been renewed yet "
                     "(due every 10000 ms)");
    atomic_store(&b->metrics.lease_ms, NOW);
    assert_ready("renewed now");
    teardown();
}

Test(health, the_first_failed_check_is_the_reason)
{
    setup();
    /* everything stale at once: the reasons come out in the judge's
     * order as each one is fixed */
    atomic_store(&b->state, BOARD_STARTING);
    atomic_store(&b->heartbeat_ms, 1);
    atomic_store(&b->metrics.plugins_loaded, 0);
    atomic_store(&b->metrics.redis_up, 0);
    atomic_store(&b->metrics.write_ms, 1);
    atomic_store(&b->metrics.fetch_ms, 1);
    atomic_store(&b->metrics.lease_ms, 1);
    const char *order[] = {"starting", "its loop", "no plugin",
                           "not connected", "Redis has confirmed",
                           "the fetch loop", "leases"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        health_verdict_t v = judge();
        cr_assert_eq(v.ready, 0);
        cr_assert_eq(strncmp(v.why, order[i], strlen(order[i])), 0,
                     "check %zu: '%s', want it to start with '%s'", i, v.why,
                     order[i]);
        switch (i) {
        case 0: atomic_store(&b->state, BOARD_READY); break;
        case 1: atomic_store(&b->heartbeat_ms, NOW); break;
        case 2: atomic_store(&b->metrics.plugins_loaded, 1); break;
        case 3: atomic_store(&b->metrics.redis_up, 1); break;
        case 4: atomic_store(&b->metrics.write_ms, NOW); break;
        case 5: atomic_store(&b->metrics.fetch_ms, NOW); break;
        case 6: atomic_store(&b->metrics.lease_ms, NOW); break;
        }
    }
    assert_ready("all fixed");
    teardown();
}
