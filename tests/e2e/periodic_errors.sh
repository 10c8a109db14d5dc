#!/usr/bin/env bash
# periodic_errors.sh - a periodic call that keeps failing (here the delayed
# set replaced by a string, so every promote fails with WRONGTYPE) is one
# log line when it starts and one when it is over, not a line on every
# 100 ms tick; and the worker keeps running jobs meanwhile.
. "$(dirname "$0")/lib.sh"
e2e_setup

Q=per
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q -c 2
wait_for "consumer group" 10 group_exists $Q
L=$(worker_log w1)
promote_failures() { grep -c "moving due delayed jobs on .* failed" "$L" || true; }

rcli SET "$(delayed_key $Q)" not-a-sorted-set >/dev/null
wait_for "the first promote failure logged" 5 \
    eval '[ "$(promote_failures)" -ge 1 ]'
# About 20 promote rounds fail while a job runs through.
"$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id during-1 -r "$REDIS_URL" \
    >/dev/null
wait_for "a job while promotes fail" 10 job_has_status $Q during-1 succeeded
# Redis counts the WRONGTYPE errors it sent: wait until it has refused at
# least 10 promotes.
wrongtype() { rcli INFO errorstats | sed -n 's/^errorstat_WRONGTYPE:count=\([0-9]*\).*/\1/p'; }
wait_for "10 failed promotes" 10 eval '[ "$(wrongtype)" -ge 10 ]'
assert_eq 1 "$(promote_failures)" "log lines for a promote failure that repeats"
assert_contains "$(grep "moving due delayed jobs" "$L")" "WRONGTYPE" \
    "the line names Redis's error"

rcli DEL "$(delayed_key $Q)" >/dev/null
wait_for "the recovery logged" 5 grep -q "moving due delayed jobs on .* works again" "$L"
# Delayed jobs move again.
"$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id after-1 --delay 200ms \
    -r "$REDIS_URL" >/dev/null
wait_for "a delayed job after the recovery" 10 job_has_status $Q after-1 succeeded
assert_eq 1 "$(promote_failures)" "failure lines after the recovery"
stop_worker w1
assert_eq 0 "$WORKER_RC" "exit code"
pass
