#!/usr/bin/env bash
# rate_limit.sh - a fleet-wide rate limit (docs/flow-control.md, "Rate
# limits"): two workers, each started with --rate ok=100/s, drain a
# backlog of 1300 `ok` jobs. From the outcome records' started_at: in
# the first 10 s after the first job started, 1000 +- 10% jobs started
# across both workers (not 100/s each); every job succeeded on its first
# attempt (a job over the rate waits, it is not retried), none was
# dead-lettered, and none went back to the stream more than once (no
# polling). `jobrt limit list` shows the limit the flags wrote, each
# worker logs it, and `jobrt limit clear` lets the rest run at once.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=rl
N=1300
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
done_count() { record_count "$Q"; }

for ((i = 1; i <= N; i++)); do
    printf '{"job":"ok","v":1,"payload":{},"id":"r-%d"}\n' $i
done | J enqueue $Q >/dev/null || fail "enqueue of the backlog failed"

for w in w1 w2; do
    start_worker $w --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
        --queue $Q --concurrency 8 --rate ok=100/s
done
for w in w1 w2; do
    wait_for "$w to log the limit" 10 grep -q "limits of job ok on queue $Q: rate 100/s" \
        "$(worker_log $w)"
done
assert_exit 0 "limit list" J limit list -q $Q
assert_contains "$OUT" "ok" "limit list names the job"
assert_contains "$OUT" "100/s" "limit list shows the rate"
assert_exit 0 "limit list --json" J limit list -q $Q --json
assert_contains "$OUT" '"rate_per_s":100' "limit list --json"

# 1200 done takes about 12 s at 100/s; at 200/s (a limit per worker) 6 s
t0=$(now_ms)
wait_for "1200 jobs to finish" 40 eval '[ "$(done_count)" -ge 1200 ]'
took=$(($(now_ms) - t0))
log "1200 jobs took $took ms"
# started in the first 10 s after the first start, from the records
counts=$(rcli EVAL "$RECORDS_LUA
    local ts, first = {}, nil
    for _, r in pairs(records(ARGV[1], '')) do
        local t = r.started_at ts[#ts + 1] = t
        if first == nil or t < first then first = t end end
    local n = 0
    for _, t in ipairs(ts) do if t < first + 10000 then n = n + 1 end end
    return n" 0 "jobrt:{$Q}:")
log "jobs started in the first 10 s: $counts (want 900-1100)"
[ "$counts" -ge 900 ] && [ "$counts" -le 1100 ] ||
    fail "$counts jobs started in 10 s under a 100/s limit (want 1000 +- 10%)"
pass "the fleet started $counts jobs in 10 s under 100/s"

# ---- clear: the rest runs without the limit --------------------------------
assert_exit 0 "limit clear" J limit clear $Q ok
assert_contains "$OUT" "cleared" "limit clear output"
for w in w1 w2; do
    wait_for "$w to log the clear" 5 grep -q "limits of job ok on queue $Q cleared" \
        "$(worker_log $w)"
done
wait_for "every job to finish" 30 eval '[ "$(done_count)" -ge '$N' ]'
wait_for "the queue to be idle" 10 queue_idle $Q
assert_eq "$N" "$(done_count)" "outcome records"
bad=$(rcli EVAL "$RECORDS_LUA local n = 0
    for _, r in pairs(records(ARGV[1], '')) do
        if r.status ~= 'succeeded' or r.attempts ~= 1 then n = n + 1 end end
    return n" 0 "jobrt:{$Q}:")
assert_eq 0 "$bad" "records not succeeded on the first attempt"
assert_eq 0 "$(dlq_len $Q)" "dead letters"
# no polling: a job held back by the rate goes back to the stream once, at
# its slot, so the stream got at most two entries per job
added=$(rcli XINFO STREAM "$(stream_key $Q)" | awk 'prev == "entries-added" { print; exit } { prev = $0 }')
log "entries added to the stream: $added for $N jobs"
[ "$added" -le $((2 * N)) ] || fail "$added entries added for $N jobs: jobs went round more than once"
[ "$added" -gt $((N + 500)) ] || fail "only $added entries added: the rate did not delay jobs"
for w in w1 w2; do
    assert_not_contains "$(cat "$(worker_log $w)")" "ERROR" "$w log"
    stop_worker $w
    assert_eq 0 "$WORKER_RC" "$w exit code"
done
pass "rate limits"
