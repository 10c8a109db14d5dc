/*
 * test_outcome.c - unit tests for outcome_decide (ack / retry / dead-letter
 * rules and reason codes) and outcome_record (the JSON status record that
 * `jobrt status` reads): it must be valid JSON with the job's fields, the
 * handler's result embedded as raw JSON and the error string escaped;
 * and the compact succeeded record, which a reader must expand into
 * exactly that record.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/json_check.h"
#include "exec/outcome.h"
#include "plugin/host_api.h"
#include "queue/records.h"

static struct jobrt_job *new_job(const char *const *fv, size_t n)
{
    struct jobrt_job *job = calloc(1, sizeof *job);
    cr_assert_not_null(job);
    strview_t v[16];
    cr_assert_leq(n, 16u);
    for (size_t i = 0; i < n; i++) {
        v[i].ptr = fv[i];
        v[i].len = strlen(fv[i]);
    }
    char why[256] = "";
    int rc = job_load_entry(job, "1700000000000-0", v, n, why, sizeof why);
    cr_assert_eq(rc, 0, "%s", why);
    return job;
}

static struct jobrt_job *simple_job(uint32_t attempt, uint32_t max_attempts)
{
    char a[16];
    snprintf(a, sizeof a, "%u", attempt);
    const char *fv[] = {"job", "invoice_email", "v", "2", "payload", "{}",
                        "id", "inv-1", "attempt", a};
    struct jobrt_job *job = new_job(fv, 10);
    job->max_attempts = max_attempts;
    return job;
}

static void free_job(struct jobrt_job *job)
{
    job_free_buffers(job);
    free(job);
}

static void expect_decision(uint32_t attempt, uint32_t max, int disposition,
                            int outcome, outcome_action_t want,
                            const char *want_reason)
{
    struct jobrt_job *job = simple_job(attempt, max);
    job->disposition = (job_disposition_t)disposition;
    job->outcome = outcome;
    const char *reason = "poison";
    outcome_action_t got = outcome_decide(job, &reason);
    cr_assert_eq(got, want,
                 "attempt %u/%u disposition %d outcome %d: action %d, want %d",
                 attempt, max, disposition, outcome, (int)got, (int)want);
    if (want_reason)
        cr_assert(reason && strcmp(reason, want_reason) == 0,
                  "attempt %u/%u outcome %d: reason %s, want %s", attempt,
                  max, outcome, reason ? reason : "NULL", want_reason);
    else
        cr_assert_null(reason, "no reason unless dead, got %s", reason);
    free_job(job);
}

Test(outcome_decide, ok_is_acked)
{
    expect_decision(1, 3, JOB_RAN, JOBRT_OK, ACTION_ACK, NULL);
    expect_decision(3, 3, JOB_RAN, JOBRT_OK, ACTION_ACK, NULL);
    expect_decision(9, 3, JOB_RAN, JOBRT_OK, ACTION_ACK, NULL);
}

Test(outcome_decide, retry_below_max_is_retried)
{
    expect_decision(1, 3, JOB_RAN, JOBRT_RETRY, ACTION_RETRY, NULL);
    expect_decision(2, 3, JOB_RAN, JOBRT_RETRY, ACTION_RETRY, NULL);
    expect_decision(999, 1000, JOB_RAN, JOBRT_RETRY, ACTION_RETRY, NULL);
}

Test(outcome_decide, retry_at_max_is_exhausted)
{
    expect_decision(3, 3, JOB_RAN, JOBRT_RETRY, ACTION_DEAD,
                    REASON_RETRIES_EXHAUSTED);
    expect_decision(4, 3, JOB_RAN, JOBRT_RETRY, ACTION_DEAD,
                    REASON_RETRIES_EXHAUSTED);
    expect_decision(1, 1, JOB_RAN, JOBRT_RETRY, ACTION_DEAD,
                    REASON_RETRIES_EXHAUSTED);
    cr_assert_str_eq(REASON_RETRIES_EXHAUSTED, "retries_exhausted");
}

Test(outcome_decide, last_attempt_timed_out_is_timeout)
{
    struct jobrt_job *job = simple_job(3, 3);
    job->outcome = JOBRT_RETRY;
    job->started_ms = 1000;
    job->deadline_ms = 1050;
    job->finished_ms = 1050;
    const char *reason = NULL;
    cr_assert_eq(outcome_decide(job, &reason), ACTION_DEAD);
    cr_assert_str_eq(reason, REASON_TIMEOUT);

    /* finished before its deadline: an ordinary exhausted retry */
    job->finished_ms = 1049;
    cr_assert_eq(outcome_decide(job, &reason), ACTION_DEAD);
    cr_assert_str_eq(reason, REASON_RETRIES_EXHAUSTED);

    /* a timed-out attempt with attempts left is still retried */
    job->env.attempt = 1;
    job->finished_ms = 2000;
    cr_assert_eq(outcome_decide(job, &reason), ACTION_RETRY);
    cr_assert_null(reason);
    free_job(job);
}

