#!/usr/bin/env bash
# redis_outage.sh - the worker rides out Redis being away: started before
# Redis is up it waits (one WARN per connection, no exit) and works once
# Redis comes; when Redis crashes mid-work it logs the loss once and the
# recovery once per connection (not once per retry), resends what Redis did
# not confirm, and no job is lost. Redis runs on a fixed TCP port with
# appendfsync always, so a crash and restart keeps every confirmed write.
. "$(dirname "$0")/lib.sh"

e2e_setup --tcp --aof --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=outage
S=$(stream_key $Q)
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"
records_unique() { sort -u "$JOBRT_TESTKIT_RECORD" | wc -l | tr -d ' '; }
L="$E2E_WORK/w1.log"
# count_log PATTERN: lines of the worker log matching the ERE PATTERN.
count_log() { grep -c -E "$1" "$L" || true; }
log_has() { [ "$(count_log "$1")" -ge "${2:-1}" ]; }

# ---- 1: no Redis at start ---------------------------------------------------
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4 --shutdown-timeout 10s
wait_for "a WARN that Redis is unreachable" 10 \
    log_has "WARN .*connection to .* failed"
# Nothing to wait for here but time: several reconnect attempts (100 ms
# backoff, doubling) must go by without an exit or another WARN.
sleep 2
worker_alive w1 || fail "worker exited while Redis was down at start"
for conn in reader writer; do
    n=$(count_log "WARN .*$conn connection to .* failed")
    [ "$n" -le 1 ] || fail "$n WARN lines for the $conn connection failing"
done
assert_eq 0 "$(count_log '^[^ ]+ ERROR')" "ERROR lines while Redis is down"
warn_before=$(count_log '^[^ ]+ WARN ')
[ "$warn_before" -ge 1 ] && [ "$warn_before" -le 2 ] ||
    fail "$warn_before WARN lines while Redis was down at start: $(grep WARN "$L")"

start_redis
wait_for "the worker to connect" 20 \
    log_has "(reader|writer) connection to .* established" 2
wait_for "the worker to create its consumer group" 10 group_exists $Q
assert_exit 0 "enqueue first" "$JOBRT_BIN" enqueue $Q ok -v 1 -d '{}' \
    --id first -r "$REDIS_URL"
wait_for "the first job to succeed" 10 job_has_status $Q first succeeded
log "worker works after a start without Redis"

# ---- 2: Redis crashes while jobs run, and comes back ----------------------
# Two slow jobs hold two slots across the crash (their acks cannot go out
# until Redis is back); 100 record jobs flow through the other two.
for i in 1 2; do
    rcli XADD "$S" '*' job sleep v 1 payload '{"ms":4000}' id "slow-$i" \
        >/dev/null
done
for i in $(seq 1 100); do
    printf '{"job":"record","v":1,"payload":{},"id":"o-%d"}\n' "$i"
done | "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null 2>&1 ||
    fail "could not enqueue o-1..o-100"
wait_for "the first 100 record jobs" 20 eval '[ "$(records_unique)" -ge 100 ]'
# Their acks are confirmed: only the two slow jobs are left, running.
only_slow_left() { [ "$(xlen $Q)" = 2 ] && [ "$(xpending_count $Q)" = 2 ]; }
wait_for "the record jobs' acks (only the 2 slow jobs left)" 10 only_slow_left
if job_has_status $Q slow-1 succeeded; then
    fail "slow-1 finished before the crash; the test cannot check resends"
fi

log "crashing redis (SIGKILL)"
stop_redis KILL
wait_for "the worker to notice the crash" 10 \
    log_has "WARN .*connection to .* lost"
# The outage lasts long enough for several reconnect attempts and for the
# slow jobs to finish while Redis is away (their acks wait in the outbox).
sleep 4.5
worker_alive w1 || fail "worker exited while Redis was down"
log "restarting redis on port $REDIS_PORT"
start_redis
wait_for "the worker to reconnect" 20 \
    log_has "(reader|writer) connection to .* restored" 2

for i in $(seq 101 200); do
    printf '{"job":"record","v":1,"payload":{},"id":"o-%d"}\n' "$i"
done | "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null 2>&1 ||
    fail "could not enqueue o-101..o-200"
wait_for "all 200 record jobs to run at least once" 30 \
    eval '[ "$(records_unique)" -ge 200 ]'
assert_eq "$(seq 1 200 | sed 's/^/o-/' | sort)" \
    "$(sort -u "$JOBRT_TESTKIT_RECORD")" "record ids run at least once"
for i in 1 2; do
    wait_for "slow-$i to succeed" 10 job_has_status $Q "slow-$i" succeeded
done
wait_for "stream $S to drain with nothing pending" 20 queue_idle $Q
assert_eq 0 "$(dlq_len $Q)" "dead letters"
# Every ack was confirmed before the crash except the slow jobs', which
# finished while Redis was away and were sent once it was back: nothing
# had to run twice (docs/delivery.md: a job runs again only when a worker
# stops without telling Redis what it finished).
assert_eq "" "$(sort "$JOBRT_TESTKIT_RECORD" | uniq -d | tr '\n' ' ')" \
    "record jobs run more than once"

# One line per connection per state change, not one per retry.
for conn in reader writer; do
    assert_eq 1 "$(count_log "WARN .*$conn connection to .* lost")" \
        "'lost' lines for the $conn connection"
    assert_eq 1 "$(count_log "INFO .*$conn connection to .* restored")" \
        "'restored' lines for the $conn connection"
done
assert_eq 2 "$(count_log ' lost')" "'lost' lines in all"
assert_eq 2 "$(count_log ' restored')" "'restored' lines in all"

stop_worker w1 15
assert_eq 0 "$WORKER_RC" "worker exit code after SIGTERM"
# first + 200 records + 2 slow jobs, each run once.
stopped=$(grep "worker: stopped:" "$L" || true)
assert_contains "$stopped" "stopped: 203 succeeded," \
    "jobs run by the worker (a Redis restart must not make finished jobs run again)"
pass
