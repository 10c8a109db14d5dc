/*
 * settle.c - see settle.h.
 */
#include "supervise/settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int slot_running(const board_slot_t *s)
{
    uint32_t st = atomic_load(&s->state);
    return st == BOARD_SLOT_RUNNING || st == BOARD_SLOT_OVERRUN;
}

/* The status record of a job that ends dead here (the fields of
 * exec/outcome.c's, from the board). */
static int build_record(buf_t *r, const char *consumer,
                        const board_slot_t *s, const char *queue,
                        const char *reason, const char *error,
                        const char *signal_name)
{
    int rc = 0;
    buf_reset(r);
    rc |= buf_append(r, "{\"id\":", 6);
    rc |= buf_append_json_str(r, s->id, strlen(s->id));
    rc |= buf_append(r, ",\"queue\":", 9);
    rc |= buf_append_json_str(r, queue, strlen(queue));
    rc |= buf_append(r, ",\"job\":", 7);
    rc |= buf_append_json_str(r, s->job, strlen(s->job));
    rc |= buf_appendf(r, ",\"v\":%u,\"status\":\"dead\",\"attempts\":%u,"
                      "\"deliveries\":%u,\"reason\":\"%s\",\"result\":null",
                      s->version, s->attempt ? s->attempt : 1,
                      s->deliveries ? s->deliveries : 1, reason);
    rc |= buf_append(r, ",\"error\":", 9);
    rc |= buf_append_json_str(r, error, strlen(error));
    if (signal_name) {
        rc |= buf_append(r, ",\"signal\":", 10);
        rc |= buf_append_json_str(r, signal_name, strlen(signal_name));
    }
    rc |= buf_append(r, ",\"plugin\":", 10);
    rc |= buf_append_json_str(r, s->plugin, strlen(s->plugin));
    rc |= buf_append(r, ",\"plugin_version\":", 18);
    rc |= buf_append_json_str(r, s->plugin_version, strlen(s->plugin_version));
    rc |= buf_append(r, ",\"build_id\":", 12);
    rc |= buf_append_json_str(r, s->build_id, strlen(s->build_id));
    rc |= buf_appendf(r, ",\"sha256\":\"%.12s\",\"generation\":%llu",
                      s->sha12, (unsigned long long)s->generation);
    int64_t started = atomic_load(&s->started_ms);
    const int64_t times[] = {s->enqueued_ms, s->dispatched_ms, started,
                             util_now_ms()};
    const char *names[] = {"enqueued_at", "dispatched_at", "started_at",
                           "finished_at"};
    for (int i = 0; i < 4; i++)
        rc |= times[i] > 0
                  ? buf_appendf(r, ",\"%s\":%lld", names[i],
                                (long long)times[i])
                  : buf_appendf(r, ",\"%s\":null", names[i]);
    rc |= buf_append(r, ",\"worker\":", 10);
    rc |= buf_append_json_str(r, consumer, strlen(consumer));
    rc |= buf_append(r, "}", 1);
    return rc ? -1 : 0;
}

/* "job X (name vN, plugin P build B)" */
static void describe(const board_slot_t *s, char *out, size_t len)
{
    snprintf(out, len, "job %s (%s v%u, plugin %s build %s, generation %llu)",
             s->id, s->job, s->version, s->plugin,
             s->build_id[0] ? s->build_id : s->plugin_version,
             (unsigned long long)s->generation);
}

/* The board's slot i, copied with every string cut to its field. */
static const board_slot_t *snapshot(settle_t *st, const board_t *b,
                                    uint32_t i)
{
    board_slot_t *c = &st->slots[i];
    memcpy(c, &b->slots[i], sizeof *c);
    c->stream_id[sizeof c->stream_id - 1] = '\0';
    c->id[sizeof c->id - 1] = '\0';
    c->job[sizeof c->job - 1] = '\0';
    c->plugin[sizeof c->plugin - 1] = '\0';
    c->plugin_version[sizeof c->plugin_version - 1] = '\0';
    c->build_id[sizeof c->build_id - 1] = '\0';
    c->sha12[sizeof c->sha12 - 1] = '\0';
    return c;
}

