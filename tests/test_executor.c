/*
 * test_executor.c - unit tests for the executor: jobs built from stream
 * entries, routed to the real testkit plugin, run on worker threads and
 * handed back on a real libuv loop. Covers result/outcome plumbing, the
 * deadline (timeout) and cancel flag, payload validation before the
 * handler, and destroy semantics. A uv timer bounds every wait, so a hang
 * fails the test instead of blocking it.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "exec/executor.h"
#include "plugin/host_api.h"
#include "plugin/loader.h"
#include "plugin/router.h"

#define TESTKIT JOBRT_TESTKIT_DIR "/testkit.so"
#define MAX_JOBS 256

static uv_loop_t loop;
static uv_timer_t deadline_timer;
static executor_t *ex;
static loader_t *loader;
static plugin_set_t set;
static router_t *router;

static struct jobrt_job *jobs[MAX_JOBS];
static int n_jobs;

static struct jobrt_job *returned[MAX_JOBS];
static int n_returned, expected, timed_out, batches;
static char record_path[256];

static void on_done(void *arg, struct jobrt_job *done)
{
    cr_assert_eq(arg, &loop, "on_done must get the arg given to create");
    batches++;
    for (struct jobrt_job *j = done; j; j = j->next) {
        cr_assert_lt(n_returned, MAX_JOBS);
        returned[n_returned++] = j;
    }
    if (n_returned >= expected)
        uv_stop(&loop);
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    timed_out = 1;
    uv_stop(&loop);
}

/* Every test calls this first (and teardown() last): fixtures are explicit
 * calls rather than TestSuite(.init/.fini), which cppcheck cannot parse. */
static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(uv_timer_init(&loop, &deadline_timer), 0);
    char err[256] = "";
    loader = loader_create(NULL, host_api_get(), err, sizeof err);
    cr_assert_not_null(loader, "%s", err);
    char why[512] = "";
    cr_assert_not_null(loader_load_file(loader, TESTKIT, &set, why,
                                        sizeof why),
                       "testkit: %s", why);
    router = router_create(&set);
    cr_assert_not_null(router);
    snprintf(record_path, sizeof record_path,
             "/tmp/jobrt-test-executor-%ld.rec", (long)getpid());
    unlink(record_path);
    setenv("JOBRT_TESTKIT_RECORD", record_path, 1);
}

static void start(int threads)
{
    ex = executor_create(&loop, threads, on_done, &loop);
    cr_assert_not_null(ex);
}

static void teardown(void)
{
    if (ex)
        executor_destroy(ex, 0);
    ex = NULL;
    uv_close((uv_handle_t *)&deadline_timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT); /* runs the close callbacks */
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open on the loop");
    for (int i = 0; i < n_jobs; i++) {
        router_release(jobs[i]->handler);
        job_free_buffers(jobs[i]);
        free(jobs[i]);
    }
    n_jobs = 0;
    if (set.head)
        cr_assert_eq(atomic_load(&set.head->inflight), 0u);
    router_destroy(router);
    plugin_set_unload_all(&set);
    loader_destroy(loader);
    unlink(record_path);
}

/* Builds a routed job from field/value strings (NULL-terminated list). */
static struct jobrt_job *make_job_fv(const char *const *fv, uint32_t timeout,
                                     size_t max_payload)
{
    strview_t v[16];
    size_t n = 0;
    while (fv[n]) {
        cr_assert_lt(n, 16u);
        v[n].ptr = fv[n];
        v[n].len = strlen(fv[n]);
        n++;
    }
    cr_assert_lt(n_jobs, MAX_JOBS);
    struct jobrt_job *job = calloc(1, sizeof *job);
    cr_assert_not_null(job);
    jobs[n_jobs++] = job;
    char why[256] = "";
    char sid[48];
    snprintf(sid, sizeof sid, "1700000000000-%d", n_jobs);
    cr_assert_eq(job_load_entry(job, sid, v, n, why, sizeof why), 0,
                 "job_load_entry: %s", why);
    const plugin_handler_t *h = NULL;
    cr_assert_eq(router_acquire(router, job->env.job.ptr, job->env.job.len,
                                job->env.version, &h),
                 ROUTE_OK);
    job->handler = h;
    job->timeout_ms = timeout;
    job->max_payload = max_payload;
    job->max_attempts = 3;
    return job;
}

static struct jobrt_job *make_job(const char *name, const char *v,
                                  const char *payload, const char *id,
                                  uint32_t timeout)
{
    const char *fv[] = {"job", name, "v", v, "payload", payload,
                        id ? "id" : NULL, id, NULL};
    return make_job_fv(fv, timeout, 1 << 20);
}

