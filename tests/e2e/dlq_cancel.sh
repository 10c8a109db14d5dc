#!/usr/bin/env bash
# dlq_cancel.sh - `jobrt dlq` and `jobrt cancel` against dead letters made
# by a real worker: list (filters, count), show (by job id and entry id),
# retry (a no_handler job succeeds once a plugin serves it; all-or-nothing
# when an id is unknown; never without ids or --all), purge --all --reason;
# cancel of a running job (its handler is signalled) and of a delayed job
# (never runs, dead-lettered as cancelled).
. "$(dirname "$0")/lib.sh"

e2e_setup
Q=dq
S=$(stream_key $Q)
D=$(dlq_key $Q)
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"

# jobrt_q ARGS...: jobrt against this test's queue and redis.
jobrt_q() { "$JOBRT_BIN" "$@" -q $Q -r "$REDIS_URL"; }

# data_lines TEXT: the lines of `dlq list` output between header and count.
data_lines() { printf '%s\n' "$1" | sed '1d;$d'; }

# list_line TEXT JOB_ID: the list row whose JOB_ID column is JOB_ID.
list_line() { printf '%s\n' "$1" | awk -v id="$2" 'NR > 1 && $2 == id'; }

recorded() { grep -qx -- "$1" "$JOBRT_TESTKIT_RECORD"; }

# ---- dead letters through real paths --------------------------------------

# A worker serving only the first-party plugins (noop, echo): "ok" is
# no_handler there.
start_worker w1 --park-ttl 0 --plugin-dir "$JOBRT_PLUGINS_DIR" -r "$REDIS_URL" -q $Q
wait_for "w1 to create its consumer group" 10 group_exists $Q
assert_exit 0 "enqueue dq-ok" "$JOBRT_BIN" enqueue $Q ok -v 1 \
    --payload '{}' --id dq-ok -r "$REDIS_URL"
wait_for "dq-ok to be dead (no_handler)" 10 job_has_status $Q dq-ok dead
stop_worker w1 15
assert_eq 0 "$WORKER_RC" "w1 exit code after SIGTERM"

start_worker w2 --park-ttl 0 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4 --retry-base 100ms
wait_for "w2 to create its consumer group" 10 group_exists $Q
# One at a time: dq-fail is dead-lettered after its handler ran, the
# others at dispatch, so sent together their order in the DLQ would be a
# race (the list order below is what is checked).
rcli XADD "$S" '*' job fail v 1 payload '{}' id dq-fail >/dev/null
wait_for "dq-fail to be dead" 10 job_has_status $Q dq-fail dead
rcli XADD "$S" '*' job versioned v 9 payload '{}' id dq-schema >/dev/null
wait_for "dq-schema to be dead" 10 job_has_status $Q dq-schema dead
rcli XADD "$S" '*' job no_such_job v 1 payload '{}' id dq-nosuch >/dev/null
wait_for "dq-nosuch to be dead" 10 job_has_status $Q dq-nosuch dead
assert_eq 4 "$(dlq_len $Q)" "dead letters"

# ---- list ------------------------------------------------------------------

assert_exit 0 "dlq list" jobrt_q dlq list
LIST=$OUT
assert_eq "ENTRY JOB_ID JOB V REASON ATTEMPT DEAD_AT ERROR" \
    "$(printf '%s\n' "$LIST" | head -n 1 | tr -s ' ')" "list header"
assert_eq 4 "$(data_lines "$LIST" | wc -l | tr -d ' ')" "list rows"
assert_contains "$(printf '%s\n' "$LIST" | tail -n 1)" \
    "4 dead letter(s) shown, newest first, of 4 in queue $Q" "list count line"
# Newest first: the order they were dead-lettered, reversed.
assert_eq "dq-nosuch dq-schema dq-fail dq-ok" \
    "$(data_lines "$LIST" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')" \
    "list order"
declare -A WANT=([dq-ok]="ok no_handler" [dq-fail]="fail permanent_failure"
    [dq-schema]="versioned schema_unsupported"
    [dq-nosuch]="no_such_job no_handler")
for id in "${!WANT[@]}"; do
    row=$(list_line "$LIST" $id)
    assert_ne "" "$row" "list row of $id"
    # JOB V REASON ATTEMPT, then a UTC time.
    read -r _ _ job v reason attempt at _ <<<"$row"
    assert_eq "${WANT[$id]}" "$job $reason" "job and reason of $id"
    assert_eq 1 "$attempt" "attempt of $id"
    case "$at" in
        20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z) ;;
        *) fail "time of $id is not UTC ISO-8601: '$at'" ;;
    esac
    [ "$id" = dq-schema ] && v_schema=$v
