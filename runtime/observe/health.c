/*
 * health.c - the readiness checks, in the order a reader should fix them.
 * An input never set (0) reads "never"/"yet", not as an age.
 */
#include "observe/health.h"

#include <stdio.h>

static int stale(int64_t at, int64_t now, int64_t limit, int64_t *age)
{
    *age = at ? now - at : -1;
    return at == 0 || now - at > limit;
}

static const char *state_name(uint32_t st)
{
    switch (st) {
    case BOARD_STARTING: return "starting (loading plugins, connecting)";
    case BOARD_DRAINING: return "draining: takes no new jobs";
    case BOARD_KILL_ME:
    case BOARD_KILLING: return "being stopped for an overrunning handler";
    default: return "in an unknown state";
    }
}

void health_judge(const board_t *b, int64_t now, health_verdict_t *v)
{
    const metrics_t *m = &b->metrics;
    int64_t age;
    v->ready = 0;
    uint32_t st = atomic_load(&b->state);
    if (st != BOARD_READY) {
        snprintf(v->why, sizeof v->why, "%s", state_name(st));
        return;
    }
    if (stale(atomic_load(&b->heartbeat_ms), now, HEALTH_LOOP_STALE_MS,
              &age)) {
        if (age < 0)
            snprintf(v->why, sizeof v->why, "its loop has never turned");
        else
            snprintf(v->why, sizeof v->why, "its loop has not turned for "
                     "%lld ms", (long long)age);
        return;
    }
    if (atomic_load(&m->plugins_loaded) == 0) {
        snprintf(v->why, sizeof v->why, "no plugin is loaded");
        return;
    }
    if (!atomic_load(&m->redis_up)) {
        snprintf(v->why, sizeof v->why, "not connected to Redis (or its "
                 "scripts are not loaded)");
        return;
    }
    if (stale(atomic_load(&m->write_ms), now, HEALTH_WRITE_STALE_MS, &age)) {
        if (age < 0)
            snprintf(v->why, sizeof v->why, "Redis has confirmed no write "
                     "yet");
        else
            snprintf(v->why, sizeof v->why, "Redis has confirmed no write "
                     "for %lld ms", (long long)age);
        return;
    }
    int64_t every = atomic_load(&m->fetch_every_ms);
    if (stale(atomic_load(&m->fetch_ms), now, every + HEALTH_SLACK_MS,
              &age)) {
        if (age < 0)
            snprintf(v->why, sizeof v->why, "the fetch loop has made no "
                     "progress yet");
        else
            snprintf(v->why, sizeof v->why, "the fetch loop has made no "
                     "progress for %lld ms", (long long)age);
        return;
    }
    every = atomic_load(&m->lease_every_ms);
    if (stale(atomic_load(&m->lease_ms), now, every + HEALTH_SLACK_MS,
              &age)) {
        if (age < 0)
            snprintf(v->why, sizeof v->why, "leases have not been renewed "
                     "yet (due every %lld ms)", (long long)every);
        else
            snprintf(v->why, sizeof v->why, "leases have not been renewed "
                     "for %lld ms (due every %lld ms)", (long long)age,
                     (long long)every);
        return;
    }
    v->ready = 1;
    v->why[0] = '\0';
}