/* Runs the loop until `want` jobs came back or limit_ms passed. */
static void run_until(int want, uint64_t limit_ms)
{
    expected = want;
    timed_out = 0;
    cr_assert_eq(uv_timer_start(&deadline_timer, on_deadline, limit_ms, 0),
                 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_timer_stop(&deadline_timer);
    cr_assert_eq(timed_out, 0, "only %d of %d jobs came back within %llu ms",
                 n_returned, want, (unsigned long long)limit_ms);
    cr_assert_eq(n_returned, want);
}

static int result_is(const struct jobrt_job *j, const char *want)
{
    return j->has_result && j->result.len == strlen(want) &&
           memcmp(j->result.data, want, j->result.len) == 0;
}

Test(executor, two_hundred_ok_jobs)
{
    setup();
    enum { N = 200 };
    start(4);
    for (int i = 0; i < N; i++) {
        char id[32], attempt[8];
        snprintf(id, sizeof id, "job-%d", i);
        snprintf(attempt, sizeof attempt, "%d", i % 3 + 1);
        const char *fv[] = {"job", "ok", "v", "1", "payload", "{}",
                            "id", id, "attempt", attempt, NULL};
        executor_submit(ex, make_job_fv(fv, 0, 1 << 20));
    }
    cr_assert_eq(executor_inflight(ex), (size_t)N);
    run_until(N, 10000);
    cr_assert_eq(executor_inflight(ex), 0u);
    cr_assert_leq(batches, N);

    static int seen[N];
    memset(seen, 0, sizeof seen);
    for (int k = 0; k < N; k++) {
        struct jobrt_job *j = returned[k];
        int i = -1;
        cr_assert_eq(sscanf(j->id, "job-%d", &i), 1, "id '%s'", j->id);
        cr_assert(i >= 0 && i < N);
        cr_assert_eq(j, jobs[i], "job %d came back as a different object", i);
        seen[i]++;
        cr_assert_eq(j->disposition, JOB_RAN);
        cr_assert_eq(j->outcome, JOBRT_OK, "%s: %s", j->id, j->error);
        char want[64];
        snprintf(want, sizeof want, "{\"ok\":true,\"attempt\":%d}", i % 3 + 1);
        cr_assert(result_is(j, want), "%s: result [%.*s], want %s", j->id,
                  (int)j->result.len, j->has_result ? j->result.data : "",
                  want);
        cr_assert_str_eq(j->error, "");
        cr_assert_gt(j->started_ms, 0);
        cr_assert_geq(j->finished_ms, j->started_ms);
        cr_assert_eq(j->deadline_ms, 0, "timeout 0 means no deadline");
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(seen[i], 1, "job-%d came back %d times", i, seen[i]);
    teardown();
}

/* Threads of this process, from /proc/self/task. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Threads are started on demand and woken one at a time (cheap jobs then
 * run on few threads); jobs that block must still spread over every
 * thread, and no more threads than the limit may start. Only 24 jobs
 * running side by side can pass the testkit's gather rendezvous. */
Test(executor, blocking_jobs_use_every_thread)
{
    setup();
    enum { N = 24 };
    int before = count_threads();
    start(N);
    cr_assert_eq(count_threads(), before + 1, "an idle pool holds one thread");
    for (int i = 0; i < N; i++)
        executor_submit(ex, make_job("gather", "1", "{\"n\":24}", NULL, 0));
    run_until(N, 15000);
    for (int k = 0; k < N; k++) {
        const struct jobrt_job *j = returned[k];
        cr_assert_eq(j->outcome, JOBRT_OK, "%s", j->error);
        cr_assert(result_is(j, "{\"peak\":24}"), "result [%.*s]",
                  (int)j->result.len, j->has_result ? j->result.data : "");
    }
    cr_assert_eq(count_threads(), before + N, "threads started, limit %d", N);
    teardown();
}

Test(executor, retry_and_fail_outcomes)
{
    setup();
    start(4);
    struct jobrt_job *r = make_job("retry", "1", "{}", "r-1", 0);
    struct jobrt_job *f = make_job("fail", "1", "{}", "f-1", 0);
    const char *fv[] = {"job", "flaky", "v", "1", "payload",
                        "{\"succeed_on\":2}", "attempt", "1", NULL};
    struct jobrt_job *fl1 = make_job_fv(fv, 0, 1 << 20);
    fv[7] = "2";
    struct jobrt_job *fl2 = make_job_fv(fv, 0, 1 << 20);
    executor_submit(ex, r);
    executor_submit(ex, f);
    executor_submit(ex, fl1);
    executor_submit(ex, fl2);
    run_until(4, 10000);

    cr_assert_eq(r->disposition, JOB_RAN);
    cr_assert_eq(r->outcome, JOBRT_RETRY);
    cr_assert_str_eq(r->error, "transient 1");
    cr_assert_eq(r->has_result, 0);

    cr_assert_eq(f->outcome, JOBRT_FAIL);
    cr_assert_str_eq(f->error, "permanent: bad input");

    cr_assert_eq(fl1->outcome, JOBRT_RETRY);
    cr_assert_str_eq(fl1->error, "flaky: attempt 1 of 2");
    cr_assert_eq(fl2->outcome, JOBRT_OK, "%s", fl2->error);
    cr_assert(result_is(fl2, "{\"attempt\":2}"));
    teardown();
}

Test(executor, versioned_routes)
{
    setup();
    start(2);
    struct jobrt_job *v1 = make_job("versioned", "1", "{}", NULL, 0);
    struct jobrt_job *v3 = make_job("versioned", "3", "{}", NULL, 0);
    executor_submit(ex, v1);
    executor_submit(ex, v3);
    run_until(2, 10000);
    cr_assert(result_is(v1, "{\"v\":1}"));
    cr_assert(result_is(v3, "{\"v\":\"2-3\"}"));
    /* no id field: the job id is the stream entry id */
    cr_assert(strncmp(v1->id, "1700000000000-", 14) == 0, "%s", v1->id);
    teardown();
}

Test(executor, sleep_job_times_out)
{
    setup();
    start(4);
    struct jobrt_job *j = make_job("sleep", "1", "{\"ms\":2000}", "s-1", 50);
    int64_t t0 = util_mono_ms();
    executor_submit(ex, j);
    run_until(1, 5000);
    int64_t elapsed = util_mono_ms() - t0;
    cr_assert_lt(elapsed, 1000, "deadline not honoured: took %lld ms",
                 (long long)elapsed);
    cr_assert_geq(elapsed, 40, "returned before its deadline: %lld ms",
                  (long long)elapsed);
    cr_assert_eq(j->disposition, JOB_RAN);
    cr_assert_eq(j->outcome, JOBRT_RETRY);
    cr_assert(strstr(j->error, "timeout") != NULL, "error: %s", j->error);
    cr_assert(strstr(j->error, "50 ms") != NULL, "error: %s", j->error);
    cr_assert_eq(j->deadline_ms, j->started_ms + 50);
    teardown();
}

Test(executor, sleep_job_within_deadline_succeeds)
{
    setup();
    start(1);
    struct jobrt_job *j = make_job("sleep", "1", "{\"ms\":20}", "s-2", 5000);
    executor_submit(ex, j);
    run_until(1, 5000);
    cr_assert_eq(j->outcome, JOBRT_OK, "%s", j->error);
    cr_assert_str_eq(j->error, "");
    cr_assert_geq(j->finished_ms - j->started_ms, 15);
    teardown();
}

static int file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)st.st_size : -1;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(executor, invalid_payload_skips_handler)
{
    setup();
    start(2);
    struct jobrt_job *bad = make_job("record", "1", "{", "bad-1", 0);
    struct jobrt_job *good = make_job("record", "1", "{}", "good-1", 0);
    executor_submit(ex, bad);
    executor_submit(ex, good);
    run_until(2, 10000);

    cr_assert_eq(bad->disposition, JOB_INVALID_PAYLOAD);
    cr_assert_neq(bad->outcome, JOBRT_OK);
    cr_assert(strstr(bad->error, "payload") != NULL, "%s", bad->error);
    cr_assert_eq(bad->has_result, 0);

    cr_assert_eq(good->disposition, JOB_RAN);
    cr_assert_eq(good->outcome, JOBRT_OK, "%s", good->error);
    const char *rec = read_all(record_path);
    cr_assert_not_null(rec, "the valid record job did not run");
    cr_assert_str_eq(rec, "good-1\n", "only the valid job may run the handler");
    teardown();
}

Test(executor, payload_over_limit_skips_handler)
{
    setup();
    start(1);
    const char *fv[] = {"job", "record", "v", "1", "payload",
                        "{\"data\":\"0123456789012345678901234567890\"}",
                        "id", "big-1", NULL};
    struct jobrt_job *j = make_job_fv(fv, 0, 16);
    executor_submit(ex, j);
    run_until(1, 10000);
    cr_assert_eq(j->disposition, JOB_PAYLOAD_TOO_LARGE,
                 "disposition %d outcome %d max_payload %zu payload %zu: %s",
                 (int)j->disposition, j->outcome, j->max_payload,
                 j->env.payload.len, j->error);
    cr_assert_neq(j->outcome, JOBRT_OK);
    cr_assert(strstr(j->error, "limit") != NULL, "%s", j->error);
    cr_assert_eq(file_size(record_path), -1, "handler ran on a big payload");
    teardown();
}

static uv_timer_t cancel_timer;

static void on_cancel(uv_timer_t *t)
{
    (void)t;
    executor_cancel_all(ex);
}

Test(executor, cancel_all_stops_running_job)
{
    setup();
    start(2);
    cr_assert_eq(uv_timer_init(&loop, &cancel_timer), 0);
    struct jobrt_job *j = make_job("sleep", "1", "{\"ms\":5000}", "c-1", 0);
    int64_t t0 = util_mono_ms();
    executor_submit(ex, j);
    cr_assert_eq(uv_timer_start(&cancel_timer, on_cancel, 150, 0), 0);
    run_until(1, 4000);
    int64_t elapsed = util_mono_ms() - t0;
    uv_close((uv_handle_t *)&cancel_timer, NULL);
    cr_assert_lt(elapsed, 2000, "cancel ignored: took %lld ms",
                 (long long)elapsed);
    cr_assert_geq(elapsed, 100, "came back before the cancel: %lld ms",
                  (long long)elapsed);
    cr_assert_eq(j->outcome, JOBRT_RETRY);
    cr_assert_str_eq(j->error, "cancelled",
                     "no deadline, so no timeout prefix: %s", j->error);
    cr_assert_eq(atomic_load(&j->cancel), 1);
    teardown();
}

Test(executor, record_jobs_run_once_each)
{
    setup();
    enum { N = 50 };
    start(4);
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "rec-%d", i);
        executor_submit(ex, make_job("record", "1", "{}", id, 0));
    }
    run_until(N, 10000);
    const char *rec = read_all(record_path);
    cr_assert_not_null(rec);
    for (int i = 0; i < N; i++) {
        char line[40];
        snprintf(line, sizeof line, "rec-%d\n", i);
        const char *p = strstr(rec, line);
        /* match whole lines only */
        while (p && p != rec && p[-1] != '\n')
            p = strstr(p + 1, line);
        cr_assert_not_null(p, "rec-%d never ran", i);
        const char *q = strstr(p + 1, line);
        while (q && q[-1] != '\n')
            q = strstr(q + 1, line);
        cr_assert_null(q, "rec-%d ran twice", i);
    }
    teardown();
}

