/*
 * supervisor.c - see supervisor.h (rolling reloads and status lines are
 * in rolling.c). One libuv loop: uv_spawn starts and
 * reaps the workers, a 100 ms tick reads their boards (state, heartbeat,
 * jobs done, requests) and their RSS, and a writer-only queue settles the
 * jobs of a worker that died (queue_redis_worker_lost).
 */
#define _GNU_SOURCE
#include "supervise/supervisor.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/log.h"
#include "observe/ops.h"
#include "core/util.h"
#include "supervise/supervisor_internal.h"

extern char **environ;

int supervisor_default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < SUPERVISOR_MIN_DEFAULT_WORKERS)
        n = SUPERVISOR_MIN_DEFAULT_WORKERS;
    if (n > SUPERVISOR_MAX_DEFAULT_WORKERS)
        n = SUPERVISOR_MAX_DEFAULT_WORKERS;
    return (int)n;
}

/* ---- the writer-only queue --------------------------------------------- */

static void no_entry(void *arg, const char *id, const strview_t *fv, size_t n,
                     uint32_t deliveries)
{
    (void)arg, (void)id, (void)fv, (void)n, (void)deliveries;
}
static size_t no_capacity(void *arg) { return (void)arg, 0; }
static int not_inflight(void *arg, const char *id)
{
    return (void)arg, (void)id, 0;
}
static size_t no_leases(void *arg, const char **ids, size_t max)
{
    return (void)arg, (void)ids, (void)max, 0;
}

static queue_redis_t *supervisor_queue(supervisor_t *s, int i)
{
    if (s->qs[i])
        return s->qs[i];
    const worker_config_t *w = s->wc;
    queue_redis_opts_t qo = {
        .target = w->redis,
        .ns = w->ns,
        .queue = w->queues[i],
        .group = w->group,
        .consumer = s->consumer,
        .result_ttl_s = (w->result_ttl_ms + 999) / 1000,
        .failure_ttl_s = (w->failure_ttl_ms + 999) / 1000,
        .dlq_max_len = w->dlq_max_len,
        .block_ms = 5000,
        .lease_ms = w->lease_ms,
        .max_deliveries = w->max_deliveries,
        .slots = 1,
        .park_ttl_ms = w->park_ttl_ms,
        .wait_replicas = (int)w->wait_replicas,
        .wait_timeout_ms = w->wait_timeout_ms,
    };
    queue_callbacks_t cb = {
        .on_entry = no_entry,
        .capacity = no_capacity,
        .is_inflight = not_inflight,
        .lease_ids = no_leases,
        .arg = s,
    };
    char err[256];
    s->qs[i] = queue_redis_create(&s->loop, &qo, &cb, err, sizeof err);
    if (s->qs[i] == NULL) {
        LOGE("supervisor", "%s", err);
        return NULL;
    }
    queue_redis_start_writer_only(s->qs[i]);
    return s->qs[i];
}

/* Every settlement sent is confirmed. */
static int queues_idle(const supervisor_t *s)
{
    for (int i = 0; i < s->wc->n_queues; i++)
        if (s->qs[i] && !queue_redis_idle(s->qs[i]))
            return 0;
    return 1;
}

/* ---- spawning ---------------------------------------------------------- */

static void on_child_exit(uv_process_t *p, int64_t status, int sig);

static void free_child(uv_handle_t *h)
{
    child_t *c = h->data;
    board_unmap(c->board, (uint32_t)c->sup->wc->concurrency);
    free(c);
}

/* environ without JOBRT_INTERNAL_*, plus what a worker of ours needs. */
static char **child_env(int number, char *fd_var, char *number_var,
                        char *parent_var)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        /* systemd's socket is the supervisor's to use (observe/ops.h) */
        if (strncmp(environ[i], "JOBRT_INTERNAL_", 15) != 0 &&
            strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
            env[k++] = environ[i];
    snprintf(fd_var, 48, "JOBRT_INTERNAL_BOARD_FD=3");
    snprintf(number_var, 48, "JOBRT_INTERNAL_WORKER=%d", number);
    snprintf(parent_var, 48, "JOBRT_INTERNAL_SUPERVISOR=%d", (int)getpid());
    env[k++] = fd_var;
    env[k++] = number_var;
    env[k++] = parent_var;
    env[k] = NULL;
    return env;
}

static void schedule_restart(worker_slot_t *slot, int64_t delay)
{
    slot->restart_at = util_mono_ms() + delay;
}

