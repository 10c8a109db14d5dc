/*
 * test_api.c - the dashboard's JSON API (http/api.c, http/api_dlq.c)
 * against a real redis-server: the overview of a filled queue (numbers,
 * the live worker and what it serves, the running jobs with their
 * progress, the rollout rows, the newest dead
 * letters, the local view verbatim); DLQ pages, one entry, and retry and
 * purge moving or deleting exactly the entries named; bad bodies and
 * queries give 400, wrong methods 405, unknown paths 404, and no Redis
 * connection 503; bytes that are not UTF-8 still make valid JSON.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http/api.h"
#include "http/api_internal.h"
#include "support/test_redis.h"

#define QS "jobrt:{q}:stream"
#define QD "jobrt:{q}:dlq"

static test_redis_t server;
static redisContext *c;
static redisReply *last;
static queue_keys_t keys;
static buf_t out;

static void setup(void)
{
    char err[128];
    c = test_redis_start(&server, "api");
    cr_assert_eq(queue_keys_init(&keys, "jobrt", "q", err, sizeof err), 0);
}

static void teardown(void)
{
    if (last)
        freeReplyObject(last);
    last = NULL;
    buf_free(&out);
    redisFree(c);
    test_redis_stop(&server);
}

/* Each test calls setup() and teardown() itself: cppcheck cannot parse a
 * TestSuite with .init/.fini. The server dies with the test process if an
 * assertion ends it first. */

static api_ctx_t ctx(redisContext *conn, const char *local)
{
    api_ctx_t a = {conn, &keys, "jobrt", "q", "jobrt", local,
                   local ? strlen(local) : 0, NULL, NULL, 0};
    return a;
}

/* Calls the API; returns the status and parses the body into *doc (which
 * must be JSON, whatever the status). */
static int call(redisContext *conn, const char *method, const char *path,
                const char *query, const char *body, cJSON **doc)
{
    api_ctx_t a = ctx(conn, NULL);
    int status = api_handle(&a, method, path, query, body,
                            body ? strlen(body) : 0, &out);
    cJSON *d = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_not_null(d, "%s %s: body is not JSON: %.*s", method, path,
                       (int)out.len, out.data);
    if (doc)
        *doc = d;
    else
        cJSON_Delete(d);
    return status;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsString(x), "member %s is not a string", name);
    return x->valuestring;
}

static double num_of(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsNumber(x), "member %s is not a number", name);
    return x->valuedouble;
}

static const cJSON *arr_of(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsArray(x), "member %s is not an array", name);
    return x;
}

static long long server_now(void)
{
    redisReply *t = test_redis_cmd(c, &last, "TIME");
    return atoll(t->element[0]->str) * 1000 +
           atoll(t->element[1]->str) / 1000;
}

/* A dead letter as the worker writes one, with entry id `entry`. */
static void dead_letter(const char *entry, const char *job_id,
                        const char *job, const char *reason)
{
    test_redis_cmd(c, &last, "XADD " QD " %s id %s job %s v 1 payload "
                   "{\"n\":1} attempt 3 dlq_reason %s dlq_error boom "
                   "dlq_worker w1 dlq_at 1700000000000 dlq_source_id 1-0",
                   entry, job_id, job, reason);
}

/* The row of (job, version) in the overview's rollout array. */
static const cJSON *rollout_row(const cJSON *doc, const char *job, int v)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, arr_of(doc, "rollout"))
    {
        if (strcmp(str_of(r, "job"), job) == 0 &&
            (int)num_of(r, "version") == v)
            return r;
    }
    cr_assert_fail("no rollout row for %s v%d", job, v);
    return NULL;
}

/* ---- overview ------------------------------------------------------------ */

