#!/usr/bin/env bash
# overdue.sh - a handler that runs past its deadline and ignores
# job_cancel_requested(). Its lease is no longer renewed and the worker
# says so once; but the worker running it never reclaims it itself (it
# used to, every --lease, until the job counted as poison and was
# dead-lettered while it still ran, then recorded as done too). With one
# worker the job just finishes late and its own outcome is applied: one
# dead letter, permanent_failure, not poison.
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"

Q=overdue
# testkit's gather {"n":99} waits 5 s for 99 jobs that never come, without
# looking at the cancel flag, then fails.
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    -c 2 --job-timeout 300ms --lease 1s --max-deliveries 3
wait_for "consumer group" 10 group_exists $Q
"$JOBRT_BIN" enqueue $Q gather -v 1 --payload '{"n":99}' --id late-1 \
    -r "$REDIS_URL" >/dev/null
L=$(worker_log w1)
wait_for "the job's outcome" 15 eval '[ "$(dlq_len $Q)" -ge 1 ]'
assert_eq 1 "$(dlq_len $Q)" "dead letters"
e=$(find_entry "$(dlq_key $Q)" id late-1) || fail "no dead letter for late-1"
assert_eq permanent_failure "$(entry_field "$e" dlq_reason)" \
    "late-1's reason (the handler's own outcome, not poison)"
assert_eq 1 "$(grep -c "job late-1 (gather v1) is still running .* past its deadline" "$L")" \
    "lines saying late-1 runs past its deadline"
assert_not_contains "$(cat "$L")" "poison" "worker log"
assert_not_contains "$(cat "$L")" "reclaimed entry" "worker log"
rec=$(job_status $Q late-1)
assert_eq dead "$(json_get "$rec" status)" "late-1's record"
assert_eq 1 "$(json_get "$rec" deliveries)" "late-1's deliveries"
stop_worker w1
assert_eq 0 "$WORKER_RC" "exit code"
pass
