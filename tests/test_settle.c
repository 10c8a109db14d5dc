/*
 * test_settle.c - unit tests for settle_build: from a dead worker's board
 * and how it died, which jobs are charged (the crasher named by the crash
 * report; every running job at an unexplained death or a memory kill),
 * which timed out (OVERRUN slots at an overrun kill, with their next
 * attempt), and that nothing is listed (all released) for a clean exit,
 * a wedged loop or a stop; and that each record is valid JSON naming the
 * signal, the plugin and its build, and the queue its job came from.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "supervise/settle.h"

static const char *const Q_ONE[] = {"q"};
static const char *const Q_EMAILS[] = {"emails"};

static board_t *board(void)
{
    board_t *b = board_create_private(4);
    cr_assert_not_null(b);
    return b;
}

static void put(board_t *b, int i, uint32_t state, const char *id,
                uint32_t attempt, uint32_t max_attempts)
{
    board_slot_t *s = &b->slots[i];
    atomic_store(&s->state, state);
    snprintf(s->stream_id, sizeof s->stream_id, "%d-1", i + 1);
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->job, sizeof s->job, "invoice_email");
    snprintf(s->plugin, sizeof s->plugin, "mailer");
    snprintf(s->plugin_version, sizeof s->plugin_version, "2.0.0");
    snprintf(s->build_id, sizeof s->build_id, "git-abc123");
    snprintf(s->sha12, sizeof s->sha12, "0123456789ab");
    s->version = 2;
    s->attempt = attempt;
    s->max_attempts = max_attempts;
    s->deliveries = 1;
    s->timeout_ms = 500;
    s->retry_delay_ms = 250;
    s->generation = 7;
    s->deadline_ms = 1;
}

static cJSON *record(const settle_t *st, size_t i)
{
    cJSON *j = cJSON_ParseWithLength(st->jobs[i].record,
                                     st->jobs[i].record_len);
    cr_assert_not_null(j, "record %zu is JSON: %.*s", i,
                       (int)st->jobs[i].record_len, st->jobs[i].record);
    return j;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(settle, a_crash_report_charges_only_the_crasher)
{
    board_t *b = board();
    put(b, 0, BOARD_SLOT_RUNNING, "innocent-1", 1, 5);
    put(b, 1, BOARD_SLOT_RUNNING, "crasher", 1, 5);
    put(b, 2, BOARD_SLOT_QUEUED, "queued", 1, 5);
    atomic_store(&b->crash_reported, 1);
    atomic_store(&b->crash_slot, 1);
    atomic_store(&b->crash_signal, SIGSEGV);
    snprintf(b->consumer, sizeof b->consumer, "host-42");
    settle_death_t d = {.term_signal = SIGSEGV, .queues = Q_EMAILS, .n_queues = 1};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert(st.attributed);
    cr_assert_eq(st.crash_slot, 1);
    cr_assert_eq(st.n, 1, "only the crasher is listed; the others go back");
    cr_assert_str_eq(st.jobs[0].stream_id, "2-1");
    cr_assert_eq(st.jobs[0].kind, LOST_CHARGE);
    cr_assert(strstr(st.jobs[0].error, "SIGSEGV"), "%s", st.jobs[0].error);
    cr_assert(strstr(st.cause, "job crasher"), "%s", st.cause);
    cJSON *r = record(&st, 0);
    cr_assert_str_eq(str(r, "signal"), "SIGSEGV");
    cr_assert_str_eq(str(r, "reason"), "poison");
    cr_assert_str_eq(str(r, "status"), "dead");
    cr_assert_str_eq(str(r, "plugin"), "mailer");
    cr_assert_str_eq(str(r, "build_id"), "git-abc123");
    cr_assert_str_eq(str(r, "worker"), "host-42");
    cr_assert_str_eq(str(r, "queue"), "emails");
    cJSON_Delete(r);
    settle_free(&st);
    board_unmap(b, 4);
}

Test(settle, exit_from_a_handler_is_blamed_on_it)
{
    board_t *b = board();
    put(b, 3, BOARD_SLOT_RUNNING, "exiter", 1, 5);
    atomic_store(&b->crash_reported, 1);
    atomic_store(&b->crash_slot, 3);
    atomic_store(&b->crash_signal, 0);
    atomic_store(&b->crash_exit_status, 7);
    settle_death_t d = {.exit_status = 7, .queues = Q_ONE, .n_queues = 1};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 1);
    cr_assert(strstr(st.jobs[0].error, "exit(7)"), "%s", st.jobs[0].error);
    cJSON *r = record(&st, 0);
    cr_assert_null(str(r, "signal"), "no signal for exit()");
    cJSON_Delete(r);
    settle_free(&st);
    board_unmap(b, 4);
}

Test(settle, an_unexplained_death_charges_every_running_job)
{
    board_t *b = board();
    put(b, 0, BOARD_SLOT_RUNNING, "a", 1, 5);
    put(b, 1, BOARD_SLOT_QUEUED, "b", 1, 5);
    put(b, 2, BOARD_SLOT_OVERRUN, "c", 1, 5);
    settle_death_t d = {.term_signal = SIGKILL, .queues = Q_ONE, .n_queues = 1};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert(!st.attributed);
    cr_assert_eq(st.n, 2, "the running ones, not the queued one");
    cr_assert_str_eq(st.jobs[0].job_id, "a");
    cr_assert_str_eq(st.jobs[1].job_id, "c");
    for (size_t i = 0; i < st.n; i++)
        cr_assert_eq(st.jobs[i].kind, LOST_CHARGE);
    cr_assert(strstr(st.cause, "SIGKILL"), "%s", st.cause);
    settle_free(&st);
    board_unmap(b, 4);
}

Test(settle, an_overrun_kill_times_out_only_the_overrunning_jobs)
{
    board_t *b = board();
    put(b, 0, BOARD_SLOT_OVERRUN, "slow-1", 1, 3);
    put(b, 1, BOARD_SLOT_OVERRUN, "slow-last", 3, 3);
    put(b, 2, BOARD_SLOT_QUEUED, "done", 1, 3);
    /* the kill was ours: a SIGABRT the crash guard saw from outside */
    atomic_store(&b->crash_reported, 1);
    atomic_store(&b->crash_signal, SIGABRT);
    settle_death_t d = {.killed = KILL_OVERRUN, .term_signal = SIGABRT,
                        .queues = Q_ONE, .n_queues = 1, .grace_ms = 1000};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 2);
    cr_assert_eq(st.jobs[0].kind, LOST_TIMEOUT);
    cr_assert_eq(st.jobs[0].next_attempt, 2);
    cr_assert_eq(st.jobs[0].retry_delay_ms, 250);
    cr_assert_eq(st.jobs[1].next_attempt, 0, "its last attempt: dead");
    cr_assert(strstr(st.jobs[1].error, "timeout"), "%s", st.jobs[1].error);
    cJSON *r = record(&st, 1);
    cr_assert_str_eq(str(r, "reason"), "timeout");
    cJSON_Delete(r);
    settle_free(&st);
    board_unmap(b, 4);
}