done
assert_eq 9 "$v_schema" "v of dq-schema"
assert_contains "$(list_line "$LIST" dq-fail)" "permanent: bad input" \
    "error column of dq-fail"

assert_exit 0 "dlq list --reason" jobrt_q dlq list --reason permanent_failure
assert_eq 1 "$(data_lines "$OUT" | wc -l | tr -d ' ')" \
    "rows with --reason permanent_failure"
assert_ne "" "$(list_line "$OUT" dq-fail)" "the permanent_failure row"
assert_exit 0 "dlq list --job" jobrt_q dlq list --job no_such_job
assert_eq dq-nosuch "$(data_lines "$OUT" | awk '{print $2}')" "--job filter"
assert_exit 0 "dlq list --count 2" jobrt_q dlq list --count 2
assert_eq "dq-nosuch dq-schema" \
    "$(data_lines "$OUT" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')" \
    "rows with --count 2"
assert_exit 0 "dlq list --reason poison" jobrt_q dlq list --reason poison
assert_eq 0 "$(data_lines "$OUT" | wc -l | tr -d ' ')" "rows matching nothing"
assert_exit 2 "dlq list --reason nothing" jobrt_q dlq list --reason nothing

# ---- show ------------------------------------------------------------------

assert_exit 0 "dlq show dq-fail" jobrt_q dlq show dq-fail
SHOW=$OUT
for line in "job: fail" "v: 1" "payload: {}" "id: dq-fail" \
    "dlq_reason: permanent_failure" "dlq_error: permanent: bad input"; do
    grep -qxF -- "$line" <<<"$SHOW" ||
        fail "show dq-fail: no line '$line' in: $SHOW"
done
for f in dlq_worker dlq_at dlq_source_id; do
    grep -q "^$f: ." <<<"$SHOW" ||
        fail "show dq-fail: no $f line in: $SHOW"
done
entry=$(list_line "$LIST" dq-fail | awk '{print $1}')
assert_exit 0 "dlq show by entry id" jobrt_q dlq show "$entry"
assert_eq "$SHOW" "$OUT" "show by entry id vs by job id"
src=$(printf '%s\n' "$SHOW" | sed -n 's/^dlq_source_id: //p')
assert_exit 0 "dlq show by source id" jobrt_q dlq show "$src"
assert_eq "$SHOW" "$OUT" "show by dlq_source_id vs by job id"
assert_exit 1 "dlq show of an unknown id" jobrt_q dlq show dq-nope
assert_contains "$ERR" "no dead letter with id dq-nope" "show unknown: stderr"

# ---- usage errors ------------------------------------------------------------

assert_exit 2 "dlq retry without ids" jobrt_q dlq retry
assert_exit 2 "dlq purge without ids" jobrt_q dlq purge
assert_exit 2 "dlq retry with ids and --all" jobrt_q dlq retry dq-ok --all
assert_exit 2 "dlq bad subcommand" jobrt_q dlq frobnicate
assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" \
    "lines on stderr for a bad subcommand"
assert_exit 2 "cancel without ids" jobrt_q cancel
assert_exit 0 "dlq --help" "$JOBRT_BIN" dlq --help
assert_contains "$OUT" "Exit codes" "dlq --help"
assert_exit 0 "cancel --help" "$JOBRT_BIN" cancel --help
assert_contains "$OUT" "0.5 s" "cancel --help"
assert_eq 4 "$(dlq_len $Q)" "dead letters after the usage errors"

# ---- retry ---------------------------------------------------------------

# One unknown id: nothing is re-enqueued.
assert_exit 1 "dlq retry with an unknown id" jobrt_q dlq retry dq-ok dq-nope
assert_contains "$ERR" "no dead letter with id dq-nope" "retry unknown: stderr"
assert_eq 4 "$(dlq_len $Q)" "dead letters after a refused retry"

# dq-ok was no_handler under w1; w2 serves "ok".
assert_exit 0 "dlq retry dq-ok" jobrt_q dlq retry dq-ok
assert_eq "re-enqueued 1 job(s) to queue $Q" "$OUT" "retry output"
wait_for "dq-ok to succeed after the retry" 10 \
    job_has_status $Q dq-ok succeeded
rec=$(job_status $Q dq-ok)
assert_eq 1 "$(json_get "$rec" attempts)" "attempts of the retried dq-ok"
! find_entry "$D" id dq-ok >/dev/null || fail "dq-ok is still in the DLQ"
assert_exit 1 "show the retried dq-ok" jobrt_q dlq show dq-ok
assert_eq 3 "$(dlq_len $Q)" "dead letters after the retry"

