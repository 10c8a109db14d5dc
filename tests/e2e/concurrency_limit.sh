#!/usr/bin/env bash
# concurrency_limit.sh - a fleet-wide concurrency limit
# (docs/flow-control.md, "Concurrency limits"): three workers with 4
# slots each, started with --limit overlap=4 and --lease 2s, drain 60
# `overlap` jobs of 300 ms, which count how many of them run at once
# across the processes (testkit: a file per running job, under flock).
# Never more than 4 ran at once, including after `kill -9` of one worker
# in the middle (its slots come back after --lease: the others go on);
# every job ran and succeeded, none was dead-lettered; `jobrt limit list`
# shows the limit and, at the end, no slot held.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=cl
N=60
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
export JOBRT_TESTKIT_OVERLAP_DIR=$E2E_WORK/overlap
mkdir -p "$JOBRT_TESTKIT_OVERLAP_DIR"
done_count() { record_count "$Q"; }
max_seen() { cat "$JOBRT_TESTKIT_OVERLAP_DIR/max" 2>/dev/null || echo 0; }

for ((i = 1; i <= N; i++)); do
    printf '{"job":"overlap","v":1,"payload":{"ms":300},"id":"c-%d"}\n' $i
done | J enqueue $Q >/dev/null || fail "enqueue of the backlog failed"

for w in w1 w2 w3; do
    start_worker $w --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
        --queue $Q --concurrency 4 --limit overlap=4 --lease 2s
done
wait_for "w1 to log the limit" 10 grep -q \
    "limits of job overlap on queue $Q: concurrency 4" "$(worker_log w1)"
assert_exit 0 "limit list" J limit list -q $Q
assert_contains "$OUT" "overlap" "limit list names the job"

# kill -9 one worker while it runs jobs of the limit
w1_running() { [ "$(find "$JOBRT_TESTKIT_OVERLAP_DIR" -name "run-$(worker_pid w1)-*" | wc -l)" -ge 1 ]; }
wait_for "15 jobs to finish" 30 eval '[ "$(done_count)" -ge 15 ]'
wait_for "w1 to run a job" 20 w1_running
kill -KILL "$(worker_pid w1)"
log "killed w1 (pid $(worker_pid w1)) with SIGKILL after $(done_count) jobs"
wait_for "every job to finish" 60 eval '[ "$(done_count)" -ge '$N' ]'
wait_for "the queue to be idle" 15 queue_idle $Q

max=$(max_seen)
log "the most overlap jobs running at once: $max"
[ "$max" -le 4 ] || fail "$max overlap jobs ran at once under a limit of 4"
assert_eq 4 "$max" "the most running at once (the limit was used)"
assert_eq "$N" "$(done_count)" "outcome records"
bad=$(($(record_count "$Q") - $(record_count "$Q" "" succeeded)))
assert_eq 0 "$bad" "records that are not succeeded"
assert_eq 0 "$(dlq_len $Q)" "dead letters"
assert_exit 0 "limit list --json" J limit list -q $Q --json
assert_contains "$OUT" '"concurrency":4,"running":0' "no slot held at the end"
for w in w2 w3; do
    assert_not_contains "$(cat "$(worker_log $w)")" "ERROR" "$w log"
    stop_worker $w
    assert_eq 0 "$WORKER_RC" "$w exit code"
done
pass "concurrency limits"
