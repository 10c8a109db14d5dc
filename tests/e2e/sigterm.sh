#!/usr/bin/env bash
# sigterm.sh - graceful shutdown. SIGTERM stops fetching at once; running
# jobs get up to --shutdown-timeout to finish; whatever is still unfinished
# then is cancelled and released back to the stream (not left pending), and
# the worker exits 0. Nothing is lost: a second worker runs the rest.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"
records() { wc -l <"$JOBRT_TESTKIT_RECORD" | tr -d ' '; }

# ---- 1: running jobs finish within the timeout ----------------------------
Q=st1
S=$(stream_key $Q)
# Enqueued before the worker starts, so its first read (4 free slots) takes
# exactly the 4 sleep jobs and the record jobs wait behind them.
for i in 1 2 3 4; do
    rcli XADD "$S" '*' job sleep v 1 payload '{"ms":3000}' id "s-$i" >/dev/null
done
for i in $(seq 1 20); do
    rcli XADD "$S" '*' job record v 1 payload '{}' id "rec-$i" >/dev/null
done

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4 --shutdown-timeout 10s
pending_is() { [ "$(xpending_count "$1")" = "$2" ]; }
wait_for "the 4 sleep jobs to be delivered" 10 pending_is $Q 4
t0=$(now_ms)
kill -TERM "$(worker_pid w1)"
wait_worker_exit w1 15
elapsed=$(($(now_ms) - t0))
log "w1 exited $elapsed ms after SIGTERM"
assert_eq 0 "$WORKER_RC" "w1's exit code after SIGTERM"
[ "$elapsed" -ge 1500 ] ||
    fail "w1 exited ${elapsed} ms after SIGTERM: it did not wait for its 3 s jobs"
[ "$elapsed" -lt 10000 ] ||
    fail "w1 took ${elapsed} ms: it waited out the timeout for finished jobs"
for i in 1 2 3 4; do
    job_has_status $Q "s-$i" succeeded ||
        fail "sleep job s-$i did not succeed before w1 exited: $(job_status $Q "s-$i" 2>&1)"
done
assert_eq 0 "$(records)" "record jobs run by w1 after SIGTERM (it must stop fetching)"
assert_eq 20 "$(xlen $Q)" "entries left in $S for the next worker"
assert_eq 0 "$(xpending_count $Q)" "entries left pending by w1"
L=$(worker_log w1)
grep -q "SIGTERM: stopping; waiting up to 10000 ms for 4 running job(s)" "$L" ||
    fail "w1 did not log its shutdown with 4 running jobs"
if grep -q "shutdown timeout" "$L"; then
    fail "w1 hit its shutdown timeout: $(grep "shutdown timeout" "$L")"
fi

# A second worker runs everything that is left.
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4 --shutdown-timeout 10s
wait_for "the 20 record jobs to run" 20 eval '[ "$(records)" -ge 20 ]'
wait_for "stream $S to drain with nothing pending" 10 stream_empty $Q
assert_eq "$(seq 1 20 | sed 's/^/rec-/' | sort)" \
    "$(sort -u "$JOBRT_TESTKIT_RECORD")" "record ids run at least once"
for i in 1 2 3 4; do
    job_has_status $Q "s-$i" succeeded || fail "s-$i is no longer succeeded"
done
stop_worker w2 15
assert_eq 0 "$WORKER_RC" "w2's exit code after SIGTERM"

# ---- 2: the timeout expires: cancel, release, exit 0 ----------------------
# With no --shutdown-grace the cancel flag and the release come together;
# shutdown_grace.sh tests what handlers do with a grace period.
Q=st2
S=$(stream_key $Q)
for i in 1 2 3 4; do
    rcli XADD "$S" '*' job sleep v 1 payload '{"ms":60000}' id "sl-$i" \
        >/dev/null
done
expected_fields() {
    enc_pairs job sleep v 1 payload '{"ms":60000}' id "sl-$1"
}

# release_check WORKER: after WORKER's SIGTERM with a 200 ms timeout, it
# exits 0 within a few seconds and its 4 sleep jobs are back in the stream,
# unchanged, and pending nowhere.
release_check()
{
    local w=$1 t0 elapsed i e
    wait_for "the 4 sleep jobs to be delivered to $w" 10 pending_is $Q 4
    t0=$(now_ms)
    kill -TERM "$(worker_pid "$w")"
    wait_worker_exit "$w" 10
    elapsed=$(($(now_ms) - t0))
    log "$w exited $elapsed ms after SIGTERM"
    assert_eq 0 "$WORKER_RC" "$w's exit code after SIGTERM"
    [ "$elapsed" -lt 5000 ] ||
        fail "$w took ${elapsed} ms to stop with --shutdown-timeout 200ms"
    assert_eq 4 "$(xlen $Q)" "entries back in $S after $w stopped"
    assert_eq 0 "$(xpending_count $Q)" "entries left pending by $w"
    for i in 1 2 3 4; do
        e=$(find_entry "$S" id "sl-$i") ||
            fail "sl-$i is not back in $S after $w stopped"
        assert_eq "$(expected_fields $i)" "$(entry_fields_before "$e" -)" \
            "fields of sl-$i as released by $w"
        # (`jobrt status` exits 0 for a queued job too: ask for the record)
        if has_record $Q "sl-$i"; then
            fail "sl-$i has an outcome record, but it never finished"
        fi
    done
    L=$(worker_log "$w")
    grep -q "shutdown timeout: 4 job(s) still running" "$L" ||
        fail "$w did not log its shutdown timeout"
    grep -q "released 4 unfinished job(s)" "$L" ||
        fail "$w did not log releasing 4 jobs"
}

start_worker w3 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4 --shutdown-timeout 200ms --shutdown-grace 0
release_check w3
# The released entries are ordinary new entries: another worker gets them.
start_worker w4 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4 --shutdown-timeout 200ms --shutdown-grace 0
release_check w4

# ---- 3: a worker that never reached Redis has nothing to hand back ---------
start_worker w5 --plugin-dir "$JOBRT_TESTKIT_DIR" \
    --redis "unix://$E2E_WORK/nobody.sock" --queue $Q
wait_for "w5 to try Redis" 10 grep -q "connection to unix:" "$(worker_log w5)"
t0=$(now_ms)
kill -TERM "$(worker_pid w5)"
wait_worker_exit w5 10
elapsed=$(($(now_ms) - t0))
assert_eq 0 "$WORKER_RC" "w5's exit code"
[ "$elapsed" -lt 2000 ] ||
    fail "w5 took ${elapsed} ms to stop, waiting to confirm what it never had"
if grep -q "could not confirm" "$(worker_log w5)"; then
    fail "w5 warns about unconfirmed jobs it never held"
fi

pass