# ---- purge ---------------------------------------------------------------

assert_exit 0 "dlq purge --all --reason permanent_failure" \
    jobrt_q dlq purge --all --reason permanent_failure
assert_eq "purged 1" "$OUT" "purge output"
assert_exit 0 "dlq list after purge" jobrt_q dlq list
assert_eq "dq-nosuch dq-schema" \
    "$(data_lines "$OUT" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')" \
    "dead letters left after purging permanent_failure"

# ---- cancel a running job -----------------------------------------------------

assert_exit 0 "enqueue dq-sleep" "$JOBRT_BIN" enqueue $Q sleep -v 1 \
    --payload '{"ms":30000}' --id dq-sleep -r "$REDIS_URL"
wait_for "dq-sleep to run" 10 eval '[ "$(xpending_count $Q)" = 1 ]'
L=$(worker_log w2)
t0=$(now_ms)
assert_exit 0 "cancel dq-sleep" jobrt_q cancel dq-sleep
assert_eq "cancel requested for 1 job(s): workers skip them if not started (dead-lettered as cancelled) and signal them if running (handlers see job_cancel_requested); a job already finished is not affected" \
    "$OUT" "cancel output"
wait_for "w2 to log the cancel of dq-sleep" 5 \
    grep -q "job dq-sleep: cancel requested while running" "$L"
# The handler stops at once (it asks for a retry); nothing runs any more.
wait_for "dq-sleep's handler to return" 5 \
    eval '[ "$(xpending_count $Q)" = 0 ]'
took=$(($(now_ms) - t0))
[ "$took" -lt 5000 ] || fail "dq-sleep ended ${took} ms after the cancel"
log "dq-sleep ended ${took} ms after the cancel"
# Its retry is skipped: cancelled, not run again for 30 s.
wait_for "dq-sleep to be cancelled" 10 job_has_status $Q dq-sleep cancelled
e=$(find_entry "$D" id dq-sleep) || fail "no dead letter of dq-sleep"
assert_eq cancelled "$(entry_field "$e" dlq_reason)" "dlq_reason of dq-sleep"

# ---- cancel a job before it is due -------------------------------------------

nb=$(($(now_ms) + 3000))
rcli XADD "$S" '*' job record v 1 payload '{}' id dq-late not_before $nb \
    >/dev/null
rcli XADD "$S" '*' job record v 1 payload '{}' id dq-late-ok not_before $nb \
    >/dev/null
wait_for "both to wait in the delayed set" 5 \
    eval '[ "$(rcli ZCARD "jobrt:{$Q}:delayed")" = 2 ]'
assert_exit 0 "cancel dq-late" jobrt_q cancel dq-late
# Workers poll cancellations every 0.5 s: leave them time before it is due.
[ "$(now_ms)" -lt $((nb - 1000)) ] ||
    fail "machine too slow: dq-late was due less than 1 s after its cancel"
wait_for "dq-late-ok to run" 10 recorded dq-late-ok
wait_for "dq-late to be cancelled" 10 job_has_status $Q dq-late cancelled
e=$(find_entry "$D" id dq-late) || fail "no dead letter of dq-late"
assert_eq cancelled "$(entry_field "$e" dlq_reason)" "dlq_reason of dq-late"
! recorded dq-late || fail "the cancelled dq-late ran"
assert_exit 0 "dlq list --reason cancelled" jobrt_q dlq list --reason cancelled
assert_eq "dq-late dq-sleep" \
    "$(data_lines "$OUT" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')" \
    "cancelled dead letters"

# Re-driving a job that is still cancelled warns that it comes back.
assert_exit 0 "dlq retry of the cancelled dq-late" jobrt_q dlq retry dq-late
assert_contains "$ERR" "cancelled" "warning when retrying a cancelled job"
wait_for "dq-late back in the DLQ" 10 find_entry "$D" id dq-late
e=$(find_entry "$D" id dq-late)
assert_eq cancelled "$(entry_field "$e" dlq_reason)" \
    "dlq_reason of dq-late after the retry"
! recorded dq-late || fail "the cancelled dq-late ran after a retry"

wait_for "stream $S to drain with nothing pending" 10 stream_empty $Q
worker_alive w2 || fail "w2 died"
stop_worker w2 15
assert_eq 0 "$WORKER_RC" "w2 exit code after SIGTERM"
pass