static int add_job(settle_t *st, const char *consumer, const board_slot_t *s,
                   const settle_death_t *d, lost_kind_t kind,
                   const char *error, const char *signal_name)
{
    size_t i = st->n++;
    queue_lost_job_t *j = &st->jobs[i];
    snprintf(st->errors[i], sizeof st->errors[i], "%s", error);
    j->stream_id = s->stream_id;
    j->job_id = s->id;
    j->kind = kind;
    j->error = st->errors[i];
    const char *reason = "poison";
    if (kind == LOST_TIMEOUT) {
        j->next_attempt = s->attempt < s->max_attempts ? s->attempt + 1 : 0;
        j->retry_delay_ms = s->retry_delay_ms;
        reason = "timeout";
    }
    /* the index comes from the board: checked, as everything there */
    uint32_t q = s->queue_index < d->n_queues ? s->queue_index : 0;
    st->job_queues[i] = q;
    if (build_record(&st->records[i], consumer, s, d->queues[q], reason,
                     st->errors[i], signal_name) != 0)
        return -1;
    j->record = st->records[i].data;
    j->record_len = st->records[i].len;
    return 0;
}

int settle_build(settle_t *st, const board_t *b, uint32_t n,
                 const char *consumer, const settle_death_t *d)
{
    settle_free(st);
    st->crash_slot = -1;
    st->attributed = 0;
    st->n_running = 0;
    st->cause[0] = '\0';
    st->jobs = calloc(n ? n : 1, sizeof *st->jobs);
    st->records = calloc(n ? n : 1, sizeof *st->records);
    st->errors = calloc(n ? n : 1, sizeof *st->errors);
    st->slots = calloc(n ? n : 1, sizeof *st->slots);
    st->job_queues = calloc(n ? n : 1, sizeof *st->job_queues);
    if (!st->jobs || !st->records || !st->errors || !st->slots ||
        !st->job_queues) {
        settle_free(st);
        return -1;
    }
    char what[640], sig[96] = "", err[512];
    int32_t crash_slot = atomic_load(&b->crash_slot);
    int reported = atomic_load(&b->crash_reported) != 0;
    int crash_sig = atomic_load(&b->crash_signal);
    if (d->term_signal)
        util_signal_text(d->term_signal, sig, sizeof sig);

    if (d->killed == KILL_OVERRUN) {
        snprintf(st->cause, sizeof st->cause, "stopped for overrunning "
                 "job(s)");
        for (uint32_t i = 0; i < n; i++) {
            const board_slot_t *s = snapshot(st, b, i);
            if (atomic_load(&s->state) != BOARD_SLOT_OVERRUN)
                continue;
            describe(s, what, sizeof what);
            snprintf(err, sizeof err, "timeout: still running %lld ms after "
                     "its deadline (timeout %u ms, then --timeout-grace "
                     "%lld ms); its worker process was stopped",
                     (long long)(util_now_ms() - s->deadline_ms),
                     s->timeout_ms, (long long)d->grace_ms);
            if (add_job(st, consumer, s, d, LOST_TIMEOUT, err, NULL) != 0)
                goto oom;
        }
        return 0;
    }
    if (d->killed == KILL_WEDGED || d->killed == KILL_STOP) {
        snprintf(st->cause, sizeof st->cause, "%s",
                 d->killed == KILL_WEDGED ? "killed: its event loop stopped "
                 "turning" : "killed at the end of the shutdown budget");
        return 0; /* not the jobs' fault: all released */
    }
    if (d->killed == KILL_MEMORY) {
        snprintf(st->cause, sizeof st->cause, "killed: its memory (RSS %lld "
                 "MiB) passed the ceiling of %lld MiB", d->rss_bytes >> 20,
                 d->ceiling_bytes >> 20);
        for (uint32_t i = 0; i < n; i++) {
            const board_slot_t *s = snapshot(st, b, i);
            if (!slot_running(s))
                continue;
            st->n_running++;
            if (d->at_earlier_kill && !d->at_earlier_kill(d->arg, s->id))
                continue; /* the first kill it sees: released, uncharged */
            snprintf(err, sizeof err, "its worker process was killed past "
                     "its memory ceiling while this job ran, and this job "
                     "was running at an earlier such kill too");
            if (add_job(st, consumer, s, d, LOST_CHARGE, err, "SIGKILL") != 0)
                goto oom;
        }
        return 0;
    }
    if (reported && crash_slot >= 0 && (uint32_t)crash_slot < n) {
        const board_slot_t *s = snapshot(st, b, (uint32_t)crash_slot);
        describe(s, what, sizeof what);
        char how[128];
        if (crash_sig) {
            util_signal_text(crash_sig, how, sizeof how);
        } else {
            snprintf(how, sizeof how, "exit(%d)",
                     (int)atomic_load(&b->crash_exit_status));
        }
        st->attributed = 1;
        st->crash_slot = crash_slot;
        snprintf(st->cause, sizeof st->cause, "%s in the handler of %s", how,
                 what);
        snprintf(err, sizeof err, "the handler %s %s (plugin %s build %s); "
                 "its worker process died", crash_sig ? "crashed with"
                 : "called", how, s->plugin,
                 s->build_id[0] ? s->build_id : s->plugin_version);
        char signame[32] = "";
        if (crash_sig)
            snprintf(signame, sizeof signame, "%.*s",
                     (int)strcspn(how, " "), how);
        if (add_job(st, consumer, s, d, LOST_CHARGE, err,
                    crash_sig ? signame : NULL) != 0)
            goto oom;
        return 0;
    }
    if (d->term_signal == 0 && d->exit_status == 0) {
        snprintf(st->cause, sizeof st->cause, "exited");
        return 0;
    }
    /* Died with no report naming a job: every job running then shares
     * the blame, so one that is present at repeated deaths ends poison. */
    char how_died[160];
    int sender = atomic_load(&b->crash_sender);
    if (d->term_signal && reported && sender > 0)
        snprintf(how_died, sizeof how_died, "was killed with %s sent by pid "
                 "%d", sig, sender);
    else if (d->term_signal)
        snprintf(how_died, sizeof how_died, "died of %s%s", sig,
                 reported && crash_slot < 0 ? " outside any handler" : "");
    else
        snprintf(how_died, sizeof how_died, "exited with status %lld",
                 (long long)d->exit_status);
    snprintf(st->cause, sizeof st->cause, "%s", how_died);
    for (uint32_t i = 0; i < n; i++) {
        const board_slot_t *s = snapshot(st, b, i);
        if (!slot_running(s))
            continue;
        snprintf(err, sizeof err, "its worker process %s while this job ran "
                 "(no crash report names a job: each job running then is "
                 "charged a delivery)", how_died);
        char signame[32] = "";
        if (d->term_signal)
            snprintf(signame, sizeof signame, "%.*s", (int)strcspn(sig, " "),
                     sig);
        if (add_job(st, consumer, s, d, LOST_CHARGE, err,
                    d->term_signal ? signame : NULL) != 0)
            goto oom;
    }
    return 0;
oom:
    settle_free(st);
    return -1;
}

void settle_free(settle_t *st)
{
    if (st->records)
        for (size_t i = 0; i < st->n; i++)
            buf_free(&st->records[i]);
    free(st->jobs);
    free(st->records);
    free(st->errors);
    free(st->slots);
    free(st->job_queues);
    st->job_queues = NULL;
    st->jobs = NULL;
    st->records = NULL;
    st->errors = NULL;
    st->slots = NULL;
    st->n = 0;
}
