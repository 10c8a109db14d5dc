/*
 * test_outbox.c - the order in which the outbox sends ops again. Ops come
 * back (a lost reply, NOSCRIPT, an error to retry) in the order they were
 * sent; they must go out again in that order, before any op submitted
 * later. At shutdown the worker submits its last completions, then
 * RELEASE: resent the other way round, RELEASE would hand back entries
 * whose jobs had finished, and they would run again.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "queue/queue_internal.h"

static size_t no_capacity(void *arg)
{
    (void)arg;
    return 0;
}

static op_t *submit(queue_redis_t *q, int script, const char *label)
{
    outbox_arg(q, label);
    cr_assert_eq(outbox_submit(q, script, label), 0);
    return q->fresh.tail;
}

Test(outbox, ops_sent_again_keep_their_order_and_go_first)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    redis_target_t target;
    memset(&target, 0, sizeof target);
    queue_redis_opts_t o = {.target = &target, .ns = "jobrt", .queue = "q",
                            .group = "g", .consumer = "c", .block_ms = 100,
                            .lease_ms = 1000, .max_deliveries = 5,
                            .dlq_max_len = 10};
    queue_callbacks_t cb;
    memset(&cb, 0, sizeof cb);
    cb.capacity = no_capacity;
    char err[256];
    queue_redis_t *q = queue_redis_create(&loop, &o, &cb, err, sizeof err);
    cr_assert_not_null(q, "%s", err);

    /* complete, dead-letter and release are sent, in that order ... */
    op_t *sent[3] = {submit(q, OP_XACK, "complete"),
                     submit(q, SCRIPT_DLQ, "dead-letter"),
                     submit(q, SCRIPT_RELEASE, "release")};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fifo_pop(outbox_next(q)), sent[i]);
    /* ... a trim is submitted meanwhile, then the connection drops: the
     * three replies come back NULL, oldest first */
    op_t *later = submit(q, SCRIPT_TRIM, "trim");
    for (int i = 0; i < 3; i++)
        outbox_resend(q, sent[i]);

    const char *want[] = {"complete", "dead-letter", "release", "trim"};
    for (int i = 0; i < 4; i++) {
        op_t *op = fifo_pop(outbox_next(q));
        cr_assert_not_null(op, "op %d missing", i);
        cr_assert_str_eq(op->job_id, want[i], "op %d goes out again as %s",
                         i, op->job_id);
        cr_assert(i < 3 || op == later);
        free(op);
    }
    cr_assert_null(outbox_next(q)->head, "nothing else queued");
    queue_redis_destroy(q);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
