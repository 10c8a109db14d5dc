/*
 * stress_threads.c - the executor, router and loader under concurrency, as
 * a plain program (no test framework) so it can run under ThreadSanitizer:
 * Criterion itself cannot start under TSan (its arena setup aborts).
 *
 * It loads the testkit plugin through the real loader, then:
 *  - 4 threads resolve and release routes 200 000 times while the loop
 *    thread dispatches, checking the plugin's in-flight count returns to 0;
 *  - 5 000 jobs go through a 4-thread executor, some of them cancelled
 *    mid-run with executor_cancel_all, and every job must come back once;
 *  - 4 threads report progress into one job's slot (exec/progress.h)
 *    while this thread takes it: every report taken is whole.
 * Exits 0 on success, 1 with a message on the first failed check.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "exec/executor.h"
#include "exec/progress.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "plugin/router.h"

#define N_JOBS 5000
#define N_SLOTS 64

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "stress_threads: FAIL: " __VA_ARGS__);          \
            fprintf(stderr, "\n");                                          \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

typedef struct {
    uv_loop_t *loop;
    executor_t *ex;
    router_t *router;
    struct jobrt_job slots[N_SLOTS];
    struct jobrt_job *free_list;
    int submitted, done, ok, retried, cancels;
    uv_timer_t deadline, sweeper;
} ctx_t;

static void *route_hammer(void *arg)
{
    router_t *r = arg;
    for (int i = 0; i < 50000; i++) {
        const plugin_handler_t *h;
        route_status_t st = router_acquire(r, "ok", 2, 1, &h);
        CHECK(st == ROUTE_OK, "route ok v1 not found");
        router_release(h);
        CHECK(router_acquire(r, "versioned", 9, 7, &h) ==
                  ROUTE_SCHEMA_UNSUPPORTED,
              "versioned v7 should be unsupported");
    }
    return NULL;
}

static void submit_one(ctx_t *c)
{
    struct jobrt_job *job = c->free_list;
    c->free_list = job->next;
    char id[32], why[256];
    snprintf(id, sizeof id, "s-%d", c->submitted);
    /* every 10th job sleeps long enough to be cancelled mid-run */
    int slow = c->submitted % 10 == 0;
    strview_t fv[] = {{"job", 3},     {slow ? "sleep" : "ok", slow ? 5u : 2u},
                      {"v", 1},       {"1", 1},
                      {"payload", 7}, {slow ? "{\"ms\":5000}" : "{}", slow ? 11u : 2u},
                      {"id", 2},      {id, strlen(id)}};
    CHECK(job_load_entry(job, "1-0", fv, 8, why, sizeof why) == 0, "%s", why);
    const plugin_handler_t *h;
    CHECK(router_acquire(c->router, job->env.job.ptr, job->env.job.len, 1,
                         &h) == ROUTE_OK,
          "no route for %s", job->env.job.ptr);
    job->handler = h;
    job->timeout_ms = 10000;
    job->max_payload = 1 << 20;
    executor_submit(c->ex, job);
    c->submitted++;
}

static void on_done(void *arg, struct jobrt_job *done)
{
    ctx_t *c = arg;
    while (done) {
        struct jobrt_job *job = done;
        done = job->next;
        c->done++;
        if (job->outcome == JOBRT_OK)
            c->ok++;
        else
            c->retried++;
        router_release(job->handler);
        job->handler = NULL;
        job->next = c->free_list;
        c->free_list = job;
    }
    while (c->free_list && c->submitted < N_JOBS)
        submit_one(c);
    if (c->done == N_JOBS)
        uv_stop(c->loop);
}

/* Every 20 ms, cancel whatever runs (the slow jobs sleep 5 s unless
 * cancelled), racing the worker threads that pick and finish jobs. */
static void on_sweep(uv_timer_t *t)
{
    ctx_t *c = t->data;
    executor_cancel_all(c->ex);
    c->cancels++;
}

static void on_deadline(uv_timer_t *t)
{
    ctx_t *c = t->data;
    CHECK(0, "deadline: only %d of %d jobs came back", c->done, N_JOBS);
}

static atomic_int progress_hammers;

/* One handler-side thread's reports: the message names the percent. */
static void *progress_hammer(void *arg)
{
    progress_slot_t *s = arg;
    char msg[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(msg, sizeof msg, "step %d of the run", i % 101);
        progress_set(s, i % 101, msg, i);
    }
    atomic_fetch_sub(&progress_hammers, 1);
    return NULL;
}

static void progress_stress(void)
{
    static progress_slot_t s;
    progress_reset(&s);
    pthread_t t[4];
    atomic_store(&progress_hammers, 4);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, progress_hammer, &s);
    int64_t now = 0;
    unsigned taken = 0;
    while (atomic_load(&progress_hammers) > 0) {
        progress_report_t r;
        now += PROGRESS_WRITE_EVERY_MS;
        if (!progress_take(&s, now, &r))
            continue;
        taken++;
        char want[64];
        snprintf(want, sizeof want, "step %d of the run", r.percent);
        CHECK(strcmp(r.message, want) == 0, "torn progress report: %d%% '%s'",
              r.percent, r.message);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(taken > 1, "only %u progress reports taken", taken);
    printf("stress_threads: %u progress reports taken while 4 threads "
           "reported: ok\n", taken);
}

int main(int argc, char **argv)
{
    progress_stress();
    const char *dir = argc > 1 ? argv[1] : JOBRT_TESTKIT_DIR;
    char err[512];
    loader_t *l = loader_create(NULL, host_api_get(), err, sizeof err);
    CHECK(l, "%s", err);
    plugin_set_t set = {0};
    CHECK(loader_scan_dir(l, dir, &set, NULL, NULL, err, sizeof err) == 0,
          "loading %s: %s", dir, err);

    static ctx_t c;
    uv_loop_t loop;
    uv_loop_init(&loop);
    c.loop = &loop;
    c.router = router_create(&set);
    c.ex = executor_create(&loop, 4, on_done, &c);
    CHECK(c.router && c.ex, "setup failed");
    for (int i = 0; i < N_SLOTS; i++) {
        c.slots[i].next = c.free_list;
        c.free_list = &c.slots[i];
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, route_hammer, c.router);
    uv_timer_init(&loop, &c.deadline);
    c.deadline.data = &c;
    uv_timer_start(&c.deadline, on_deadline, 120000, 0);
    uv_timer_init(&loop, &c.sweeper);
    c.sweeper.data = &c;
    uv_timer_start(&c.sweeper, on_sweep, 20, 20);
    while (c.free_list && c.submitted < N_JOBS)
        submit_one(&c);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    CHECK(c.done == N_JOBS, "%d of %d jobs came back", c.done, N_JOBS);
    for (const struct jobrt_plugin *p = set.head; p; p = p->next)
        CHECK(atomic_load(&p->inflight) == 0, "plugin %s: %u still in flight",
              p->name, atomic_load(&p->inflight));
    printf("stress_threads: %d jobs (%d ok, %d not ok after %d cancel sweeps), "
           "200000 concurrent route lookups: ok\n",
           c.done, c.ok, c.retried, c.cancels);

    uv_timer_stop(&c.deadline);
    uv_close((uv_handle_t *)&c.deadline, NULL);
    uv_timer_stop(&c.sweeper);
    uv_close((uv_handle_t *)&c.sweeper, NULL);
    executor_destroy(c.ex, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (int i = 0; i < N_SLOTS; i++)
        job_free_buffers(&c.slots[i]);
    router_destroy(c.router);
    plugin_set_unload_all(&set);
    loader_destroy(l);
    return 0;
}
