#!/usr/bin/env bash
# redis_oom.sh - a Redis at maxmemory (noeviction) refuses a completion
# batch whole: the jobs that finished meanwhile stay pending, without a
# record, the worker says so and retries, and once memory is back
# every job has exactly one succeeded record and none ran twice. (The
# records and the ack of a batch go in one MULTI/EXEC: a command refused
# as it is queued discards all of it.)
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=oom
N=60

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4
wait_for "the worker to create its consumer group" 10 group_exists $Q
for ((i = 1; i <= N; i++)); do
    printf '{"job":"sleep","v":1,"payload":{"ms":100},"id":"m-%d"}\n' $i
done | "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null || fail "enqueue"
wait_for "a few jobs to finish" 20 eval '[ "$(record_count $Q m-)" -ge 4 ]'
rcli CONFIG SET maxmemory-policy noeviction >/dev/null
rcli CONFIG SET maxmemory 1 >/dev/null
before=$(record_count $Q m-)
wait_for "the worker to say a completion was refused" 20 grep -q \
    "complete for job .* failed: OOM" "$(worker_log w1)"
log "records before maxmemory: $before"
sleep_until=$(($(now_ms) + 1500))
wait_for "1.5 s under maxmemory" 5 eval '[ $(now_ms) -ge $sleep_until ]'
assert_eq "$before" "$(record_count $Q m-)" \
    "records written while Redis refused writes"
pending=$(xpending_count $Q)
[ "$pending" -ge 1 ] || fail "nothing pending while completions are refused"
log "under maxmemory: $pending entries pending, no record written"
rcli CONFIG SET maxmemory 0 >/dev/null
wait_for "every job to succeed" 60 eval \
    '[ "$(record_count $Q m- succeeded)" = '$N' ]'
wait_for "the queue to be idle" 20 queue_idle $Q
# run once each: attempt 1, and no second record in a later bucket
again=$(rcli EVAL "$RECORDS_LUA local n = 0
    for _, r in pairs(records(ARGV[1], 'm-')) do
        if r.attempts ~= 1 then n = n + 1 end end
    return n" 0 "jobrt:{$Q}:")
assert_eq 0 "$again" "records of a second attempt"
fields=$(rcli EVAL "local n = 0
    for _, s in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
        n = n + redis.call('HLEN', KEYS[1] .. ':' .. s) end
    return n" 1 "jobrt:{$Q}:done")
assert_eq "$N" "$fields" "records in the buckets (one per job)"
assert_eq 0 "$(dlq_len $Q)" "dead letters"
assert_eq 0 "$(xpending_count $Q)" "entries left pending"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"
pass "a full Redis delays completions and loses none"
