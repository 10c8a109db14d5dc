#!/usr/bin/env bash
# disable.sh - the kill switch: `jobrt disable JOB -q Q` makes every worker
# of Q park the jobs of JOB instead of running them, while other jobs run;
# a worker started while it holds parks them too; parked jobs of a disabled
# job never expire (--park-ttl 1s here); `jobrt stats` shows the switch;
# `jobrt enable` runs every parked job, once. Nothing is lost.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"
records() { wc -l <"$JOBRT_TESTKIT_RECORD" | tr -d ' '; }
Q=kz
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
parked() { json_get "$(J stats $Q --json)" queues 0 parked; }
parked_is() { [ "$(parked)" = "$1" ]; }

usage_error_has() { # WHAT TEXT ARGS...: exit 2 with TEXT on stderr
    local what=$1 text=$2
    shift 2
    assert_exit 2 "$what" "$@"
    assert_contains "$ERR" "$text" "$what"
}
usage_error_has "disable without a job" "expected the JOB to disable" \
    J disable -q $Q
usage_error_has "disable a bad name" "'bad name' is not a job name" \
    J disable "bad name" -q $Q

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --park-ttl 1s
wait_for "w1 to take jobs" 10 grep -q "taking jobs" "$(worker_log w1)"

assert_exit 0 "jobrt disable" J disable record -q $Q --reason "bad deploy"
assert_contains "$OUT" "job record disabled on queue $Q" "disable output"
wait_for "w1 to see the switch" 5 grep -q "job record is disabled" \
    "$(worker_log w1)"
t_parked=$(now_ms)
for i in 1 2 3 4 5; do
    J enqueue $Q record -v 1 --payload '{}' --id "rec-$i" >/dev/null
done
for i in 1 2 3; do
    J enqueue $Q ok -v 1 --payload '{}' --id "ok-$i" >/dev/null
done
for i in 1 2 3; do
    wait_for "ok-$i to run" 10 job_has_status $Q "ok-$i" succeeded
done
wait_for "the 5 record jobs parked" 10 parked_is 5
assert_eq 0 "$(records)" "record jobs run while disabled"

assert_exit 0 "disable again" J disable record -q $Q
assert_contains "$OUT" "was already disabled" "disabling twice"
assert_contains "$OUT" "bad deploy" "the first record stays"
assert_exit 0 "stats" J stats $Q
assert_contains "$OUT" "$Q: disabled (parked, not run): record" "stats"
assert_exit 0 "stats --json" J stats $Q --json
assert_contains "$OUT" '"disabled":["record"]' "stats --json"

# a worker started while the switch holds parks the job too
stop_worker w1
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --park-ttl 1s
wait_for "w2 to see the switch" 10 grep -q "job record is disabled" \
    "$(worker_log w2)"
for i in 6 7; do
    J enqueue $Q record -v 1 --payload '{}' --id "rec-$i" >/dev/null
done
wait_for "the 7 record jobs parked" 10 parked_is 7
# park expiry runs every 5 s; with --park-ttl 1s the parked jobs would be
# dead-lettered by now if the switch did not keep them
wait_for "7 s after the first jobs parked" 9 \
    eval '[ $(($(now_ms) - t_parked)) -ge 7000 ]'
assert_eq 0 "$(dlq_len $Q)" "dead letters of parked disabled jobs"
assert_eq 0 "$(records)" "record jobs run while disabled"

assert_exit 0 "jobrt enable" J enable record -q $Q
assert_contains "$OUT" "job record enabled on queue $Q" "enable output"
assert_contains "$OUT" "bad deploy" "enable says what it ended"
wait_for "the 7 record jobs to run" 10 eval '[ "$(records)" -ge 7 ]'
for i in 1 2 3 4 5 6 7; do
    wait_for "rec-$i to succeed" 10 job_has_status $Q "rec-$i" succeeded
done
assert_eq 7 "$(records)" "record jobs run"
assert_eq 7 "$(sort -u "$JOBRT_TESTKIT_RECORD" | wc -l | tr -d ' ')" \
    "distinct record jobs run"
wait_for "nothing parked" 5 parked_is 0
assert_exit 0 "enable again" J enable record -q $Q
assert_contains "$OUT" "was not disabled" "enabling twice"
assert_eq 0 "$(dlq_len $Q)" "dead letters"

# ---- a worker's own pending entry of a job disabled while it was down ------
# (its first read, of its own pending entries, waits for the switches)
stop_worker w2
Q2=kz2
start_worker w3 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q2 --consumer stable-1
J enqueue $Q2 sleep -v 1 --payload '{"ms":4000}' --id s-1 >/dev/null
pending_is() { [ "$(xpending_count $Q2)" = "$1" ]; }
wait_for "s-1 to be delivered to stable-1" 10 pending_is 1
kill -KILL "$(worker_pid w3)"
wait_worker_exit w3 5
assert_exit 0 "disable sleep" J disable sleep -q $Q2
start_worker w4 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q2 --consumer stable-1
is_parked() { job_status $Q2 s-1 2>&1 | grep -q parked; }
wait_for "s-1 to be parked by the restarted stable-1" 10 is_parked
grep -q "parking jobs of sleep v1: job 'sleep' is disabled" \
    "$(worker_log w4)" || fail "w4 did not park s-1 as disabled"
assert_not_contains "$(job_status $Q2 s-1 2>&1)" succeeded "s-1 ran"
assert_exit 0 "enable sleep" J enable sleep -q $Q2
wait_for "s-1 to run after enable" 15 job_has_status $Q2 s-1 succeeded
pass