Test(api, overview_of_a_filled_queue)
{
    setup();
    for (int i = 1; i <= 3; i++)
        test_redis_cmd(c, &last, "XADD " QS " %d-0 id a%d job a v 1 "
                       "payload {}", i, i);
    test_redis_cmd(c, &last, "XADD " QS " 4-0 id a4 job a v 2 payload {}");
    test_redis_cmd(c, &last, "XADD " QS " 5-0 id b1 job b v 1 payload {}");
    test_redis_cmd(c, &last, "XGROUP CREATE " QS " jobrt 0");
    test_redis_cmd(c, &last, "XREADGROUP GROUP jobrt w1 COUNT 1 STREAMS "
                   QS " >");
    test_redis_cmd(c, &last, "ZADD jobrt:{q}:delayed 1 m1");
    dead_letter("10-1", "x1", "a", "permanent_failure");
    dead_letter("11-1", "x2", "b", "no_handler");
    long long now = server_now();
    const char *rec =
        "{\"v\":1,\"consumer\":\"w1\",\"host\":\"box\",\"pid\":42,"
        "\"ns\":\"jobrt\",\"queue\":\"q\",\"state\":\"running\","
        "\"started_ms\":1,\"concurrency\":4,\"inflight\":1,\"reloads\":0,"
        "\"reload_failures\":0,\"generations_leaked\":0,\"park_ttl_ms\":0,"
        "\"plugins\":[{\"name\":\"pa\",\"version\":\"1.2.0\","
        "\"build_id\":\"src-abc\",\"sha256\":\"00ff\",\"file\":\"pa.so\","
        "\"generation\":3,\"pinned\":\"\",\"serves\":[{\"job\":\"a\","
        "\"min\":1,\"max\":2}]}],\"draining\":[],"
        "\"running\":[{\"job\":\"a\",\"version\":1,\"count\":1}]}";
    const char *set[] = {"SET", "jobrt:{q}:worker:w1", rec, "PX", "5000"};
    test_redis_argv(c, &last, 5, set);
    test_redis_cmd(c, &last, "ZADD jobrt:{q}:workers %lld w1", now);

    api_ctx_t a = ctx(c, "{\"workers\":[{\"pid\":7,\"state\":\"up\"}]}");
    cr_assert_eq(api_handle(&a, "GET", "/api/overview", "", NULL, 0, &out),
                 200, "%.*s", (int)out.len, out.data);
    cJSON *doc = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_not_null(doc);
    cr_assert_str_eq(str_of(doc, "namespace"), "jobrt");
    cr_assert_str_eq(str_of(doc, "queue"), "q");
    cr_assert(num_of(doc, "server_ms") >= (double)now);

    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "queue_stats");
    cr_assert_eq(num_of(st, "length"), 5);
    cr_assert_eq(num_of(st, "waiting"), 4);
    cr_assert_eq(num_of(st, "running"), 1);
    cr_assert_eq(num_of(st, "delayed"), 1);
    cr_assert_eq(num_of(st, "dlq"), 2);
    cr_assert_eq(num_of(st, "live_workers"), 1);

    const cJSON *ws = arr_of(doc, "workers");
    cr_assert_eq(cJSON_GetArraySize(ws), 1);
    const cJSON *w = cJSON_GetArrayItem(ws, 0);
    cr_assert_str_eq(str_of(w, "consumer"), "w1");
    cr_assert_str_eq(str_of(w, "host"), "box");
    cr_assert_eq(num_of(w, "pid"), 42);
    cr_assert_str_eq(str_of(w, "state"), "running");
    const cJSON *p = cJSON_GetArrayItem(arr_of(w, "plugins"), 0);
    cr_assert_str_eq(str_of(p, "version"), "1.2.0");
    cr_assert_str_eq(str_of(p, "build_id"), "src-abc");
    cr_assert_eq(num_of(p, "generation"), 3);
    const cJSON *sv = cJSON_GetArrayItem(arr_of(p, "serves"), 0);
    cr_assert_str_eq(str_of(sv, "job"), "a");
    cr_assert_eq(num_of(sv, "max"), 2);
    const cJSON *run = cJSON_GetArrayItem(arr_of(w, "running"), 0);
    cr_assert_eq(num_of(run, "count"), 1);

    /* The rows `jobrt rollout` would print, for every job at once. */
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "rollout")), 3);
    const cJSON *r = rollout_row(doc, "a", 1);
    cr_assert_eq(num_of(r, "workers"), 1);
    cr_assert_eq(num_of(r, "queued"), 2, "one of the three was delivered");
    cr_assert_eq(num_of(r, "running"), 1);
    const cJSON *b = cJSON_GetArrayItem(arr_of(r, "builds"), 0);
    cr_assert_str_eq(str_of(b, "build_id"), "src-abc");
    r = rollout_row(doc, "a", 2);
    cr_assert_eq(num_of(r, "workers"), 1);
    cr_assert_eq(num_of(r, "queued"), 1);
    r = rollout_row(doc, "b", 1);
    cr_assert_eq(num_of(r, "workers"), 0, "nobody serves b");
    cr_assert_eq(num_of(r, "queued"), 1);

    const cJSON *fs = arr_of(doc, "failures");
    cr_assert_eq(cJSON_GetArraySize(fs), 2);
    const cJSON *f0 = cJSON_GetArrayItem(fs, 0);
    cr_assert_str_eq(str_of(f0, "entry"), "11-1", "newest first");
    cr_assert_str_eq(str_of(f0, "id"), "x2");
    cr_assert_str_eq(str_of(f0, "job"), "b");
    cr_assert_str_eq(str_of(f0, "reason"), "no_handler");
    cr_assert_str_eq(str_of(f0, "error"), "boom");
    cr_assert_eq(num_of(f0, "at"), 1700000000000.0);

    const cJSON *local = cJSON_GetObjectItemCaseSensitive(doc, "local");
    const cJSON *lw = cJSON_GetArrayItem(arr_of(local, "workers"), 0);
    cr_assert_eq(num_of(lw, "pid"), 7);
    cr_assert_str_eq(str_of(lw, "state"), "up");
    cJSON_Delete(doc);
    teardown();
}

