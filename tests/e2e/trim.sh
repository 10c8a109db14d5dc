#!/usr/bin/env bash
# trim.sh - finished entries leave the stream although completions only
# XACK (no XDEL per job): a periodic cut removes everything below the
# oldest unfinished entry. Shown against a real redis-server:
#  1. behind a job that runs for 6 s (it holds the cut back), 300 finished
#     entries still leave the stream within seconds: ids the cut has not
#     reached for about a second are deleted one by one; the long job's
#     own entry stays, pending;
#  2. once it finishes, the stream is empty, nothing pending;
#  3. a SIGTERMed worker's last cut leaves exactly the unfinished entries.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=trim
S=$(stream_key $Q)
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"
records() { wc -l <"$JOBRT_TESTKIT_RECORD" | tr -d ' '; }

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4
wait_for "worker to create its consumer group" 10 group_exists $Q

"$JOBRT_BIN" enqueue $Q sleep -v 1 --payload '{"ms":6000}' --id long \
    -r "$REDIS_URL" >/dev/null
for i in $(seq 1 300); do
    printf '{"job":"record","v":1,"payload":{},"id":"r-%d"}\n' "$i"
done | "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null 2>&1
wait_for "300 record jobs to run" 20 eval '[ "$(records)" -ge 300 ]'
t_done=$(now_ms)

only_long_left() { [ "$(xlen $Q)" = 1 ] && [ "$(xpending_count $Q)" = 1 ]; }
wait_for "finished entries to leave the stream while 'long' runs" 4 \
    only_long_left
log "300 finished entries gone $(($(now_ms) - t_done)) ms after the last ran"
find_entry "$S" id long >/dev/null ||
    fail "the running job's own entry left the stream"
job_status_now=$(job_status $Q long 2>/dev/null || true)
assert_not_contains "$job_status_now" '"status":"succeeded"' \
    "'long' must still be running at this point"

wait_for "'long' to finish and the stream to empty" 15 stream_empty $Q
assert_eq 0 "$(dlq_len $Q)" "dead letters"

# 3: a worker stopped while a slow job holds the cut back behind 40
# finished ones, 'slow' cancelled at the end of a short shutdown timeout:
# its last cut leaves only 'slow', handed back for the next worker.
stop_worker w1
"$JOBRT_BIN" enqueue $Q sleep -v 1 --payload '{"ms":5000}' --id slow \
    -r "$REDIS_URL" >/dev/null
for i in $(seq 301 340); do
    printf '{"job":"record","v":1,"payload":{},"id":"r-%d"}\n' "$i"
done | "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null 2>&1
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 2 --shutdown-timeout 200ms
wait_for "the 40 record jobs behind 'slow' to run" 10 \
    eval '[ "$(records)" -ge 340 ]'
stop_worker w2
assert_eq 1 "$(xlen $Q)" "entries left for the next worker (only 'slow')"
assert_eq 0 "$(xpending_count $Q)" "pending after a clean stop"
find_entry "$S" id slow >/dev/null || fail "'slow' is not back in the stream"
assert_eq 340 "$(records)" "record jobs run"
pass