/* A set of job ids seen at memory kills: the supervisor's memory. */
static char seen[8][32];
static int n_seen;
static int at_earlier_kill(void *arg, const char *id)
{
    (void)arg;
    for (int i = 0; i < n_seen; i++)
        if (strcmp(seen[i], id) == 0)
            return 1;
    snprintf(seen[n_seen++], sizeof seen[0], "%s", id);
    return 0;
}

Test(settle, a_memory_kill_charges_only_a_job_present_at_an_earlier_one)
{
    board_t *b = board();
    put(b, 0, BOARD_SLOT_RUNNING, "hog", 1, 5);
    put(b, 1, BOARD_SLOT_RUNNING, "beside", 1, 5);
    settle_death_t d = {.killed = KILL_MEMORY, .term_signal = SIGKILL,
                        .queues = Q_ONE, .n_queues = 1, .rss_bytes = 200LL << 20,
                        .ceiling_bytes = 150LL << 20,
                        .at_earlier_kill = at_earlier_kill};
    settle_t st = {0};
    n_seen = 0;
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 0, "the first kill charges nobody");
    cr_assert_eq(st.n_running, 2);
    /* the second kill: the hog again, with someone new beside it */
    put(b, 1, BOARD_SLOT_RUNNING, "other", 1, 5);
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 1);
    cr_assert_str_eq(st.jobs[0].job_id, "hog");
    settle_free(&st);
    board_unmap(b, 4);
}