/* A worker's registry record with the given jobs list (JSON entries) and
 * in-flight count, live now. */
static void live_worker(const char *consumer, const char *jobs,
                        int inflight)
{
    char rec[2048], key[128];
    snprintf(rec, sizeof rec,
             "{\"v\":1,\"consumer\":\"%s\",\"host\":\"box\",\"pid\":42,"
             "\"ns\":\"jobrt\",\"queue\":\"q\",\"state\":\"running\","
             "\"started_ms\":1,\"concurrency\":8,\"inflight\":%d,"
             "\"plugins\":[],\"draining\":[],\"running\":[],\"done\":0,"
             "\"retried\":0,\"dead\":0,\"rate\":0,\"jobs\":[%s],"
             "\"jobs_omitted\":0}",
             consumer, inflight, jobs);
    snprintf(key, sizeof key, "jobrt:{q}:worker:%s", consumer);
    const char *set[] = {"SET", key, rec, "PX", "5000"};
    test_redis_argv(c, &last, 5, set);
    test_redis_cmd(c, &last, "ZADD jobrt:{q}:workers %lld %s", server_now(),
                   consumer);
}

/* The running jobs of every live worker, oldest first, each with its
 * progress when its key holds this run's report: an earlier run's report
 * (another attempt or delivery) and a value that is not the worker's JSON
 * show as none; a job that waits for a limit (not started) comes last;
 * jobs a worker counts but did not list are omitted. */
