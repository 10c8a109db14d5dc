#!/usr/bin/env bash
# read_and_op_errors.sh - a failing read and a failing write at the same
# time: each is retried on its own timer, and the worker keeps fetching.
#
# The queue's stream key is replaced by a string while a job runs: the
# blocked XREADGROUP fails (and keeps failing with WRONGTYPE, retried
# every second), then the job's XACK fails with WRONGTYPE too (retried
# every 500 ms). Once the key is deleted, the ack goes through, the read
# retry recreates the group, and a job enqueued afterwards runs. (Before
# this was fixed one timer served both retries: the ack's retry replaced
# the pending read retry and the worker never fetched again until its
# connection dropped.) Read errors are logged once per new error, not
# once per retry.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=rw
S=$(stream_key $Q)
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"
L=$(worker_log w1)
count_log() { grep -c -E "$1" "$L" || true; }
# log_has N ERE: at least N lines of the worker log match ERE.
log_has() { [ "$(count_log "$2")" -ge "$1" ]; }
recorded() { grep -qx "$1" "$JOBRT_TESTKIT_RECORD"; }

# --result-ttl 0: a finished job is acked with a plain XACK.
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 2 --result-ttl 0
wait_for "the worker's consumer group" 10 group_exists $Q
rcli XADD "$S" '*' job record v 1 payload '{}' id warmup >/dev/null
wait_for "the warm-up job" 10 recorded warmup

rcli XADD "$S" '*' job sleep v 1 payload '{"ms":1500}' id slow >/dev/null
wait_for "the slow job to be delivered" 10 eval '[ "$(xpending_count $Q)" = 1 ]'
rcli DEL "$S" >/dev/null
rcli SET "$S" not-a-stream >/dev/null
log "stream key replaced by a string while the slow job runs"
wait_for "the read to fail" 5 log_has 1 "XREADGROUP on .* failed"
wait_for "the slow job's ack to fail" 10 log_has 1 \
    "WARN  queue: ack for job .* failed: WRONGTYPE"
# The read keeps failing meanwhile (every second, with WRONGTYPE now).
wait_for "a read retry after the ack failed" 5 log_has 1 \
    "XREADGROUP on .* failed: WRONGTYPE"
rcli DEL "$S" >/dev/null
log "string deleted: the ack and the read can succeed again"

wait_for "the read retry to recreate the group" 10 group_exists $Q
rcli XADD "$S" '*' job record v 1 payload '{}' id after >/dev/null
wait_for "a job enqueued after both errors to run" 10 recorded after
wait_for "the reads to work again" 5 log_has 1 \
    "XREADGROUP on .* works again after"
wait_for "the stream to drain" 10 queue_idle $Q
worker_alive w1 || fail "worker exited"
# Once per new error (the unblocked read, then WRONGTYPE), not per retry.
assert_eq 2 "$(count_log 'XREADGROUP on .* failed')" "read error lines"
assert_eq 1 "$(count_log 'ack for job .* failed')" "ack error lines"
stop_worker w1
assert_eq 0 "$WORKER_RC" "exit code after SIGTERM"
pass
