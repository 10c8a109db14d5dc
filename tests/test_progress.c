/*
 * test_progress.c - unit tests for exec/progress.c, a running job's
 * progress slot: percent limits (refused reports record nothing), the
 * message cut at 200 bytes on a UTF-8 boundary, coalescing (only the latest
 * report is written, at most every 250 ms, and a key already written is
 * refreshed before it could expire), the settle that says whether a key may
 * exist, the JSON value, a handler thread reporting while the loop takes
 * (never a torn report), and the 1.2 host function behind all of it.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "exec/job.h"
#include "exec/progress.h"
#include "plugin/host_api.h"

static progress_slot_t fresh(void)
{
    progress_slot_t s;
    memset(&s, 0x5a, sizeof s); /* a reused slot: reset must clear it all */
    atomic_init(&s.lock, 0);
    progress_reset(&s);
    return s;
}

Test(progress, nothing_to_take_before_a_report)
{
    progress_slot_t s = fresh();
    progress_report_t r;
    cr_assert_eq(progress_take(&s, 1000, &r), 0);
    cr_assert_eq(progress_settle(&s), 0, "no key was written");
}

Test(progress, a_percent_outside_0_to_100_is_refused_and_not_recorded)
{
    progress_slot_t s = fresh();
    progress_report_t r;
    cr_assert_eq(progress_set(&s, -1, "x", 5), -1);
    cr_assert_eq(progress_set(&s, 101, "x", 5), -1);
    cr_assert_eq(progress_set(&s, 1000000, NULL, 5), -1);
    cr_assert_eq(progress_take(&s, 1000, &r), 0, "a refused report counted");
    cr_assert_eq(progress_set(&s, 0, NULL, 6), 0);
    cr_assert_eq(progress_take(&s, 1000, &r), 1);
    cr_assert_eq(r.percent, 0);
    cr_assert_str_eq(r.message, "");
    cr_assert_eq(r.at_ms, 6);
    cr_assert_eq(progress_set(&s, 100, "all", 7), 0);
    cr_assert_eq(progress_set(&s, 101, "refused", 8), -1);
    cr_assert_eq(progress_take(&s, 2000, &r), 1);
    cr_assert_eq(r.percent, 100, "the refused report replaced a good one");
    cr_assert_str_eq(r.message, "all");
}

Test(progress, only_the_latest_report_is_taken_at_most_every_250_ms)
{
    progress_slot_t s = fresh();
    progress_report_t r;
    progress_set(&s, 10, "ten", 1);
    progress_set(&s, 20, "twenty", 2);
    progress_set(&s, 30, "thirty", 3);
    cr_assert_eq(progress_take(&s, 1000, &r), 1);
    cr_assert_eq(r.percent, 30);
    cr_assert_str_eq(r.message, "thirty");
    cr_assert_eq(progress_take(&s, 1300, &r), 0, "nothing new to write");
    progress_set(&s, 40, "forty", 4);
    cr_assert_eq(progress_take(&s, 1000 + PROGRESS_WRITE_EVERY_MS - 1, &r),
                 0, "written again within 250 ms");
    progress_set(&s, 50, "fifty", 5);
    cr_assert_eq(progress_take(&s, 1000 + PROGRESS_WRITE_EVERY_MS, &r), 1);
    cr_assert_eq(r.percent, 50, "not the latest report");
    cr_assert_str_eq(r.message, "fifty");
}

Test(progress, a_written_key_is_refreshed_while_the_job_runs)
{
    progress_slot_t s = fresh();
    progress_report_t r;
    progress_set(&s, 70, "slow", 1);
    cr_assert_eq(progress_take(&s, 1000, &r), 1);
    s.written = 1; /* what progress_flush does once the SET went out */
    cr_assert_eq(progress_take(&s, 1000 + PROGRESS_REFRESH_MS - 1, &r), 0);
    memset(&r, 0, sizeof r);
    cr_assert_eq(progress_take(&s, 1000 + PROGRESS_REFRESH_MS, &r), 1);
    cr_assert_eq(r.percent, 70);
    cr_assert_str_eq(r.message, "slow");
    cr_assert_lt(PROGRESS_REFRESH_MS, PROGRESS_TTL_MS,
                 "the key would expire before it is refreshed");
}

Test(progress, settle_says_whether_a_key_may_exist_and_ends_reports)
{
    progress_slot_t s = fresh();
    progress_report_t r;
    progress_set(&s, 5, NULL, 1);
    cr_assert_eq(progress_settle(&s), 0, "taken never, written never");
    cr_assert_eq(progress_take(&s, INT64_MAX - 1, &r), 0,
                 "a settled job's report was written");
    progress_reset(&s);
    progress_set(&s, 5, NULL, 1);
    cr_assert_eq(progress_take(&s, 10, &r), 1);
    s.written = 1;
    progress_set(&s, 6, NULL, 2);
    cr_assert_eq(progress_settle(&s), 1);
    cr_assert_eq(progress_settle(&s), 0, "deleted twice");
    cr_assert_eq(progress_take(&s, INT64_MAX - 1, &r), 0);
}