Test(api, overview_lists_running_jobs_oldest_first_with_their_progress)
{
    setup();
    live_worker("w1",
                "{\"id\":\"late\",\"job\":\"a\",\"v\":2,\"attempt\":1,"
                "\"deliveries\":1,\"started_ms\":3000},"
                "{\"id\":\"stale\",\"job\":\"a\",\"v\":1,\"attempt\":2,"
                "\"deliveries\":1,\"started_ms\":2000},"
                "{\"id\":\"held\",\"job\":\"a\",\"v\":1,\"attempt\":1,"
                "\"deliveries\":1,\"started_ms\":0}",
                5);
    live_worker("w2",
                "{\"id\":\"first\",\"job\":\"b\",\"v\":1,\"attempt\":1,"
                "\"deliveries\":1,\"started_ms\":1000},"
                "{\"id\":\"junk\",\"job\":\"b\",\"v\":1,\"attempt\":1,"
                "\"deliveries\":1,\"started_ms\":4000}",
                2);
    test_redis_cmd(c, &last, "SET jobrt:{q}:progress:first %s",
                   "{\"percent\":40,\"message\":\"page 4\",\"at\":1500,"
                   "\"attempt\":1,\"delivery\":1}");
    test_redis_cmd(c, &last, "SET jobrt:{q}:progress:stale "
                   "{\"percent\":90,\"message\":null,\"at\":1500,"
                   "\"attempt\":1,\"delivery\":1}");
    test_redis_cmd(c, &last, "SET jobrt:{q}:progress:junk "
                   "{\"percent\":140,\"at\":1}");
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/overview", "", NULL, &doc), 200);
    const cJSON *rs = arr_of(doc, "running");
    cr_assert_eq(cJSON_GetArraySize(rs), 5);
    const char *order[] = {"first", "stale", "late", "junk", "held"};
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(str_of(cJSON_GetArrayItem(rs, i), "id"), order[i],
                         "not oldest first at %d", i);
    const cJSON *first = cJSON_GetArrayItem(rs, 0);
    cr_assert_str_eq(str_of(first, "job"), "b");
    cr_assert_str_eq(str_of(first, "worker"), "w2");
    cr_assert_eq(num_of(first, "started_ms"), 1000);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(first, "progress");
    cr_assert_eq(num_of(p, "percent"), 40);
    cr_assert_str_eq(str_of(p, "message"), "page 4");
    cr_assert_eq(num_of(p, "at_ms"), 1500);
    for (int i = 1; i < 5; i++) {
        const cJSON *o = cJSON_GetArrayItem(rs, i);
        cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
                                                                "progress")),
                  "%s has progress", str_of(o, "id"));
    }
    cr_assert_eq(num_of(cJSON_GetArrayItem(rs, 2), "version"), 2);
    cr_assert_str_eq(str_of(first, "state"), "running");
    cr_assert_str_eq(str_of(cJSON_GetArrayItem(rs, 4), "state"), "waiting",
                     "held waits for a limit: not started");
    cr_assert_eq(num_of(doc, "running_omitted"), 2,
                 "w1 holds 5 and lists 3");
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(doc,
                                                    "running_progress_error"));
    cJSON_Delete(doc);
    teardown();
}

Test(api, overview_of_a_queue_never_used)
{
    setup();
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/overview", "", NULL, &doc), 200);
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "workers")), 0);
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "rollout")), 0);
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "failures")), 0);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(doc, "local"));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "queue_stats");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
                  st, "oldest_waiting_ms")),
              "nothing waits: null, as `jobrt stats --json` says");
    cJSON_Delete(doc);
    teardown();
}

/* A fleet serving several queues: queue=NAME picks the one a request acts
 * on (taken off the query before the endpoint parses it), the overview
 * lists every served queue's numbers, and a queue not served is a 404. */
Test(api, queue_parameter_picks_a_served_queue)
{
    setup();
    char err[128];
    static const char *const names[] = {"q", "low/x"};
    queue_keys_t all[2];
    cr_assert_eq(queue_keys_init(&all[0], "jobrt", "q", err, sizeof err), 0);
    cr_assert_eq(queue_keys_init(&all[1], "jobrt", "low/x", err, sizeof err),
                 0);
    test_redis_cmd(c, &last, "XADD jobrt:{low/x}:stream * job a v 1");
    test_redis_cmd(c, &last, "XADD jobrt:{low/x}:stream * job a v 1");
    test_redis_cmd(c, &last, "XADD jobrt:{low/x}:dlq * job a v 1 reason x");
    api_ctx_t a = ctx(c, NULL);
    a.queues = names;
    a.queue_keys = all;
    a.n_queues = 2;
    cr_assert_eq(api_handle(&a, "GET", "/api/overview", "queue=low%2Fx",
                            NULL, 0, &out),
                 200, "%.*s", (int)out.len, out.data);
    cJSON *doc = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_str_eq(str_of(doc, "queue"), "low/x");
    cr_assert_eq(num_of(cJSON_GetObjectItemCaseSensitive(doc, "queue_stats"),
                        "length"), 2);
    const cJSON *qs = arr_of(doc, "queues");
    cr_assert_eq(cJSON_GetArraySize(qs), 2);
    cr_assert_str_eq(str_of(cJSON_GetArrayItem(qs, 0), "queue"), "q");
    cr_assert_eq(num_of(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetArrayItem(qs, 0), "queue_stats"),
                        "length"), 0);
    cr_assert_eq(num_of(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetArrayItem(qs, 1), "queue_stats"),
                        "length"), 2);
    cJSON_Delete(doc);
    /* the rest of the query still reaches the endpoint */
    a = ctx(c, NULL);
    a.queues = names;
    a.queue_keys = all;
    a.n_queues = 2;
    buf_free(&out);
    cr_assert_eq(api_handle(&a, "GET", "/api/dlq", "count=5&queue=low%2fx",
                            NULL, 0, &out),
                 200, "%.*s", (int)out.len, out.data);
    doc = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "entries")), 1,
                 "low/x's dead letter: %.*s", (int)out.len, out.data);
    cJSON_Delete(doc);
    const char *bad[] = {"queue=nope", "queue=q&queue=q", "queue=%zz"};
    const int want[] = {404, 400, 400};
    for (size_t i = 0; i < 3; i++) {
        a = ctx(c, NULL);
        a.queues = names;
        a.queue_keys = all;
        a.n_queues = 2;
        buf_free(&out);
        cr_assert_eq(api_handle(&a, "GET", "/api/overview", bad[i], NULL, 0,
                                &out),
                     want[i], "%s: %.*s", bad[i], (int)out.len, out.data);
    }
    teardown();
}

