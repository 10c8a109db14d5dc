#!/usr/bin/env bash
# shutdown_grace.sh - what a handler can count on at shutdown. For the last
# --shutdown-grace of --shutdown-timeout, handlers still running see
# job_cancel_requested() and have that long to return; what they return is
# applied like any outcome (an OK is acked with its record), and a RETRY is
# handed back at once without counting an attempt. Only jobs still running
# at the end of the timeout are released unfinished.
. "$(dirname "$0")/lib.sh"
e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"

Q=grace
S=$(stream_key $Q)
pending_is() { [ "$(xpending_count "$1")" = "$2" ]; }

# ---- 1: a handler that stops cleanly when asked: its job succeeds --------
rcli XADD "$S" '*' job stoppable v 1 payload '{}' id stop-1 >/dev/null
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    -c 2 --shutdown-timeout 3s --shutdown-grace 1s
wait_for "stop-1 delivered" 10 pending_is $Q 1
t0=$(now_ms)
kill -TERM "$(worker_pid w1)"
wait_worker_exit w1 10
elapsed=$(($(now_ms) - t0))
assert_eq 0 "$WORKER_RC" "w1's exit code"
# The flag comes 1 s before the end of the 3 s timeout; the handler returns
# at once, so the worker stops at about 2 s, not at 3 s and not at once.
[ "$elapsed" -ge 1500 ] ||
    fail "w1 stopped ${elapsed} ms after SIGTERM: the flag came before the grace"
[ "$elapsed" -lt 2900 ] ||
    fail "w1 stopped ${elapsed} ms after SIGTERM: it waited out the timeout"
job_has_status $Q stop-1 succeeded ||
    fail "stop-1 has no succeeded record: $(job_status $Q stop-1 2>&1)"
rec=$(job_status $Q stop-1)
assert_eq '{"stopped":true}' "$(json_get "$rec" result)" "stop-1's result"
assert_eq 0 "$(xpending_count $Q)" "pending after w1"
grep -q "their handlers see job_cancel_requested() now" "$(worker_log w1)" ||
    fail "w1 did not say when it set the cancel flags"
if grep -q "shutdown timeout" "$(worker_log w1)"; then
    fail "w1 hit its timeout although the handler returned within the grace"
fi

# ---- 2: a handler that asks to be retried when stopped: handed back ------
# testkit's sleep returns JOBRT_RETRY "cancelled" as soon as it is asked to
# stop. Attempt 2 of 3 must stay attempt 2: shutdown is not the job's fault.
rcli XADD "$S" '*' job sleep v 1 payload '{"ms":60000}' id sleep-1 \
    attempt 2 >/dev/null
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    -c 2 --shutdown-timeout 2s --shutdown-grace 1s
wait_for "sleep-1 delivered" 10 pending_is $Q 1
kill -TERM "$(worker_pid w2)"
wait_worker_exit w2 10
assert_eq 0 "$WORKER_RC" "w2's exit code"
assert_eq 0 "$(xpending_count $Q)" "pending after w2"
e=$(find_entry "$S" id sleep-1) || fail "sleep-1 is not back in the stream"
assert_eq 2 "$(entry_field "$e" attempt)" "sleep-1's attempt after shutdown"
assert_eq 0 "$(delayed_len $Q)" "jobs sent to the delayed set (no backoff)"
grep -q "job sleep-1 (sleep v1) stopped for shutdown; handed back" \
    "$(worker_log w2)" || fail "w2 did not log the hand-back of sleep-1"

# ---- 3: a handler that ignores the flag is released at the timeout -------
rcli DEL "$S" >/dev/null
rcli XADD "$S" '*' job gather v 1 payload '{"n":99}' id deaf-1 >/dev/null
start_worker w3 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    -c 2 --shutdown-timeout 1s --shutdown-grace 500ms
wait_for "deaf-1 delivered" 10 pending_is $Q 1
kill -TERM "$(worker_pid w3)"
wait_worker_exit w3 10
assert_eq 0 "$WORKER_RC" "w3's exit code"
grep -q "shutdown timeout: 1 job(s) still running" "$(worker_log w3)" ||
    fail "w3 did not log its timeout"
find_entry "$S" id deaf-1 >/dev/null || fail "deaf-1 was not released"
assert_eq 0 "$(xpending_count $Q)" "pending after w3"
pass
