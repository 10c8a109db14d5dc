/*
 * test_strlist.c - the byte-string list and its out-of-memory contract:
 * a failed add marks the list failed until the next reset, truncation
 * undoes a partial group of adds, and the queue's completion batch (three
 * lists that must stay aligned: record i belongs to key i) drops a whole
 * completion when any of its adds fails, instead of storing records under
 * the wrong job ids. Allocation failures are injected by wrapping realloc
 * (this test is linked with --wrap=realloc, see tests/CMakeLists.txt).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/strlist.h"
#include "queue/queue_internal.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_after = -1; /* reallocs left before one fails; -1 never */

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_after == 0) {
        fail_after = -1;
        return NULL;
    }
    if (fail_after > 0)
        fail_after--;
    return __real_realloc(p, n);
}

static int equals(const strlist_t *l, size_t i, const char *want)
{
    size_t len;
    const char *p = strlist_get(l, i, &len);
    return len == strlen(want) && memcmp(p, want, len) == 0;
}

Test(strlist, add_get_reset_keep_the_bytes)
{
    strlist_t l = {0};
    cr_assert_eq(strlist_adds(&l, "alpha"), 0);
    cr_assert_eq(strlist_add(&l, "b\0c", 3), 0);
    cr_assert_eq(strlist_adds(&l, ""), 0);
    cr_assert_eq(l.n, 3u);
    cr_assert(equals(&l, 0, "alpha"));
    size_t len;
    const char *p = strlist_get(&l, 1, &len);
    cr_assert_eq(len, 3u);
    cr_assert_eq(memcmp(p, "b\0c", 3), 0, "binary-safe");
    cr_assert(equals(&l, 2, ""));
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(strlist_adds(&l, "grow"), 0);
    cr_assert(equals(&l, 1002, "grow"));
    strlist_reset(&l);
    cr_assert_eq(l.n, 0u);
    cr_assert_eq(strlist_adds(&l, "again"), 0);
    cr_assert(equals(&l, 0, "again"));
    strlist_free(&l);
}

Test(strlist, a_failed_add_is_remembered_until_reset)
{
    strlist_t l = {0};
    cr_assert_eq(strlist_adds(&l, "first"), 0);
    cr_assert(!strlist_failed(&l));
    /* "first" fits; a 100 KiB string needs the buffer to grow */
    char big[100 * 1024];
    memset(big, 'x', sizeof big);
    fail_after = 0;
    cr_assert_eq(strlist_add(&l, big, sizeof big), -1);
    cr_assert(strlist_failed(&l), "the list knows it is incomplete");
    cr_assert_eq(l.n, 1u, "nothing half-added");
    cr_assert_eq(strlist_adds(&l, "later"), 0);
    cr_assert(strlist_failed(&l), "still incomplete after a good add");
    strlist_reset(&l);
    cr_assert(!strlist_failed(&l));
    strlist_free(&l);
}

Test(strlist, truncate_undoes_a_group_of_adds)
{
    strlist_t l = {0};
    strlist_adds(&l, "a");
    strlist_adds(&l, "b");
    strlist_adds(&l, "c");
    strlist_truncate(&l, 1);
    cr_assert_eq(l.n, 1u);
    strlist_adds(&l, "d");
    cr_assert(equals(&l, 0, "a"));
    cr_assert(equals(&l, 1, "d"), "d takes b's place");
    strlist_truncate(&l, 5); /* past the end: nothing */
    cr_assert_eq(l.n, 2u);
    strlist_truncate(&l, 0);
    cr_assert_eq(l.n, 0u);
    strlist_free(&l);
}

/* ---- the completion batch ------------------------------------------------ */

static size_t no_capacity(void *arg)
{
    (void)arg;
    return 0;
}

static void run_closed(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(loop), 0);
}

static uv_loop_t loop;
static redis_target_t target;

static queue_redis_t *make_queue(void)
{
    memset(&target, 0, sizeof target);
    queue_redis_opts_t o = {.target = &target, .ns = "jobrt", .queue = "q",
                            .group = "g", .consumer = "c", .result_ttl_s = 60,
                            .failure_ttl_s = 60, .dlq_max_len = 10,
                            .block_ms = 100, .lease_ms = 1000,
                            .max_deliveries = 5};
    queue_callbacks_t cb;
    memset(&cb, 0, sizeof cb);
    cb.capacity = no_capacity;
    char err[256];
    queue_redis_t *q = queue_redis_create(&loop, &o, &cb, err, sizeof err);
    cr_assert_not_null(q, "%s", err);
    return q;
}

Test(strlist, a_completion_that_cannot_be_batched_leaves_the_batch_aligned)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    const queue_build_t bd = {"00000000000000aa", "{\"plugin\":\"p\"}", 14};
    /* On a fresh queue the first completion with a record and a build
     * needs several reallocs (offsets, then bytes, of the ids, records
     * and builds lists). Whichever fails, the whole completion stays out
     * of the batch. */
    int k;
    for (k = 0; k < 64; k++) {
        queue_redis_t *q = make_queue();
        fail_after = k;
        queue_redis_complete(q, "1-1", "job-a", "[1]", 3, &bd);
        int failed = fail_after == -1;
        fail_after = -1;
        if (!failed) { /* all k reallocs it needs went through */
            cr_assert_eq(q->b_ids.n, 1u);
            cr_assert_eq(q->b_recs.n, 2u);
            cr_assert_eq(q->b_builds.n, 2u);
            queue_redis_destroy(q);
            break;
        }
        cr_assert_eq(q->b_ids.n, 0u, "realloc %d failed: the id stays out",
                     k + 1);
        cr_assert_eq(q->b_recs.n, 0u, "realloc %d failed", k + 1);
        cr_assert_eq(q->b_builds.n, 0u, "realloc %d failed", k + 1);
        queue_redis_destroy(q);
    }
    cr_assert_geq(k, 6, "only %d reallocs: some list was never grown", k);
    /* A completion that fits, then one whose record cannot be added, then
     * one that fits: record i must still belong to job i, and the build
     * the three share is in the batch once. */
    queue_redis_t *q = make_queue();
    queue_redis_complete(q, "1-2", "job-b", "{\"b\":2}", 7, &bd);
    static char big[100 * 1024];
    memset(big, 'r', sizeof big);
    fail_after = 0; /* id and job id fit; only the record's buffer grows */
    queue_redis_complete(q, "1-3", "job-c", big, sizeof big, &bd);
    cr_assert_eq(fail_after, -1, "the record's realloc was never called");
    queue_redis_complete(q, "1-4", "job-d", "{\"d\":4}", 7, &bd);
    cr_assert_eq(q->b_ids.n, 2u);
    cr_assert_eq(q->b_recs.n, 4u);
    cr_assert_eq(q->b_builds.n, 2u, "one build, once");
    cr_assert(equals(&q->b_ids, 1, "1-4"));
    cr_assert(equals(&q->b_recs, 2, "job-d"));
    cr_assert(equals(&q->b_recs, 3, "{\"d\":4}"),
              "job-d's record sits next to job-d's id");
    queue_redis_destroy(q);
    run_closed(&loop);
}