/* The Redis part is read once per API_OVERVIEW_CACHE_MS: a second request
 * sees the first one's numbers, a DLQ write makes the next one read
 * afresh. */
Test(api, overview_is_cached_and_a_dlq_write_clears_it)
{
    setup();
    dead_letter("1-1", "x1", "a", "permanent_failure");
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/overview", "", NULL, &doc), 200);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "queue_stats");
    cr_assert_eq(num_of(st, "dlq"), 1);
    cr_assert_eq(num_of(st, "length"), 0);
    cJSON_Delete(doc);

    test_redis_cmd(c, &last, "XADD " QS " 5-0 id b1 job b v 1 payload {}");
    cr_assert_eq(call(c, "GET", "/api/overview", "", NULL, &doc), 200);
    st = cJSON_GetObjectItemCaseSensitive(doc, "queue_stats");
    cr_assert_eq(num_of(st, "length"), 0, "served from the cache");
    cr_assert_lt(num_of(doc, "age_ms"), API_OVERVIEW_CACHE_MS);
    cJSON_Delete(doc);

    cr_assert_eq(call(c, "POST", "/api/dlq/purge", "",
                      "{\"ids\":[\"1-1\"]}", NULL), 200);
    cr_assert_eq(call(c, "GET", "/api/overview", "", NULL, &doc), 200);
    st = cJSON_GetObjectItemCaseSensitive(doc, "queue_stats");
    cr_assert_eq(num_of(st, "length"), 1, "read afresh after the purge");
    cr_assert_eq(num_of(st, "dlq"), 0);
    cr_assert_eq(num_of(doc, "age_ms"), 0);
    cJSON_Delete(doc);
    teardown();
}

/* The rollout counts look at no more than 1000 entries of the stream and
 * of the delayed set, and say so. */
Test(api, overview_scans_are_bounded_and_say_so)
{
    setup();
    for (int i = 1; i <= 1005; i++)
        test_redis_cmd(c, &last, "XADD " QS " %d-0 id a%d job a v 1 "
                       "payload {}", i, i);
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/overview", "", NULL, &doc), 200);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(doc, "rollout_scan");
    cr_assert_eq(num_of(n, "stream_scanned"), 1000);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        n, "stream_scan_cut")));
    cr_assert_eq(num_of(rollout_row(doc, "a", 1), "queued"), 1000);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "queue_stats");
    cr_assert_eq(num_of(st, "waiting"), 1005, "the stats count them all");
    cJSON_Delete(doc);
    teardown();
}

/* ---- the DLQ ------------------------------------------------------------- */

static void five_dead_letters(void)
{
    char entry[16], id[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(entry, sizeof entry, "%d-1", i);
        snprintf(id, sizeof id, "job-%d", i);
        dead_letter(entry, id, "a", "permanent_failure");
    }
}