static int spawn(supervisor_t *s, int number)
{
    worker_slot_t *slot = &s->slots[number - 1];
    slot->restart_at = 0;
    child_t *c = calloc(1, sizeof *c);
    char err[256];
    int fd = -1;
    if (c)
        c->board = board_create_shared((uint32_t)s->wc->concurrency, &fd, err,
                                       sizeof err);
    else
        snprintf(err, sizeof err, "out of memory");
    char fd_var[48], number_var[48], parent_var[48];
    char **env = c && c->board ? child_env(number, fd_var, number_var,
                                           parent_var) : NULL;
    char **args = calloc((size_t)s->cfg->argc + 2, sizeof *args);
    if (c == NULL || c->board == NULL || env == NULL || args == NULL) {
        LOGE("supervisor", "cannot start worker %d: %s; retrying in 1 s",
             number, c && c->board ? "out of memory" : err);
        if (c)
            board_unmap(c->board, (uint32_t)s->wc->concurrency);
        if (fd >= 0)
            close(fd);
        free(c);
        free(env);
        free(args);
        schedule_restart(slot, 1000);
        return -1;
    }
    args[0] = s->exe;
    args[1] = "run";
    for (int i = 1; i < s->cfg->argc; i++)
        args[i + 1] = s->cfg->argv[i];
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_INHERIT_FD, .data.fd = 0},
        {.flags = UV_INHERIT_FD, .data.fd = 1},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
        {.flags = UV_INHERIT_FD, .data.fd = fd},
    };
    uv_process_options_t o = {
        .exit_cb = on_child_exit,
        /* this very binary, even if the file was replaced since */
        .file = "/proc/self/exe",
        .args = args,
        .env = env,
        /* its own session: a terminal's ^C reaches the supervisor only,
         * which drains the workers (one signal each, not two) */
        .flags = UV_PROCESS_DETACHED,
        .stdio_count = 4,
        .stdio = stdio,
    };
    c->sup = s;
    c->number = number;
    c->proc.data = c;
    int rc = uv_spawn(&s->loop, &c->proc, &o);
    close(fd);
    free(env);
    free(args);
    if (rc != 0) {
        LOGE("supervisor", "cannot start worker %d (%s): %s; retrying in "
             "1 s", number, s->exe, uv_strerror(rc));
        uv_close((uv_handle_t *)&c->proc, free_child);
        schedule_restart(slot, 1000);
        return -1;
    }
    c->pid = c->proc.pid;
    c->spawned_at = util_mono_ms();
    c->next = s->children;
    s->children = c;
    slot->current = c;
    LOGI("supervisor", "worker %d started (pid %d)", number, c->pid);
    return 0;
}

/* ---- stopping ---------------------------------------------------------- */

