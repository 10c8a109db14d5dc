/*
 * test_queue_keys.c - unit tests for the Redis key layout of a queue,
 * <ns>:{<queue>}:stream | :dlq | :job:<id>, and the validation of
 * namespace and queue names (no braces, spaces or empty names, since the
 * queue name is the cluster hash tag).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "queue/keys.h"

Test(queue_keys, default_layout)
{
    queue_keys_t k;
    char err[256] = "";
    cr_assert_eq(queue_keys_init(&k, "jobrt", "emails", err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(k.stream, "jobrt:{emails}:stream");
    cr_assert_str_eq(k.dlq, "jobrt:{emails}:dlq");
    cr_assert_str_eq(k.job_prefix, "jobrt:{emails}:job:");
    cr_assert_str_eq(k.delayed, "jobrt:{emails}:delayed");
    cr_assert_str_eq(k.seq, "jobrt:{emails}:seq");
    cr_assert_str_eq(k.cancelled, "jobrt:{emails}:cancelled");
    cr_assert_str_eq(k.idem_prefix, "jobrt:{emails}:idem:");
    cr_assert_str_eq(k.schedules, "jobrt:{emails}:schedules");
    cr_assert_str_eq(k.schedule_due, "jobrt:{emails}:schedule_due");
    cr_assert_str_eq(k.schedule_fired, "jobrt:{emails}:schedule_fired");
    cr_assert_str_eq(k.progress_prefix, "jobrt:{emails}:progress:");
}

Test(queue_keys, all_name_characters)
{
    queue_keys_t k;
    char err[256] = "";
    cr_assert_eq(queue_keys_init(&k, "prod:eu-1", "a.b/c-d_E:9x", err,
                                 sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(k.stream, "prod:eu-1:{a.b/c-d_E:9x}:stream");
    cr_assert_str_eq(k.dlq, "prod:eu-1:{a.b/c-d_E:9x}:dlq");
    cr_assert_str_eq(k.job_prefix, "prod:eu-1:{a.b/c-d_E:9x}:job:");
}

Test(queue_keys, hash_tag_is_the_queue_name)
{
    /* Redis Cluster hashes the text between the first '{' and the next
     * '}': it must be exactly the queue name in every key. */
    queue_keys_t k;
    char err[256] = "";
    cr_assert_eq(queue_keys_init(&k, "ns", "q1", err, sizeof err), 0);
    const char *keys[] = {k.stream,  k.dlq,       k.job_prefix,
                          k.delayed, k.seq,       k.cancelled,
                          k.idem_prefix, k.schedules, k.schedule_due,
                          k.schedule_fired, k.progress_prefix};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *open = strchr(keys[i], '{');
        cr_assert_not_null(open, "%s", keys[i]);
        const char *close = strchr(open, '}');
        cr_assert_not_null(close, "%s", keys[i]);
        cr_assert_eq(close - open - 1, 2);
        cr_assert(strncmp(open + 1, "q1", 2) == 0, "%s", keys[i]);
    }
}

Test(queue_keys, longest_names_fit)
{
    char ns[129], q[129];
    memset(ns, 'n', 128);
    ns[128] = '\0';
    memset(q, 'q', 128);
    q[128] = '\0';
    queue_keys_t k;
    char err[256] = "";
    cr_assert_eq(queue_keys_init(&k, ns, q, err, sizeof err), 0, "%s", err);
    char want[600];
    snprintf(want, sizeof want, "%s:{%s}:stream", ns, q);
    cr_assert_str_eq(k.stream, want);
    snprintf(want, sizeof want, "%s:{%s}:job:", ns, q);
    cr_assert_str_eq(k.job_prefix, want);
    snprintf(want, sizeof want, "%s:{%s}:cancelled", ns, q);
    cr_assert_str_eq(k.cancelled, want);
}

static void expect_bad(const char *ns, const char *queue, const char *named)
{
    queue_keys_t k;
    char err[256] = "";
    cr_assert_eq(queue_keys_init(&k, ns, queue, err, sizeof err), -1,
                 "ns '%s' queue '%s' accepted", ns, queue);
    cr_assert(strstr(err, named) != NULL,
              "error for ns '%s' queue '%s' should mention '%s': %s", ns,
              queue, named, err);
}

Test(queue_keys, bad_queue_names)
{
    static const char *const bad[] = {"", "a{b", "a}b", "{x}", "}", "{",
                                      "a b", " ", "tab\t", "nl\n", "caf\xc3\xa9",
                                      "a*b", "q?"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad("jobrt", bad[i], "queue");
    char long129[130];
    memset(long129, 'q', 129);
    long129[129] = '\0';
    expect_bad("jobrt", long129, "queue");
    expect_bad("jobrt", "bad name", "bad name");
}

Test(queue_keys, bad_namespaces)
{
    static const char *const bad[] = {"", "a{b", "a}b", "{x}", "a b", " ",
                                      "x\ty"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad(bad[i], "emails", "namespace");
    char long129[130];
    memset(long129, 'n', 129);
    long129[129] = '\0';
    expect_bad(long129, "emails", "namespace");
}

Test(queue_keys, small_error_buffer)
{
    queue_keys_t k;
    char err[8];
    memset(err, 'Z', sizeof err);
    cr_assert_eq(queue_keys_init(&k, "jobrt", "a b", err, sizeof err), -1);
    cr_assert_eq(strlen(err), sizeof err - 1);
}

Test(queue_keys, a_name_may_not_end_like_a_weight)
{
    /* `jobrt run --queue NAME:W` reads a trailing :digits as a weight */
    queue_keys_t k;
    char err[256] = "";
    cr_assert_eq(queue_keys_init(&k, "jobrt", "report:2026", err, sizeof err),
                 -1);
    cr_assert(strstr(err, "'report:2026' must not end in ':' and digits"),
              "%s", err);
    cr_assert_eq(queue_keys_init(&k, "jobrt", "v2:x", err, sizeof err), 0,
                 "digits elsewhere are fine: %s", err);
    cr_assert_eq(queue_keys_init(&k, "jobrt", "trailing:", err, sizeof err),
                 0, "a trailing colon alone is no weight: %s", err);
}