static void assert_entries(const cJSON *doc, const char *const *want,
                           int n)
{
    const cJSON *es = arr_of(doc, "entries");
    cr_assert_eq(cJSON_GetArraySize(es), n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(str_of(cJSON_GetArrayItem(es, i), "entry"),
                         want[i]);
}

Test(api, dlq_pages_newest_first)
{
    setup();
    five_dead_letters();
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/dlq", "count=2", NULL, &doc), 200);
    const char *const p1[] = {"5-1", "4-1"};
    assert_entries(doc, p1, 2);
    cr_assert_str_eq(str_of(doc, "next"), "4-1");
    cr_assert_eq(num_of(doc, "total"), 5);
    const cJSON *e = cJSON_GetArrayItem(arr_of(doc, "entries"), 0);
    cr_assert_str_eq(str_of(e, "id"), "job-5");
    cr_assert_eq(num_of(e, "attempt"), 3, "a number, as in the record");
    cr_assert_eq(num_of(e, "v"), 1);
    cJSON_Delete(doc);

    cr_assert_eq(call(c, "GET", "/api/dlq", "count=2&before=4-1", NULL,
                      &doc), 200);
    const char *const p2[] = {"3-1", "2-1"};
    assert_entries(doc, p2, 2);
    cJSON_Delete(doc);

    cr_assert_eq(call(c, "GET", "/api/dlq", "before=2-1&count=2", NULL,
                      &doc), 200);
    const char *const p3[] = {"1-1"};
    assert_entries(doc, p3, 1);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "next")));
    cJSON_Delete(doc);

    cr_assert_eq(call(c, "GET", "/api/dlq", "", NULL, &doc), 200);
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "entries")), 5);
    cJSON_Delete(doc);

    /* a first attempt's dead letter has no attempt field: 1, as `jobrt
     * dlq list` shows; a v that is not a number is null */
    test_redis_cmd(c, &last, "XADD " QD " 6-1 id job-6 job a v x payload {} "
                   "dlq_reason expired dlq_at 1700000000000");
    cr_assert_eq(call(c, "GET", "/api/dlq", "count=1", NULL, &doc), 200);
    e = cJSON_GetArrayItem(arr_of(doc, "entries"), 0);
    cr_assert_str_eq(str_of(e, "id"), "job-6");
    cr_assert_eq(num_of(e, "attempt"), 1);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "v")));
    cJSON_Delete(doc);
    teardown();
}

Test(api, dlq_bad_queries)
{
    setup();
    const char *bad[] = {"count=0", "count=501", "count=-1", "count=x",
                         "before=abc", "before=1-1&before=2-1", "other=1",
                         "count", "count=1%30"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *doc;
        cr_assert_eq(call(c, "GET", "/api/dlq", bad[i], NULL, &doc), 400,
                     "query %s", bad[i]);
        cr_assert(strlen(str_of(doc, "error")) > 0);
        cJSON_Delete(doc);
    }
    char longq[400];
    memset(longq, 'a', sizeof longq - 1);
    longq[sizeof longq - 1] = '\0';
    cr_assert_eq(call(c, "GET", "/api/dlq", longq, NULL, NULL), 400);
    teardown();
}

Test(api, dlq_show_has_every_field)
{
    setup();
    five_dead_letters();
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/dlq/3-1", "", NULL, &doc), 200);
    cr_assert_str_eq(str_of(doc, "entry"), "3-1");
    cr_assert_str_eq(str_of(doc, "id"), "job-3");
    const cJSON *fs = arr_of(doc, "fields"), *f;
    int saw_payload = 0, n = 0;
    cJSON_ArrayForEach(f, fs)
    {
        n++;
        const char *k = cJSON_GetArrayItem(f, 0)->valuestring;
        const char *v = cJSON_GetArrayItem(f, 1)->valuestring;
        if (strcmp(k, "payload") == 0) {
            cr_assert_str_eq(v, "{\"n\":1}");
            saw_payload = 1;
        }
    }
    cr_assert(saw_payload);
    cr_assert_eq(n, 10, "every field of the entry, in order");
    cJSON_Delete(doc);

    cr_assert_eq(call(c, "GET", "/api/dlq/9-9", "", NULL, NULL), 404);
    cr_assert_eq(call(c, "GET", "/api/dlq/nope", "", NULL, NULL), 400);
    cr_assert_eq(call(c, "GET", "/api/dlq/1-1/x", "", NULL, NULL), 404);
    teardown();
}