Test(executor, destroy_does_not_run_queued_jobs)
{
    setup();
    start(1);
    struct jobrt_job *s = make_job("sleep", "1", "{\"ms\":300}", "s-q", 0);
    executor_submit(ex, s);
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "queued-%d", i);
        executor_submit(ex, make_job("record", "1", "{}", id, 0));
    }
    /* Let the loop hand the batch to the executor and the one thread take
     * the sleep job: the five record jobs then wait in the executor's own
     * queue, which is what destroy must not run. */
    for (int i = 0; i < 2000 && atomic_load(&s->cancel) == 0 &&
                    *(volatile int64_t *)&s->started_ms == 0;
         i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    cr_assert_neq(*(volatile int64_t *)&s->started_ms, 0,
                  "the sleep job never started on the executor's thread");
    cr_assert_eq(file_size(record_path), -1, "a record job ran too early");
    executor_destroy(ex, 0); /* joins the thread once the sleep returns */
    ex = NULL;
    cr_assert_eq(file_size(record_path), -1,
                 "jobs still queued at destroy must never run");
    cr_assert_eq(n_returned, 0, "nothing is handed back after destroy");
    teardown();
}

/* Shutdown flags every job still queued or running, but a job a user
 * cancelled stays cancelled by the user: outcome.c dead-letters that one
 * as cancelled and hands the others back. */
Test(executor, cancel_all_keeps_a_users_cancel)
{
    setup();
    start(2);
    struct jobrt_job *mine = make_job("sleep", "1", "{\"ms\":5000}", "u-1", 0);
    struct jobrt_job *other = make_job("sleep", "1", "{\"ms\":5000}", "u-2", 0);
    atomic_store(&mine->cancel, JOB_CANCEL_USER);
    executor_submit(ex, mine);
    executor_submit(ex, other);
    executor_cancel_all(ex);
    cr_assert_eq(atomic_load(&mine->cancel), JOB_CANCEL_USER);
    cr_assert_eq(atomic_load(&other->cancel), JOB_CANCEL_SHUTDOWN);
    run_until(2, 3000); /* both see their flag and return at once */
    teardown();
}
