#!/usr/bin/env bash
# basic.sh - the happy path through every way of enqueueing: 300 "record"
# jobs (100 raw XADDs exactly as docs/protocol.md shows, 100 `jobrt enqueue`
# one-offs, 100 NDJSON lines on stdin) each run exactly once by a worker
# with 4 slots; the stream drains with nothing left pending; outcome records
# are readable with `jobrt status`; SIGTERM stops the worker cleanly.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=basic
S=$(stream_key $Q)
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"

# 1..100: raw XADD, before any worker exists (the worker's group starts at
# 0, so entries added before it are not missed).
for i in $(seq 1 100); do
    id=$(rcli XADD "$S" '*' job record v 1 payload '{}' id "r-$i")
    case "$id" in
        [0-9]*-[0-9]*) ;;
        *) fail "XADD r-$i answered '$id'" ;;
    esac
done

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4
wait_for "worker to create its consumer group" 10 group_exists $Q

# 101..200: one `jobrt enqueue` each; it prints the job id.
log "100 XADDs done"
for i in $(seq 101 200); do
    assert_exit 0 "enqueue r-$i" "$JOBRT_BIN" enqueue $Q record -v 1 \
        --payload '{}' --id "r-$i" -r "$REDIS_URL"
    assert_eq "r-$i" "$OUT" "id printed by jobrt enqueue"
done

# 201..300: NDJSON on stdin, one run; it prints the 100 ids in order.
for i in $(seq 201 300); do
    printf '{"job":"record","v":1,"payload":{},"id":"r-%d"}\n' "$i"
done >"$E2E_WORK/jobs.ndjson"
run_cmd "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" <"$E2E_WORK/jobs.ndjson"
assert_eq 0 "$RC" "exit code of NDJSON enqueue ($ERR)"
assert_eq "$(seq 201 300 | sed 's/^/r-/')" "$OUT" "ids printed for NDJSON"
assert_contains "$ERR" "100 job(s) enqueued" "NDJSON enqueue summary"

records() { wc -l <"$JOBRT_TESTKIT_RECORD" | tr -d ' '; }
log "enqueued 300 record jobs"
wait_for "300 jobs recorded" 30 \
    eval '[ "$(records)" -ge 300 ]'
wait_for "stream $S to drain with nothing pending" 10 stream_empty $Q

log "300 recorded, stream drained"

# Each id exactly once: no duplicates, none missing, nothing else.
dups=$(sort "$JOBRT_TESTKIT_RECORD" | uniq -d)
assert_eq "" "$dups" "ids recorded more than once"
assert_eq 300 "$(records)" "lines recorded"
assert_eq "$(seq 1 300 | sed 's/^/r-/' | sort)" \
    "$(sort "$JOBRT_TESTKIT_RECORD")" "the set of recorded ids"
assert_eq 0 "$(xlen $Q)" "XLEN of $S"
assert_eq 0 "$(xpending_count $Q)" "XPENDING count of $S"
assert_eq 0 "$(dlq_len $Q)" "dead letters"

# Outcome records.
assert_exit 0 "status r-5" "$JOBRT_BIN" status r-5 -q $Q -r "$REDIS_URL"
rec=$OUT
assert_eq succeeded "$(json_get "$rec" status)" "status of r-5"
assert_eq r-5 "$(json_get "$rec" id)" "id in r-5's record"
assert_eq record "$(json_get "$rec" job)" "job in r-5's record"
assert_eq 1 "$(json_get "$rec" attempts)" "attempts of r-5"
assert_eq testkit "$(json_get "$rec" plugin)" "plugin of r-5"
assert_eq null "$(json_get "$rec" enqueued_at)" \
    "enqueued_at of a raw XADD without one"
run_cmd "$JOBRT_BIN" status r-150 -q $Q -r "$REDIS_URL"
assert_eq 0 "$RC" "status r-150 ($ERR)"
assert_ne null "$(json_get "$OUT" enqueued_at)" \
    "enqueued_at set by jobrt enqueue"
assert_exit 1 "status of an unknown id" "$JOBRT_BIN" status r-999 -q $Q \
    -r "$REDIS_URL"
assert_contains "$ERR" "no record" "status of an unknown id"

# An "ok" job's result, by its given id and by the stream id Redis assigns.
assert_exit 0 "enqueue ok-1" "$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' \
    --id ok-1 -r "$REDIS_URL"
assert_exit 0 "enqueue ok without id" "$JOBRT_BIN" enqueue $Q ok -v 1 \
    --payload '{"x":[1,2,3]}' -r "$REDIS_URL"
anon_id=$OUT
case "$anon_id" in
    [0-9]*-[0-9]*) ;;
    *) fail "enqueue without --id printed '$anon_id', not a stream id" ;;
esac
wait_for "ok-1 to succeed" 10 job_has_status $Q ok-1 succeeded
wait_for "$anon_id to succeed" 10 job_has_status $Q "$anon_id" succeeded
rec=$(job_status $Q ok-1)
assert_eq '{"ok":true,"attempt":1}' "$(json_get "$rec" result)" \
    "result of ok-1"
assert_eq null "$(json_get "$rec" error)" "error of ok-1"
rec=$(job_status $Q "$anon_id")
assert_eq '{"ok":true,"attempt":1}' "$(json_get "$rec" result)" \
    "result of $anon_id"
wait_for "stream $S to drain" 10 stream_empty $Q

stop_worker w1 15
assert_eq 0 "$WORKER_RC" "worker exit code after SIGTERM"
L=$(worker_log w1)
errors=$(grep -E '^[^ ]+ ERROR' "$L" || true)
assert_eq "" "$errors" "ERROR lines in the worker log"
grep -q "stopped: 302 succeeded, 0 retried, 0 dead-lettered" "$L" ||
    fail "worker's closing line does not count 302 successes: $(tail -n 3 "$L")"

pass