Test(api, bytes_that_are_not_utf8_make_valid_json)
{
    setup();
    const char *argv[] = {"XADD", QD, "1-1", "id", "j\xff\xfe", "job", "a",
                          "dlq_error", "nul\0byte \xc3\xa9"};
    size_t lens[] = {4, strlen(QD), 3, 2, 3, 3, 1, 9, 11};
    redisReply *r = redisCommandArgv(c, 9, argv, lens);
    cr_assert(r && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    cJSON *doc;
    cr_assert_eq(call(c, "GET", "/api/dlq/1-1", "", NULL, &doc), 200);
    cr_assert_str_eq(str_of(doc, "id"), "j\xef\xbf\xbd\xef\xbf\xbd");
    cr_assert_str_eq(str_of(doc, "error"), "nul\xef\xbf\xbd" "byte \xc3\xa9");
    cJSON_Delete(doc);
    teardown();
}

/* The entry ids of the DLQ, oldest first, as "a,b,c". */
static void dlq_ids(char *outs, size_t n)
{
    redisReply *r = test_redis_cmd(c, &last, "XRANGE " QD " - +");
    outs[0] = '\0';
    for (size_t i = 0; i < r->elements; i++) {
        strncat(outs, r->element[i]->element[0]->str, n - strlen(outs) - 2);
        if (i + 1 < r->elements)
            strcat(outs, ",");
    }
}

Test(api, retry_moves_exactly_the_chosen_entries)
{
    setup();
    five_dead_letters();
    test_redis_cmd(c, &last, "XGROUP CREATE " QS " jobrt $ MKSTREAM");
    cJSON *doc;
    cr_assert_eq(call(c, "POST", "/api/dlq/retry", "",
                      "{\"ids\": [\"2-1\", \"4-1\", \"2-1\"]}", &doc), 200,
                 "%.*s", (int)out.len, out.data);
    cr_assert_eq(num_of(doc, "retried"), 2);
    cr_assert_eq(cJSON_GetArraySize(arr_of(doc, "not_found")), 0);
    cJSON_Delete(doc);
    char ids[256];
    dlq_ids(ids, sizeof ids);
    cr_assert_str_eq(ids, "1-1,3-1,5-1");

    /* Back in the stream with their fields, dlq_* and attempt dropped. */
    redisReply *r = test_redis_cmd(c, &last, "XRANGE " QS " - +");
    cr_assert_eq(r->elements, 2);
    const char *want[] = {"job-2", "job-4"};
    for (size_t i = 0; i < 2; i++) {
        const redisReply *f = r->element[i]->element[1];
        int saw_id = 0;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            cr_assert(strncmp(f->element[k]->str, "dlq_", 4) != 0,
                      "field %s kept", f->element[k]->str);
            cr_assert_str_neq(f->element[k]->str, "attempt");
            if (strcmp(f->element[k]->str, "id") == 0) {
                cr_assert_str_eq(f->element[k + 1]->str, want[i]);
                saw_id = 1;
            }
        }
        cr_assert(saw_id);
    }

    /* Gone ones are named, the rest still done. */
    cr_assert_eq(call(c, "POST", "/api/dlq/retry", "",
                      "{\"ids\":[\"2-1\",\"5-1\"]}", &doc), 200);
    cr_assert_eq(num_of(doc, "retried"), 1);
    const cJSON *nf = arr_of(doc, "not_found");
    cr_assert_eq(cJSON_GetArraySize(nf), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(nf, 0)->valuestring, "2-1");
    cJSON_Delete(doc);
    dlq_ids(ids, sizeof ids);
    cr_assert_str_eq(ids, "1-1,3-1");
    teardown();
}