static void close_all(supervisor_t *s)
{
    if (s->closing)
        return;
    s->closing = 1;
    uv_timer_stop(&s->tick);
    uv_close((uv_handle_t *)&s->tick, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
    uv_close((uv_handle_t *)&s->sigusr1, NULL);
    for (int i = 0; i < s->wc->n_queues; i++) {
        if (s->qs[i])
            queue_redis_destroy(s->qs[i]);
        s->qs[i] = NULL;
    }
    ops_close(s->ops);
    s->ops = NULL;
}

static void begin_stop(supervisor_t *s, const char *why)
{
    if (s->stopping) {
        LOGW("supervisor", "%s again: the workers stop without waiting for "
             "their running jobs", why);
        for (child_t *c = s->children; c; c = c->next)
            atomic_store(&c->board->hurry, 1);
        return;
    } else {
        s->stopping = 1;
        ops_stopping(s->ops);
        s->stop_deadline = util_mono_ms() + s->wc->shutdown_timeout_ms +
                           STOP_MARGIN_MS;
        LOGI("supervisor", "%s: stopping every worker (each finishes its "
             "running jobs within --shutdown-timeout)", why);
    }
    for (child_t *c = s->children; c; c = c->next)
        if (!c->exited)
            kill(c->pid, SIGTERM);
}

/* Done once every worker has exited and the settlements are confirmed. */
static void maybe_finish(supervisor_t *s)
{
    if (!s->stopping || s->children)
        return;
    if (!queues_idle(s)) {
        if (s->settle_deadline == 0)
            s->settle_deadline = util_mono_ms() + SETTLE_WAIT_MS;
        if (util_mono_ms() < s->settle_deadline)
            return;
        LOGW("supervisor", "could not confirm the settlement of a dead "
             "worker's jobs with Redis; they stay pending and are "
             "redelivered after --lease");
    }
    LOGI("supervisor", "stopped");
    close_all(s);
}

/* ---- a worker's exit --------------------------------------------------- */

static void unlink_child(supervisor_t *s, child_t *c)
{
    for (child_t **p = &s->children; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    worker_slot_t *slot = &s->slots[c->number - 1];
    if (slot->current == c)
        slot->current = NULL;
}

/* An unexplained death of the worker itself: 1 if it makes a crash loop. */
static int crash_loop(worker_slot_t *slot, int64_t now)
{
    int recent = 0;
    for (int i = 0; i < slot->n_crashes; i++)
        recent += now - slot->crashes[i] < CRASH_LOOP_WINDOW_MS;
    if (slot->n_crashes == CRASH_LOOP_MAX) {
        memmove(slot->crashes, slot->crashes + 1,
                sizeof slot->crashes[0] * (CRASH_LOOP_MAX - 1));
        slot->n_crashes--;
    }
    slot->crashes[slot->n_crashes++] = now;
    return recent + 1 >= CRASH_LOOP_MAX;
}

/* settle_death_t.at_earlier_kill */
static int at_earlier_kill(void *arg, const char *job_id)
{
    supervisor_t *s = arg;
    if (s->memory_kills == NULL)
        return 1; /* out of memory at start: charge, as for other kills */
    if (idset_has(s->memory_kills, job_id, strlen(job_id)))
        return 1;
    idset_add(s->memory_kills, job_id);
    return 0;
}

static void settle(supervisor_t *s, child_t *c, int64_t status, int sig,
                   settle_t *st)
{
    board_t *b = c->board;
    settle_death_t d = {
        .killed = c->killed,
        .exit_status = status,
        .term_signal = sig,
        .queues = s->wc->queues,
        .n_queues = (uint32_t)s->wc->n_queues,
        .rss_bytes = c->rss,
        .ceiling_bytes = s->ceiling,
        .grace_ms = s->wc->timeout_grace_ms,
        .at_earlier_kill = at_earlier_kill,
        .arg = s,
    };
    /* Its name as the worker makes it (exec/worker.c), not as the board
     * says: plugin code may have written anything there. */
    char consumer[320];
    snprintf(consumer, sizeof consumer, "%.200s-%d",
             s->wc->consumer ? s->wc->consumer : s->host, c->pid);
    if (settle_build(st, b, (uint32_t)s->wc->concurrency, consumer, &d) != 0)
        LOGE("supervisor", "out of memory settling worker %d's jobs: all "
             "are released for redelivery, none is charged", c->number);
    /* Each queue settles its own jobs, and hands back whatever else is
     * pending there for the dead consumer. */
    queue_lost_job_t *mine = calloc(st->n ? st->n : 1, sizeof *mine);
    for (int i = 0; i < s->wc->n_queues; i++) {
        queue_redis_t *q = supervisor_queue(s, i);
        if (q == NULL)
            continue;
        size_t n = 0;
        for (size_t j = 0; mine && j < st->n; j++)
            if (st->job_queues[j] == (uint32_t)i)
                mine[n++] = st->jobs[j];
        if (mine == NULL && st->n)
            LOGE("supervisor", "out of memory sorting worker %d's jobs by "
                 "queue: on %s all are released, none is charged",
                 c->number, s->wc->queues[i]);
        queue_redis_worker_lost(q, consumer, c->pid, s->host, mine, n);
    }
    free(mine);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
    child_t *c = p->data;
    supervisor_t *s = c->sup;
    board_t *b = c->board;
    worker_slot_t *slot = &s->slots[c->number - 1];
    int64_t now = util_mono_ms();
    c->exited = 1;
    slot->jobs_done += atomic_load(&b->jobs_done);
    supervisor_keep_counts(s, b);
    unlink_child(s, c);
    int reported = atomic_load(&b->crash_reported) != 0;
    /* clean: it said it handed everything back, and exited 0 */
    int clean = sig == 0 && status == 0 && c->killed == KILL_NONE &&
                !reported && atomic_load(&b->stopped_clean);
    if (sig == 0 && (status == 1 || status == 2) && b->fatal[0] &&
        !reported && c->killed == KILL_NONE && !s->first_ready) {
        /* The first worker could not start: a restart cannot fix that.
         * (Later, the same is a death like any other: a directory empty
         * for a moment mid-deploy must not stop a serving fleet.) */
        if (!s->stopping) {
            LOGE("supervisor", "worker %d (pid %d) could not start: %s; "
                 "stopping (exit 1): restarting cannot fix this",
                 c->number, c->pid, b->fatal);
            s->exit_code = 1;
            begin_stop(s, "a worker could not start");
        }
        uv_close((uv_handle_t *)&c->proc, free_child);
        maybe_finish(s);
        return;
    }
    settle_t st = {0};
    int cause = CAUSE_EXITED, loops = 0;
    if (!clean) {
        settle(s, c, status, sig, &st);
        if (c->killed == KILL_OVERRUN)
            cause = CAUSE_TIMEOUT;
        else if (c->killed == KILL_MEMORY)
            cause = CAUSE_MEMORY, loops = st.n_running == 0; /* no job */
        else if (c->killed == KILL_WEDGED)
            cause = CAUSE_WEDGED, loops = 1;
        else if (c->killed == KILL_STOP)
            cause = CAUSE_EXITED;
        else
            cause = CAUSE_CRASH, loops = !st.attributed;
        snprintf(slot->last_cause, sizeof slot->last_cause, "%s", st.cause);
        const char *jobs = "its jobs are released for redelivery";
        if (cause == CAUSE_TIMEOUT)
            jobs = "the overrunning job(s) are recorded as timed out and "
                   "retried per their policy, any other entry it held is "
                   "released";
        else if (st.attributed)
            jobs = "that job is charged a delivery, the others it held are "
                   "released for redelivery now, uncharged";
        else if (st.n)
            jobs = "every job it was running is charged a delivery, the "
                   "others it held are released now";
        /* a worker still starting when the stop came dies of SIGTERM */
        int expected = s->stopping && sig == SIGTERM && !st.n;
        log_line(expected ? JOBRT_LOG_INFO : JOBRT_LOG_WARN, "supervisor",
                 "worker %d (pid %d) %s%s; %s", c->number, c->pid,
                 st.attributed ? "died: " : "", st.cause, jobs);
    }
    settle_free(&st);
    uv_close((uv_handle_t *)&c->proc, free_child);
    if (s->recycle_wait == c->number && !c->retiring)
        s->recycle_wait = 0; /* the replacement died before it served */
    if (c->retiring || s->stopping) {
        if (c->retiring && !clean)
            LOGI("supervisor", "worker %d's retired process (pid %d) did "
                 "not exit cleanly", c->number, c->pid);
        maybe_finish(s);
        return;
    }
    slot->restarts++;
    slot->by_cause[cause]++;
    int64_t delay = 0;
    if (loops || cause == CAUSE_EXITED) {
        if (crash_loop(slot, now)) {
            LOGE("supervisor", "worker %d died %d times within %d s without "
                 "a job to blame (last: %s); stopping (exit 1) rather than "
                 "restart it in a loop: fix the cause, then start again",
                 c->number, CRASH_LOOP_MAX, CRASH_LOOP_WINDOW_MS / 1000,
                 slot->last_cause[0] ? slot->last_cause : "exited");
            s->exit_code = 1;
            begin_stop(s, "crash loop");
            maybe_finish(s);
            return;
        }
        delay = slot->backoff_ms;
        slot->backoff_ms = slot->backoff_ms * 2 > BACKOFF_MAX_MS
                               ? BACKOFF_MAX_MS
                               : slot->backoff_ms * 2;
    }
    if (clean)
        LOGW("supervisor", "worker %d (pid %d) exited by itself; restarting "
             "it in %lld ms", c->number, c->pid, (long long)delay);
    else
        LOGI("supervisor", "restarting worker %d in %lld ms (%u restart(s) "
             "so far)", c->number, (long long)delay, slot->restarts);
    schedule_restart(slot, delay);
}

/* ---- the tick ---------------------------------------------------------- */

static long long read_rss(int pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    long long size = 0, resident = 0;
    if (fgets(buf, sizeof buf, f) == NULL ||
        sscanf(buf, "%lld %lld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Replaced by a fresh worker at once; it finishes its running jobs
 * (SIGTERM: its own drain) and exits. */
static void recycle(supervisor_t *s, child_t *c, const char *why)
{
    worker_slot_t *slot = &s->slots[c->number - 1];
    if (s->recycle_wait)
        return; /* one at a time: the next once this one's replacement is
                   ready, so the fleet never drains all at once */
    s->recycle_wait = c->number;
    c->retiring = 1;
    if (slot->current == c)
        slot->current = NULL;
    slot->restarts++;
    slot->by_cause[CAUSE_RECYCLED]++;
    snprintf(slot->last_cause, sizeof slot->last_cause, "recycled: %s", why);
    LOGI("supervisor", "worker %d (pid %d) is recycled: %s; a fresh worker "
         "takes its place while it finishes its running jobs", c->number,
         c->pid, why);
    kill(c->pid, SIGTERM);
    schedule_restart(slot, 0);
}

static void hard_kill(child_t *c, kill_reason_t why, int sig)
{
    c->killed = why;
    kill(c->pid, sig);
    c->sigkill_at = sig == SIGKILL ? 0 : util_mono_ms() + ABORT_TO_KILL_MS;
}

static void check_child(supervisor_t *s, child_t *c, int64_t now)
{
    board_t *b = c->board;
    uint32_t state = atomic_load(&b->state);
    if (state == BOARD_READY && !c->ready_seen) {
        c->ready_seen = 1;
        if (s->cfg->max_memory > 0)
            c->rss_ready = read_rss(c->pid);
        if (s->recycle_wait == c->number && !c->retiring)
            s->recycle_wait = 0; /* the replacement serves: next one */
        if (c->rss_ready > s->cfg->max_memory && s->cfg->max_memory > 0)
            LOGW("supervisor", "worker %d (pid %d) starts with RSS %lld MiB, "
                 "over --max-memory %lld MiB: it is not recycled for it "
                 "(it would only start again as big); raise --max-memory",
                 c->number, c->pid, c->rss_ready >> 20,
                 s->cfg->max_memory >> 20);
    }
    if (!s->first_ready && state == BOARD_READY) {
        s->first_ready = 1;
        for (int i = 0; i < s->wc->n_queues; i++)
            supervisor_queue(s, i); /* Redis works: connect ahead of any
                                       death */
        for (int i = 0; i < s->cfg->workers; i++)
            if (s->slots[i].current == NULL && s->slots[i].restart_at == 0)
                schedule_restart(&s->slots[i], 0);
    }
    if (c->sigkill_at && now >= c->sigkill_at) {
        LOGW("supervisor", "worker %d (pid %d) is still alive %d ms after "
             "SIGABRT: SIGKILL", c->number, c->pid, ABORT_TO_KILL_MS);
        kill(c->pid, SIGKILL);
        c->sigkill_at = 0;
    }
    if (c->killed != KILL_NONE)
        return;
    uint32_t kill_me = BOARD_KILL_ME;
    if (state == BOARD_KILL_ME &&
        atomic_compare_exchange_strong(&b->state, &kill_me, BOARD_KILLING)) {
        LOGW("supervisor", "worker %d (pid %d): a handler overran its "
             "deadline and --timeout-grace and its other jobs are done: "
             "stopping it (SIGABRT, then SIGKILL)", c->number, c->pid);
        hard_kill(c, KILL_OVERRUN, SIGABRT);
        return;
    }
    if (s->cfg->max_memory > 0) {
        c->rss = read_rss(c->pid);
        if (c->rss > s->ceiling) {
            LOGW("supervisor", "worker %d (pid %d): RSS %lld MiB passed the "
                 "ceiling of %lld MiB: killing it (SIGKILL)", c->number,
                 c->pid, c->rss >> 20, s->ceiling >> 20);
            hard_kill(c, KILL_MEMORY, SIGKILL);
            return;
        }
    }
    int64_t beat = atomic_load(&b->heartbeat_ms);
    if ((state == BOARD_READY || state == BOARD_DRAINING) &&
        now - beat > WEDGED_MS) {
        LOGE("supervisor", "worker %d (pid %d): its event loop has not "
             "turned for %lld ms: killing it (SIGABRT, then SIGKILL)",
             c->number, c->pid, (long long)(now - beat));
        hard_kill(c, KILL_WEDGED, SIGABRT);
        return;
    }
    if (c->retiring || s->stopping || state != BOARD_READY)
        return;
    char why[160];
    unsigned long long done = atomic_load(&b->jobs_done);
    if (s->cfg->max_memory > 0 && c->rss > s->cfg->max_memory &&
        c->rss_ready <= s->cfg->max_memory) {
        snprintf(why, sizeof why, "RSS %lld MiB is over --max-memory %lld "
                 "MiB", c->rss >> 20, s->cfg->max_memory >> 20);
        recycle(s, c, why);
    } else if (s->cfg->max_jobs > 0 && done >= (unsigned long long)
                                                   s->cfg->max_jobs) {
        snprintf(why, sizeof why, "it ran %llu jobs "
                 "(--max-jobs-per-worker %lld)", done, s->cfg->max_jobs);
        recycle(s, c, why);
    } else if (atomic_load(&b->restart_wanted)) {
        recycle(s, c, "a plugin it cannot unload in place has a new build, "
                "or a generation leaked");
    }
}

/* ---- signals and the tick ---------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    supervisor_t *s = h->data;
    if (signum == SIGHUP) {
        if (!s->stopping)
            supervisor_roll_start(s);
    } else if (signum == SIGUSR1) {
        supervisor_log_workers(s);
    } else {
        begin_stop(s, signum == SIGTERM ? "SIGTERM" : "SIGINT");
        maybe_finish(s);
    }
}

static void on_tick(uv_timer_t *t)
{
    supervisor_t *s = t->data;
    int64_t now = util_mono_ms();
    for (child_t *c = s->children; c; c = c->next)
        if (!c->exited)
            check_child(s, c, now);
    if (s->stopping) {
        if (now >= s->stop_deadline)
            for (child_t *c = s->children; c; c = c->next)
                if (!c->exited && c->killed == KILL_NONE) {
                    LOGW("supervisor", "worker %d (pid %d) still running at "
                         "the end of the shutdown budget: SIGKILL",
                         c->number, c->pid);
                    hard_kill(c, KILL_STOP, SIGKILL);
                }
        maybe_finish(s);
        return;
    }
    for (int i = 0; i < s->cfg->workers; i++) {
        worker_slot_t *slot = &s->slots[i];
        child_t *c = slot->current;
        if (c == NULL && slot->restart_at && now >= slot->restart_at)
            spawn(s, i + 1);
        else if (c && now - c->spawned_at > STABLE_MS &&
                 atomic_load(&c->board->state) == BOARD_READY) {
            slot->backoff_ms = BACKOFF_MIN_MS;
            slot->n_crashes = 0;
        }
    }
    supervisor_roll_check(s, now);
}

int supervisor_run(const supervisor_config_t *cfg)
{
    supervisor_t s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.wc = cfg->worker;
    s.ceiling = cfg->memory_ceiling ? cfg->memory_ceiling
                                    : cfg->max_memory + cfg->max_memory / 2;
    ssize_t n = readlink("/proc/self/exe", s.exe, sizeof s.exe - 1);
    if (n <= 0) {
        LOGE("supervisor", "cannot find the jobrt binary (/proc/self/exe): "
             "%s", strerror(errno));
        return 1;
    }
    s.exe[n] = '\0';
    snprintf(s.host, sizeof s.host, "host");
    gethostname(s.host, sizeof s.host - 1);
    snprintf(s.consumer, sizeof s.consumer, "supervisor:%.200s-%d", s.host,
             (int)getpid());
    s.slots = calloc((size_t)cfg->workers, sizeof *s.slots);
    if (s.slots == NULL) {
        LOGE("supervisor", "out of memory");
        return 1;
    }
    for (int i = 0; i < cfg->workers; i++)
        s.slots[i].backoff_ms = BACKOFF_MIN_MS;
    s.memory_kills = idset_create(4096);
    signal(SIGHUP, SIG_IGN); /* until the handler below is set */
    uv_loop_init(&s.loop);
    uv_signal_t *sigs[] = {&s.sigterm, &s.sigint, &s.sighup, &s.sigusr1};
    const int signums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (int i = 0; i < 4; i++) {
        uv_signal_init(&s.loop, sigs[i]);
        sigs[i]->data = &s;
        uv_signal_start(sigs[i], on_signal, signums[i]);
    }
    uv_timer_init(&s.loop, &s.tick);
    s.tick.data = &s;
    uv_timer_start(&s.tick, on_tick, TICK_MS, TICK_MS);
    LOGI("supervisor", "jobrt supervisor pid %d: %d worker process(es) for "
         "queue %s, %d slot(s) each; the first starts now, the others once "
         "it is ready", (int)getpid(), cfg->workers, s.wc->queue,
         s.wc->concurrency);
    if (supervisor_ops_start(&s) != 0) {
        close_all(&s);
        uv_run(&s.loop, UV_RUN_DEFAULT);
        uv_loop_close(&s.loop);
        free(s.slots);
        free(s.gone);
        free(s.gone_view);
        idset_destroy(s.memory_kills);
        return 1;
    }
    spawn(&s, 1);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&s.loop) != 0)
        LOGD("supervisor", "event loop closed with handles still open");
    free(s.slots);
    free(s.gone);
    free(s.gone_view);
    idset_destroy(s.memory_kills);
    return s.exit_code;
}