Test(progress, the_message_is_cut_at_200_bytes_on_a_utf8_boundary)
{
    progress_slot_t s = fresh();
    progress_report_t r;
    char msg[400];
    memset(msg, 'a', 199);
    memcpy(msg + 199, "\xc3\xa9tail", 7); /* e-acute straddles byte 200 */
    cr_assert_eq(progress_set(&s, 1, msg, 1), 0);
    progress_take(&s, 1000, &r);
    cr_assert_eq(strlen(r.message), 199u, "a UTF-8 sequence was split");
    memset(msg, 'b', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    progress_set(&s, 2, msg, 2);
    progress_take(&s, 2000, &r);
    cr_assert_eq(strlen(r.message), (size_t)PROGRESS_MESSAGE_MAX);
    memset(msg, 'c', 200);
    msg[200] = '\0';
    progress_set(&s, 3, msg, 3);
    progress_take(&s, 3000, &r);
    cr_assert_eq(strlen(r.message), 200u, "exactly 200 bytes stay whole");
}

Test(progress, the_json_value)
{
    progress_report_t r = {.percent = 40, .at_ms = 1700000000123};
    snprintf(r.message, sizeof r.message, "copy \"a\"\n\x01 \xff");
    buf_t b = {0};
    cr_assert_eq(progress_json(&r, 3, 2, &b), 0);
    cJSON *doc = cJSON_ParseWithLength(b.data, b.len);
    cr_assert_not_null(doc, "not JSON: %.*s", (int)b.len, b.data);
    cr_assert_eq(cJSON_GetObjectItem(doc, "percent")->valuedouble, 40);
    cr_assert_eq(cJSON_GetObjectItem(doc, "at")->valuedouble,
                 1700000000123.0);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "message")->valuestring,
                     "copy \"a\"\n\x01 \xef\xbf\xbd");
    cr_assert_eq(cJSON_GetObjectItem(doc, "attempt")->valuedouble, 3);
    cr_assert_eq(cJSON_GetObjectItem(doc, "delivery")->valuedouble, 2);
    cJSON_Delete(doc);
    r.message[0] = '\0';
    cr_assert_eq(progress_json(&r, 1, 1, &b), 0);
    const char *want = "{\"percent\":40,\"message\":null,"
                       "\"at\":1700000000123,\"attempt\":1,\"delivery\":1}";
    cr_assert_eq(b.len, strlen(want), "%.*s", (int)b.len, b.data);
    cr_assert(memcmp(b.data, want, b.len) == 0);
    buf_free(&b);
}

/* A handler thread reporting as fast as it can while the loop takes:
 * every report taken is one that was made, whole (its message names its
 * percent), and the last one is the last made. */
static void *reporter(void *arg)
{
    progress_slot_t *s = arg;
    char msg[64];
    for (int i = 0; i < 200000; i++) {
        int p = i % 101;
        snprintf(msg, sizeof msg, "at %d of the run, step %d", p, i);
        progress_set(s, p, msg, i);
    }
    snprintf(msg, sizeof msg, "at %d of the run, step %d", 100, 200000);
    progress_set(s, 100, msg, 200000);
    return NULL;
}

Test(progress, a_report_is_never_torn)
{
    progress_slot_t s = fresh();
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, reporter, &s), 0);
    int64_t now = 0;
    unsigned taken = 0;
    progress_report_t r;
    for (int i = 0; i < 100000; i++) {
        now += PROGRESS_WRITE_EVERY_MS;
        if (!progress_take(&s, now, &r))
            continue;
        taken++;
        char want[64];
        snprintf(want, sizeof want, "at %d of the run, step %lld", r.percent,
                 (long long)r.at_ms);
        cr_assert_str_eq(r.message, want, "a torn report");
    }
    pthread_join(t, NULL);
    /* the latest report, taken now or by the last take of the loop (a
     * take that finds nothing new leaves r as it was) */
    progress_take(&s, now + PROGRESS_WRITE_EVERY_MS, &r);
    cr_assert_eq(r.at_ms, 200000, "the last report is not the latest");
    cr_assert_eq(r.percent, 100);
}

Test(progress, the_host_function_is_there_from_abi_1_2)
{
    const jobrt_host_api *host = host_api_get();
    cr_assert_geq(host->abi_minor, 2);
    cr_assert(JOBRT_HOST_HAS(host, job_progress));
    struct jobrt_job job;
    memset(&job, 0, sizeof job);
    progress_reset(&job.progress);
    cr_assert_eq(host->job_progress(&job, 101, "no"), -1);
    cr_assert_eq(host->job_progress(&job, 42, "copying"), 0);
    progress_report_t r;
    cr_assert_eq(progress_take(&job.progress, 1000, &r), 1);
    cr_assert_eq(r.percent, 42);
    cr_assert_str_eq(r.message, "copying");
    cr_assert_gt(r.at_ms, 1600000000000LL, "not the wall clock");

    /* a 1.1 plugin's view of the table: job_progress is past its end */
    jobrt_host_api old = *host;
    old.struct_size = (uint32_t)offsetof(jobrt_host_api, job_progress);
    cr_assert(!JOBRT_HOST_HAS(&old, job_progress));
}