Test(api, purge_deletes_exactly_the_chosen_entries)
{
    setup();
    five_dead_letters();
    cJSON *doc;
    cr_assert_eq(call(c, "POST", "/api/dlq/purge", "",
                      "{\"ids\":[\"1-1\",\"3-1\",\"9-9\"]}", &doc), 200);
    cr_assert_eq(num_of(doc, "purged"), 2);
    const cJSON *nf = arr_of(doc, "not_found");
    cr_assert_eq(cJSON_GetArraySize(nf), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(nf, 0)->valuestring, "9-9");
    cJSON_Delete(doc);
    char ids[256];
    dlq_ids(ids, sizeof ids);
    cr_assert_str_eq(ids, "2-1,4-1,5-1");
    redisReply *r = test_redis_cmd(c, &last, "EXISTS " QS);
    cr_assert_eq(r->integer, 0, "purge re-enqueues nothing");
    teardown();
}

Test(api, bad_bodies_give_400_and_change_nothing)
{
    setup();
    five_dead_letters();
    buf_t many = {0};
    buf_append(&many, "{\"ids\":[", 8);
    for (int i = 0; i < 1001; i++)
        buf_appendf(&many, "%s\"1-1\"", i ? "," : "");
    buf_append(&many, "]}", 3);
    const char *bad[] = {
        "not json", "", "[\"1-1\"]", "{\"ids\":\"1-1\"}", "{\"ids\":[1]}",
        "{\"ids\":[]}", "{\"ids\":[\"1-1\"],\"all\":true}", "{}",
        "{\"ids\":[\"x\"]}", "{\"ids\":[null]}", "{\"ids\":[[\"1-1\"]]}",
        "{\"ids\":[\"1-1\"", "\"1-1\"", many.data};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int purge = 0; purge < 2; purge++) {
            cJSON *doc;
            cr_assert_eq(call(c, "POST", purge ? "/api/dlq/purge"
                                               : "/api/dlq/retry",
                              "", bad[i], &doc), 400, "body #%zu", i);
            cr_assert(strlen(str_of(doc, "error")) > 0);
            cJSON_Delete(doc);
        }
    }
    buf_free(&many);
    api_ctx_t a = ctx(c, NULL);
    cr_assert_eq(api_handle(&a, "POST", "/api/dlq/retry", "", NULL, 0, &out),
                 400, "no body");
    char ids[256];
    dlq_ids(ids, sizeof ids);
    cr_assert_str_eq(ids, "1-1,2-1,3-1,4-1,5-1");
    teardown();
}

Test(api, methods_and_paths)
{
    setup();
    cr_assert_eq(call(c, "POST", "/api/overview", "", "{}", NULL), 405);
    cr_assert_eq(call(c, "GET", "/api/dlq/retry", "", NULL, NULL), 405);
    cr_assert_eq(call(c, "GET", "/api/dlq/purge", "", NULL, NULL), 405);
    cr_assert_eq(call(c, "POST", "/api/dlq", "", "{}", NULL), 405);
    cr_assert_eq(call(c, "DELETE", "/api/dlq/1-1", "", NULL, NULL), 405);
    cr_assert_eq(call(c, "GET", "/api/nothing", "", NULL, NULL), 404);
    cr_assert_eq(call(c, "GET", "/api/dlqx", "", NULL, NULL), 404);
    cr_assert_eq(call(c, "GET", "/api/overview", "x=1", NULL, NULL), 400);
    teardown();
}

Test(api, no_redis_connection_gives_503)
{
    setup();
    cJSON *doc;
    cr_assert_eq(call(NULL, "GET", "/api/overview", "", NULL, &doc), 503);
    cr_assert(strlen(str_of(doc, "error")) > 0);
    cJSON_Delete(doc);
    cr_assert_eq(call(NULL, "GET", "/api/dlq", "", NULL, NULL), 503);
    cr_assert_eq(call(NULL, "GET", "/api/dlq/1-1", "", NULL, NULL), 503);
    cr_assert_eq(call(NULL, "POST", "/api/dlq/retry", "",
                      "{\"ids\":[\"1-1\"]}", NULL), 503);
    cr_assert_eq(call(NULL, "POST", "/api/dlq/purge", "",
                      "{\"ids\":[\"1-1\"]}", NULL), 503);
    teardown();
}