Test(settle, a_memory_kill_charges_the_running_jobs)
{
    board_t *b = board();
    put(b, 0, BOARD_SLOT_RUNNING, "hog", 1, 5);
    put(b, 1, BOARD_SLOT_QUEUED, "waiting", 1, 5);
    settle_death_t d = {.killed = KILL_MEMORY, .term_signal = SIGKILL,
                        .queues = Q_ONE, .n_queues = 1, .rss_bytes = 200LL << 20,
                        .ceiling_bytes = 150LL << 20};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 1);
    cr_assert_str_eq(st.jobs[0].job_id, "hog");
    cr_assert(strstr(st.cause, "200 MiB"), "%s", st.cause);
    cJSON *r = record(&st, 0);
    cr_assert_str_eq(str(r, "signal"), "SIGKILL");
    cJSON_Delete(r);
    settle_free(&st);
    board_unmap(b, 4);
}

Test(settle, nothing_is_charged_for_a_clean_exit_a_wedged_loop_or_a_stop)
{
    board_t *b = board();
    put(b, 0, BOARD_SLOT_RUNNING, "a", 1, 5);
    const settle_death_t deaths[] = {
        {.queues = Q_ONE, .n_queues = 1},
        {.killed = KILL_WEDGED, .term_signal = SIGABRT, .queues = Q_ONE, .n_queues = 1},
        {.killed = KILL_STOP, .term_signal = SIGKILL, .queues = Q_ONE, .n_queues = 1},
    };
    for (size_t i = 0; i < 3; i++) {
        settle_t st = {0};
        cr_assert_eq(settle_build(&st, b, 4, "host-42", &deaths[i]), 0);
        cr_assert_eq(st.n, 0, "death %zu lists nothing: all released", i);
        settle_free(&st);
    }
    board_unmap(b, 4);
}

/* Plugin code in the worker can scribble on the board: the supervisor
 * uses its own slot count and cuts every string to its field. */
Test(settle, a_scribbled_board_is_read_within_bounds)
{
    board_t *b = board();
    put(b, 1, BOARD_SLOT_RUNNING, "x", 1, 5);
    b->n_slots = 1u << 30;
    memset(b->slots[1].id, 'x', sizeof b->slots[1].id);
    memset(b->slots[1].job, 'y', sizeof b->slots[1].job);
    memset(b->slots[1].build_id, 'z', sizeof b->slots[1].build_id);
    atomic_store(&b->crash_reported, 1);
    atomic_store(&b->crash_slot, 1);
    atomic_store(&b->crash_signal, SIGSEGV);
    settle_death_t d = {.term_signal = SIGSEGV, .queues = Q_ONE, .n_queues = 1};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 1);
    cr_assert_eq(strlen(st.jobs[0].job_id), sizeof b->slots[1].id - 1);
    cJSON *r = record(&st, 0);
    cJSON_Delete(r);
    atomic_store(&b->crash_slot, 1 << 20); /* out of range: not trusted */
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert(!st.attributed);
    settle_free(&st);
    board_unmap(b, 4);
}

Test(settle, each_job_is_settled_on_the_queue_it_came_from)
{
    static const char *const queues[] = {"critical", "default"};
    board_t *b = board();
    put(b, 0, BOARD_SLOT_RUNNING, "from-critical", 1, 5);
    put(b, 1, BOARD_SLOT_RUNNING, "from-default", 1, 5);
    put(b, 2, BOARD_SLOT_RUNNING, "bad-index", 1, 5);
    b->slots[0].queue_index = 0;
    b->slots[1].queue_index = 1;
    b->slots[2].queue_index = 9; /* plugin code may write anything */
    settle_death_t d = {.term_signal = SIGKILL, .queues = queues,
                        .n_queues = 2};
    settle_t st = {0};
    cr_assert_eq(settle_build(&st, b, 4, "host-42", &d), 0);
    cr_assert_eq(st.n, 3, "an unexplained death charges every running job");
    for (size_t i = 0; i < st.n; i++) {
        cJSON *r = record(&st, i);
        const char *id = st.jobs[i].job_id;
        uint32_t want = strcmp(id, "from-default") == 0 ? 1 : 0;
        cr_assert_eq(st.job_queues[i], want, "%s: queue index %u", id,
                     st.job_queues[i]);
        cr_assert_str_eq(str(r, "queue"), queues[want], "%s", id);
        cJSON_Delete(r);
    }
    settle_free(&st);
    board_unmap(b, 4);
}
