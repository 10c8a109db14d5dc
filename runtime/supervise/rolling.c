/*
 * rolling.c - the supervisor's rolling reload (SIGHUP: one worker at a
 * time reloads in place, the next once it is done) and its status lines
 * (SIGUSR1). See supervisor.h.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "supervise/supervisor_internal.h"

const char *const supervisor_cause_names[CAUSE_N] = {
    "crash", "timeout", "memory", "wedged", "recycled", "exited"};

static void roll_next(supervisor_t *s)
{
    while (++s->roll_index < s->cfg->workers) {
        child_t *c = s->slots[s->roll_index].current;
        if (c == NULL || c->killed != KILL_NONE ||
            atomic_load(&c->board->state) != BOARD_READY)
            continue; /* a worker started from now on loads the new files */
        s->roll_seen = atomic_load(&c->board->reloads);
        s->roll_pid = c->pid;
        s->roll_deadline = util_mono_ms() + ROLL_STEP_MS;
        LOGI("supervisor", "rolling reload: worker %d (pid %d) reloads",
             c->number, c->pid);
        kill(c->pid, SIGHUP);
        return;
    }
    s->rolling = 0;
    LOGI("supervisor", "rolling reload: done");
    if (s->roll_again) {
        s->roll_again = 0;
        s->rolling = 1;
        s->roll_index = -1;
        roll_next(s);
    }
}

void supervisor_roll_check(supervisor_t *s, int64_t now)
{
    if (!s->rolling)
        return;
    if (s->recycle_wait)
        return; /* a worker being replaced (say, to deploy a build it
                   cannot unload): the next one once the fresh one serves */
    child_t *c = s->children;
    while (c && c->pid != s->roll_pid)
        c = c->next;
    if (c && !c->exited && c->killed == KILL_NONE &&
        atomic_load(&c->board->reloads) == s->roll_seen) {
        if (now < s->roll_deadline)
            return;
        LOGW("supervisor", "rolling reload: worker %d did not finish its "
             "reload within %d s; going on with the next", c->number,
             ROLL_STEP_MS / 1000);
    }
    roll_next(s);
}

void supervisor_log_workers(supervisor_t *s)
{
    static const char *const states[] = {"starting", "ready", "draining",
                                         "stopping for an overrun"};
    for (int i = 0; i < s->cfg->workers; i++) {
        worker_slot_t *slot = &s->slots[i];
        child_t *c = slot->current;
        char causes[160] = "";
        size_t n = 0;
        for (int k = 0; k < CAUSE_N && n < sizeof causes; k++)
            if (slot->by_cause[k])
                n += (size_t)snprintf(causes + n, sizeof causes - n, "%s%s "
                                      "%u", n ? ", " : "", supervisor_cause_names[k],
                                      slot->by_cause[k]);
        uint32_t st = c ? atomic_load(&c->board->state) : 0;
        LOGI("supervisor", "worker %d: %s%d, %s, %llu job(s) done, %u "
             "restart(s)%s%s%s; plugins: %.400s", i + 1, c ? "pid " : "",
             c ? c->pid : 0, c ? states[st > 3 ? 3 : st] : "not running",
             slot->jobs_done + (c ? atomic_load(&c->board->jobs_done) : 0),
             slot->restarts, n ? " (" : "", causes, n ? ")" : "",
             c && c->board->generations[0] ? c->board->generations : "-");
    }
}

void supervisor_roll_start(supervisor_t *s)
{
    if (s->rolling) {
        s->roll_again = 1;
        LOGI("supervisor", "SIGHUP: another rolling reload follows the one "
             "in progress");
        return;
    }
    LOGI("supervisor", "SIGHUP: reloading the workers one at a time");
    s->rolling = 1;
    s->roll_index = -1;
    roll_next(s);
}