Test(outcome_decide, fail_is_permanent)
{
    expect_decision(1, 5, JOB_RAN, JOBRT_FAIL, ACTION_DEAD,
                    REASON_PERMANENT_FAILURE);
    expect_decision(5, 5, JOB_RAN, JOBRT_FAIL, ACTION_DEAD,
                    REASON_PERMANENT_FAILURE);
    cr_assert_str_eq(REASON_PERMANENT_FAILURE, "permanent_failure");
}

Test(outcome_decide, invalid_payload_is_invalid_envelope)
{
    /* whatever the outcome field says, the handler never ran */
    expect_decision(1, 5, JOB_INVALID_PAYLOAD, JOBRT_FAIL, ACTION_DEAD,
                    REASON_INVALID_ENVELOPE);
    expect_decision(1, 5, JOB_INVALID_PAYLOAD, JOBRT_OK, ACTION_DEAD,
                    REASON_INVALID_ENVELOPE);
    expect_decision(1, 5, JOB_INVALID_PAYLOAD, JOBRT_RETRY, ACTION_DEAD,
                    REASON_INVALID_ENVELOPE);
    cr_assert_str_eq(REASON_INVALID_ENVELOPE, "invalid_envelope");
}

Test(outcome_decide, payload_too_large)
{
    expect_decision(1, 5, JOB_PAYLOAD_TOO_LARGE, JOBRT_FAIL, ACTION_DEAD,
                    REASON_PAYLOAD_TOO_LARGE);
    expect_decision(1, 5, JOB_PAYLOAD_TOO_LARGE, JOBRT_RETRY, ACTION_DEAD,
                    REASON_PAYLOAD_TOO_LARGE);
    cr_assert_str_eq(REASON_PAYLOAD_TOO_LARGE, "payload_too_large");
}

Test(outcome_decide, unknown_outcome_is_permanent_failure)
{
    expect_decision(1, 5, JOB_RAN, 7, ACTION_DEAD, REASON_PERMANENT_FAILURE);
    expect_decision(1, 5, JOB_RAN, -1, ACTION_DEAD, REASON_PERMANENT_FAILURE);
}

/* ---- outcome_record ---- */

static struct jobrt_plugin plugin = {.name = "invoice-email",
                                     .version = "2.0.0"};
static plugin_handler_t handler = {.job_name = "invoice_email",
                                   .schema_min = 1,
                                   .schema_max = 2,
                                   .plugin = &plugin};

static cJSON *record(buf_t *b, const struct jobrt_job *job,
                     const char *status, const char *reason,
                     const char *error)
{
    cr_assert_eq(outcome_record(b, job, "emails", "web-1-4242", status,
                                reason, error),
                 0);
    const char *why = NULL;
    cr_assert_eq(json_check(b->data, b->len, JSON_CHECK_DEFAULT_DEPTH, &why),
                 0, "record is not valid JSON (%s): %s", why ? why : "",
                 b->data);
    cJSON *o = cJSON_ParseWithLength(b->data, b->len);
    cr_assert_not_null(o, "cJSON cannot parse: %s", b->data);
    cr_assert(cJSON_IsObject(o));
    return o;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(it), "'%s' should be a string", key);
    return it->valuestring;
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(it), "'%s' should be a number", key);
    return it->valuedouble;
}

