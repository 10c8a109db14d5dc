#!/usr/bin/env bash
# pause.sh - `jobrt pause` / `jobrt resume` across a fleet of three
# workers draining a backlog: within 1 s of the pause no worker takes
# another entry (the group's entries-read stops growing), the jobs already
# running finish, producers can still enqueue, a worker restarted while the
# queue is paused stays paused, `jobrt stats` shows the pause, and after
# `jobrt resume` every job runs exactly once: nothing is lost. A flag that
# cannot be read (WRONGTYPE) is logged and does not stall a worker.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=pz
S=$(stream_key $Q)
N=400
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }

# entries_read: how many entries the group has delivered so far.
entries_read()
{
    rcli XINFO GROUPS "$S" | awk 'prev == "entries-read" { print; exit }
                                  { prev = $0 }'
}
pending_is() { [ "$(xpending_count $Q)" = "$1" ]; }

for ((i = 1; i <= N; i++)); do
    printf '{"job":"sleep","v":1,"payload":{"ms":40},"id":"p-%d"}\n' $i
done | J enqueue $Q >/dev/null || fail "enqueue of the backlog failed"

for w in w1 w2 w3; do
    start_worker $w --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
        --queue $Q --concurrency 2
done
started() { [ "$(entries_read)" -ge 30 ]; }
wait_for "the workers to take the first jobs" 15 started

# ---- pause ------------------------------------------------------------------
assert_exit 0 "jobrt pause" J pause $Q --reason "provider outage"
t0=$(now_ms)
assert_contains "$OUT" "queue $Q paused" "pause output"
# Workers read the flag every 250 ms: 1 s after the pause, nothing new.
wait_for "1 s to pass" 2 eval '[ $(($(now_ms) - t0)) -ge 1000 ]'
e1=$(entries_read)
wait_for "the running jobs to finish" 5 pending_is 0
wait_for "1 more second" 3 eval '[ $(($(now_ms) - t0)) -ge 2000 ]'
e2=$(entries_read)
log "entries read 1 s after the pause: $e1, 2 s after: $e2 (of $N)"
assert_eq "$e1" "$e2" "entries read between 1 s and 2 s after the pause"
[ "$e1" -lt "$N" ] || fail "the backlog drained before the pause took hold"
for w in w1 w2 w3; do
    wait_for "$w to log the pause" 2 grep -q "queue $Q is paused" \
        "$(worker_log $w)"
done

assert_exit 0 "pause again" J pause $Q
assert_contains "$OUT" "was already paused since" "pausing twice"
assert_contains "$OUT" "provider outage" "the first pause's reason stays"

# producers can still enqueue; nothing takes the job
assert_exit 0 "enqueue while paused" J enqueue $Q sleep -v 1 \
    --payload '{"ms":1}' --id p-late
assert_exit 0 "jobrt stats" J stats
assert_contains "$OUT" "$Q: PAUSED" "stats while paused"
assert_contains "$OUT" "provider outage" "stats shows the reason"
assert_exit 0 "jobrt stats --json" J stats --json
assert_contains "$OUT" '"reason":"provider outage"' "stats --json"

# a worker restarted while the queue is paused stays paused
stop_worker w3
start_worker w4 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 2
wait_for "w4 to see the pause" 10 grep -q "queue $Q is paused" \
    "$(worker_log w4)"
e3=$(entries_read)
t1=$(now_ms)
wait_for "1 s to pass" 2 eval '[ $(($(now_ms) - t1)) -ge 1000 ]'
assert_eq "$e3" "$(entries_read)" "entries read by the paused fleet"
assert_eq "$e2" "$e3" "entries read after a restart while paused"
assert_eq 0 "$(xpending_count $Q)" "entries pending while paused"

# ---- resume -----------------------------------------------------------------
assert_exit 0 "jobrt resume" J resume $Q
assert_contains "$OUT" "queue $Q resumed" "resume output"
assert_contains "$OUT" "provider outage" "resume says what pause it ended"
moving() { [ "$(entries_read)" -gt "$e3" ]; }
wait_for "the fleet to take jobs again" 2 moving
for w in w1 w2 w4; do
    wait_for "$w to log the resume" 2 grep -q "queue $Q is resumed" \
        "$(worker_log $w)"
done
wait_for "the queue to drain" 60 queue_idle $Q
assert_exit 0 "resume again" J resume $Q
assert_contains "$OUT" "was not paused" "resuming twice"
assert_exit 0 "stats after resume" J stats --json
assert_contains "$OUT" '"paused":false' "stats --json after resume"

# every job ran once: a record each, all succeeded, nothing dead
assert_eq 0 "$(dlq_len $Q)" "dead letters"
# (one script counts the records missing of p-1..p-N: one round trip)
missing=$(rcli EVAL "$RECORDS_LUA local m, r = 0, records(ARGV[1], 'p-')
    for i = 1, tonumber(ARGV[2]) do
        if r['p-' .. i] == nil then m = m + 1 end
    end
    return m" 0 "jobrt:{$Q}:" $N)
assert_eq 0 "$missing" "jobs without an outcome record"
job_has_status $Q p-late succeeded || fail "p-late: $(job_status $Q p-late)"

# ---- a flag that cannot be read does not stall a worker ---------------------
# (a hash where the string belongs: GET answers WRONGTYPE)
rcli HSET "jobrt:{pz2}:paused" not a-string >/dev/null
start_worker w5 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue pz2
J enqueue pz2 ok -v 1 --payload '{}' --id unreadable-1 >/dev/null
wait_for "unreadable-1 to run" 10 job_has_status pz2 unreadable-1 succeeded
grep -q "reading the paused flag.*WRONGTYPE" "$(worker_log w5)" ||
    fail "w5 did not log the unreadable flag"
pass