static int is_null(const cJSON *o, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

Test(outcome_record, succeeded_record)
{
    const char *fv[] = {"job", "invoice_email", "v", "2", "payload", "{}",
                        "id", "inv-1", "attempt", "2", "enqueued_at",
                        "1795442850626"};
    struct jobrt_job *job = new_job(fv, 12);
    job->handler = &handler;
    job->started_ms = 1795442850627;
    job->finished_ms = 1795442850699;
    const char *result = "{\"n\":12345678901234567890, \"s\":\"x\"}";
    job->has_result = 1;
    cr_assert_eq(buf_append(&job->result, result, strlen(result)), 0);

    buf_t b = {0};
    cJSON *o = record(&b, job, "succeeded", NULL, NULL);
    cr_assert_str_eq(str_of(o, "id"), "inv-1");
    cr_assert_str_eq(str_of(o, "queue"), "emails");
    cr_assert_str_eq(str_of(o, "job"), "invoice_email");
    cr_assert_eq(num_of(o, "v"), 2.0);
    cr_assert_str_eq(str_of(o, "status"), "succeeded");
    cr_assert_eq(num_of(o, "attempts"), 2.0);
    cr_assert(is_null(o, "reason"));
    cr_assert(is_null(o, "error"));
    cr_assert_str_eq(str_of(o, "plugin"), "invoice-email");
    cr_assert_str_eq(str_of(o, "plugin_version"), "2.0.0");
    cr_assert_eq(num_of(o, "enqueued_at"), 1795442850626.0);
    cr_assert_eq(num_of(o, "started_at"), 1795442850627.0);
    cr_assert_eq(num_of(o, "finished_at"), 1795442850699.0);
    cr_assert_str_eq(str_of(o, "worker"), "web-1-4242");

    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
    cr_assert(cJSON_IsObject(res), "result must be embedded JSON");
    cr_assert_str_eq(str_of(res, "s"), "x");
    /* embedded raw: the big number's digits are kept exactly */
    cr_assert(strstr(b.data, "\"result\":{\"n\":12345678901234567890, "
                             "\"s\":\"x\"}") != NULL,
              "%s", b.data);

    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

Test(outcome_record, dead_record_escapes_error)
{
    struct jobrt_job *job = simple_job(3, 3);
    job->outcome = JOBRT_RETRY;
    const char *err = "he said \"no\"\nline 2\\ \t tab \x01 ctl caf\xc3\xa9";
    buf_t b = {0};
    cJSON *o = record(&b, job, "dead", REASON_RETRIES_EXHAUSTED, err);
    cr_assert_str_eq(str_of(o, "status"), "dead");
    cr_assert_str_eq(str_of(o, "reason"), "retries_exhausted");
    cr_assert_str_eq(str_of(o, "error"), err, "error must round-trip");
    cr_assert(is_null(o, "result"));
    cr_assert_eq(num_of(o, "attempts"), 3.0);
    /* the record is one line */
    cr_assert_null(memchr(b.data, '\n', b.len), "%s", b.data);
    /* no handler: no plugin fields; zero timestamps are null */
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(o, "plugin"));
    cr_assert(is_null(o, "started_at"));
    cr_assert(is_null(o, "finished_at"));
    cr_assert(is_null(o, "enqueued_at"));
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

Test(outcome_record, empty_error_and_empty_result_are_null)
{
    struct jobrt_job *job = simple_job(1, 3);
    job->has_result = 1; /* but nothing in it */
    buf_t b = {0};
    cJSON *o = record(&b, job, "succeeded", NULL, "");
    cr_assert(is_null(o, "result"));
    cr_assert(is_null(o, "error"));
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

Test(outcome_record, id_defaults_to_stream_id)
{
    const char *fv[] = {"job", "x", "v", "0", "payload", "[]"};
    struct jobrt_job *job = new_job(fv, 6);
    buf_t b = {0};
    cJSON *o = record(&b, job, "succeeded", NULL, NULL);
    cr_assert_str_eq(str_of(o, "id"), "1700000000000-0");
    cr_assert_eq(num_of(o, "v"), 0.0);
    cr_assert_eq(num_of(o, "attempts"), 1.0);
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

Test(outcome_record, invalid_envelope_record)
{
    /* an entry whose envelope did not parse: no job name, still JSON */
    struct jobrt_job *job = calloc(1, sizeof *job);
    cr_assert_not_null(job);
    strview_t v[2] = {{"v", 1}, {"2.0", 3}};
    char why[256] = "";
    cr_assert_eq(job_load_entry(job, "1700000000001-5", v, 2, why, sizeof why),
                 -1);
    buf_t b = {0};
    cJSON *o = record(&b, job, "dead", REASON_INVALID_ENVELOPE, why);
    cr_assert_str_eq(str_of(o, "id"), "1700000000001-5");
    cr_assert(is_null(o, "job"));
    cr_assert_str_eq(str_of(o, "reason"), "invalid_envelope");
    cr_assert_str_eq(str_of(o, "error"), why);
    cr_assert_eq(num_of(o, "attempts"), 1.0);
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

Test(outcome_record, invalid_envelope_keeps_producer_id)
{
    struct jobrt_job *job = calloc(1, sizeof *job);
    cr_assert_not_null(job);
    strview_t v[4] = {{"id", 2}, {"inv-77", 6}, {"v", 1}, {"2.0", 3}};
    char why[256] = "";
    cr_assert_eq(job_load_entry(job, "1700000000001-6", v, 4, why, sizeof why),
                 -1);
    buf_t b = {0};
    cJSON *o = record(&b, job, "dead", REASON_INVALID_ENVELOPE, why);
    cr_assert_str_eq(str_of(o, "id"), "inv-77");
    cJSON_Delete(o);

    /* an unusable id falls back to the stream id */
    strview_t w[4] = {{"id", 2}, {"a b", 3}, {"v", 1}, {"1", 1}};
    cr_assert_eq(job_load_entry(job, "1700000000001-7", w, 4, why, sizeof why),
                 -1);
    o = record(&b, job, "dead", REASON_INVALID_ENVELOPE, why);
    cr_assert_str_eq(str_of(o, "id"), "1700000000001-7");
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

Test(outcome_record, buffer_is_reset_and_reused)
{
    struct jobrt_job *job = simple_job(1, 3);
    buf_t b = {0};
    cr_assert_eq(buf_append(&b, "garbage", 7), 0);
    cJSON *o = record(&b, job, "succeeded", NULL, NULL);
    cJSON_Delete(o);
    size_t first = b.len;
    o = record(&b, job, "succeeded", NULL, NULL);
    cr_assert_eq(b.len, first, "record must replace, not append");
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

/* A handler's error goes through job_set_error, which truncates to 1 KiB.
 * If the cut falls inside a multi-byte UTF-8 character (any non-ASCII error
 * text of about 1 KiB), the record written for `jobrt status` must still be
 * valid JSON. */
Test(outcome_record, regression_truncated_utf8_error_keeps_record_valid_json)
{
    struct jobrt_job *job = simple_job(1, 1);
    char msg[1100];
    memset(msg, 'a', 1022);
    memcpy(msg + 1022, "\xc3\xa9\xc3\xa9", 4); /* "éé" straddles the cut */
    msg[1026] = '\0';
    host_api_get()->job_set_error(job, "%s", msg);
    job->outcome = JOBRT_FAIL;
    size_t err_len = strlen(job->error);

    buf_t b = {0};
    int rc = outcome_record(&b, job, "emails", "web-1-4242", "dead",
                            REASON_PERMANENT_FAILURE, job->error);
    const char *why = NULL;
    int valid = json_check(b.data, b.len, JSON_CHECK_DEFAULT_DEPTH, &why);
    buf_free(&b);
    free_job(job);
    cr_assert_eq(err_len, 1023u, "error truncated to 1 KiB");
    cr_assert_eq(rc, 0);
    cr_assert_eq(valid, 0, "status record is not valid JSON: %s",
                 why ? why : "");
}

/* Any producer can XADD a 'v' with arbitrary bytes. envelope_parse echoes
 * the bad value into the reason, which becomes the record's "error": the
 * record of this dead letter must still be valid JSON. */
Test(outcome_record, regression_invalid_utf8_in_bad_v_keeps_record_valid_json)
{
    struct jobrt_job *job = calloc(1, sizeof *job);
    cr_assert_not_null(job);
    strview_t v[6] = {{"job", 3}, {"x", 1},       {"v", 1},
                      {"\xff", 1}, {"payload", 7}, {"{}", 2}};
    char why[256] = "";
    int loaded = job_load_entry(job, "1700000000001-8", v, 6, why, sizeof why);
    buf_t b = {0};
    int rc = outcome_record(&b, job, "emails", "web-1-4242", "dead",
                            REASON_INVALID_ENVELOPE, why);
    const char *reason = NULL;
    int valid = json_check(b.data, b.len, JSON_CHECK_DEFAULT_DEPTH, &reason);
    buf_free(&b);
    free_job(job);
    cr_assert_eq(loaded, -1);
    cr_assert_eq(rc, 0);
    cr_assert_eq(valid, 0, "status record is not valid JSON: %s",
                 reason ? reason : "");
}

/* A job whose handler was asked to stop because the worker is shutting
 * down (--shutdown-grace) and answered JOBRT_RETRY is handed back without
 * counting an attempt, even on its last one; any other answer is applied
 * as usual, and a user's cancel still wins. */
static outcome_action_t decide_cancelled(int cancel, int outcome,
                                         uint32_t attempt, const char **reason)
{
    struct jobrt_job *job = simple_job(attempt, 3);
    job->outcome = outcome;
    atomic_store(&job->cancel, cancel);
    outcome_action_t got = outcome_decide(job, reason);
    free_job(job);
    return got;
}

Test(outcome_decide, retry_after_shutdown_cancel_is_released)
{
    const char *reason = "x";
    cr_assert_eq(decide_cancelled(JOB_CANCEL_SHUTDOWN, JOBRT_RETRY, 1,
                                  &reason), ACTION_RELEASE);
    cr_assert_null(reason);
    cr_assert_eq(decide_cancelled(JOB_CANCEL_SHUTDOWN, JOBRT_RETRY, 3,
                                  &reason), ACTION_RELEASE,
                 "the last attempt is not used up by a shutdown");
    cr_assert_eq(decide_cancelled(JOB_CANCEL_SHUTDOWN, JOBRT_OK, 1, &reason),
                 ACTION_ACK);
    cr_assert_eq(decide_cancelled(JOB_CANCEL_SHUTDOWN, JOBRT_FAIL, 1,
                                  &reason), ACTION_DEAD);
    cr_assert_str_eq(reason, REASON_PERMANENT_FAILURE);
    cr_assert_eq(decide_cancelled(JOB_CANCEL_USER, JOBRT_RETRY, 1, &reason),
                 ACTION_DEAD);
    cr_assert_str_eq(reason, REASON_CANCELLED);
    cr_assert_eq(decide_cancelled(0, JOBRT_RETRY, 1, &reason), ACTION_RETRY);
}

Test(outcome_record, records_the_delivery_count)
{
    const char *fv[] = {"job", "invoice_email", "v", "2", "payload", "{}",
                        "id", "inv-1"};
    struct jobrt_job *job = new_job(fv, 8);
    buf_t b = {0};
    cJSON *o = record(&b, job, "succeeded", NULL, NULL);
    cr_assert_eq(num_of(o, "deliveries"), 1.0, "%s", b.data);
    cJSON_Delete(o);
    job->deliveries = 3; /* ran twice before: a worker died holding it */
    o = record(&b, job, "succeeded", NULL, NULL);
    cr_assert_eq(num_of(o, "deliveries"), 3.0, "%s", b.data);
    cJSON_Delete(o);
    buf_free(&b);
    free_job(job);
}

/* ---- the compact succeeded record ---- */

/* A succeeded record written compact and expanded by a reader is, byte
 * for byte, the record outcome_record writes for the same job. */
static void same_record_both_ways(struct jobrt_job *job)
{
    buf_t full = {0}, compact = {0}, expanded = {0};
    outcome_builds_t builds = {0};
    cr_assert_eq(outcome_record(&full, job, "emails", "web-1-4242",
                                "succeeded", NULL, NULL), 0);
    const outcome_build_t *bd =
        outcome_build_of(&builds, job->handler->plugin, "web-1-4242");
    cr_assert_not_null(bd);
    cr_assert_eq(strlen(bd->key), 16u);
    cr_assert_eq(outcome_success_record(&compact, job, bd->key), 0);
    char err[256] = "";
    cr_assert_eq(records_expand(compact.data, compact.len,
                                bd->json.data, bd->json.len, job->id,
                                "emails",
                                &expanded, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(expanded.data, full.data, "compact form: %s",
                     compact.data);
    cr_assert_lt(compact.len, full.len / 2,
                 "compact is %zu of %zu bytes", compact.len, full.len);
    buf_free(&full);
    buf_free(&compact);
    buf_free(&expanded);
    outcome_builds_free(&builds);
}

Test(outcome_success_record, expands_to_the_full_record_exactly)
{
    const char *fv[] = {"job", "invoice_email", "v", "2", "payload", "{}",
                        "id", "inv-1", "attempt", "2", "enqueued_at",
                        "1795442850626"};
    struct jobrt_job *job = new_job(fv, 12);
    job->handler = &handler;
    job->deliveries = 3;
    job->dispatched_ms = 1795442850627;
    job->started_ms = 1795442850628;
    job->finished_ms = 1795442850699;
    const char *result = "{\"n\":12345678901234567890, \"s\":\"x\"}";
    job->has_result = 1;
    cr_assert_eq(buf_append(&job->result, result, strlen(result)), 0);
    same_record_both_ways(job);
    /* no result, no enqueue time: nulls alike */
    job->has_result = 0;
    job->env.enqueued_at_ms = 0;
    same_record_both_ways(job);
    free_job(job);
}

Test(outcome_success_record, a_build_is_hashed_once_and_told_apart)
{
    outcome_builds_t builds = {0};
    struct jobrt_plugin p2 = plugin;
    const outcome_build_t *a = outcome_build_of(&builds, &plugin, "w");
    char key_a[17];
    snprintf(key_a, sizeof key_a, "%s", a->key);
    cr_assert_eq(outcome_build_of(&builds, &plugin, "w"), a, "cached");
    p2.generation = plugin.generation + 1; /* a reload of the same file */
    const outcome_build_t *b = outcome_build_of(&builds, &p2, "w");
    cr_assert_neq(b, a);
    cr_assert_str_neq(b->key, key_a, "another generation, another key");
    cr_assert(strstr(b->json.data, "\"generation\":") != NULL);
    cr_assert(strstr(a->json.data, "\"worker\":\"w\"") != NULL, "%s",
              a->json.data);
    /* more builds than slots: the oldest is recomputed, with its key */
    struct jobrt_plugin many[OUTCOME_BUILDS];
    for (int i = 0; i < OUTCOME_BUILDS; i++) {
        many[i] = plugin;
        many[i].generation = 100 + (unsigned long long)i;
        cr_assert_not_null(outcome_build_of(&builds, &many[i], "w"));
    }
    const outcome_build_t *again = outcome_build_of(&builds, &plugin, "w");
    cr_assert_str_eq(again->key, key_a);
    outcome_builds_free(&builds);
}

Test(outcome_success_record, a_reader_refuses_what_is_not_a_compact_record)
{
    buf_t out = {0};
    char err[256];
    const char *bad[] = {"{\"id\":1}", "[2,\"k\",\"j\",1,1,1,1,1,1,1]",
                         "[1,\"k\"]", "not json", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        cr_assert_eq(records_expand(bad[i], strlen(bad[i]), NULL, 0, "j-1",
                                    "q", &out, err, sizeof err),
                     -1, "accepted %s", bad[i]);
        cr_assert(strstr(err, "job j-1") != NULL, "%s", err);
    }
    buf_free(&out);
}
