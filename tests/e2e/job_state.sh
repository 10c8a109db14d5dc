#!/usr/bin/env bash
# job_state.sh - `jobrt status` sees each state of a job for real: queued
# (no worker yet; by a given id and by the stream id), delayed (--delay,
# with its due time), unknown (exit 1; --scan-limit cuts the search and
# says so), finished (the record), parked (a version no plugin serves,
# with --park-ttl: the pair), running (a hazard "work" job that sleeps: on
# worker w1, its host and pid, since when); --wait returns when the job
# finishes (exit 0 succeeded, 3 dead) and gives up at --timeout (exit 1);
# a job that leaves its place for a while (a retry's move) is looked for
# again; with no records kept, --wait exits 4, or 3 when the job is found
# in the DLQ.
. "$(dirname "$0")/lib.sh"

e2e_require "$JOBRT_HAZARD_DIR/hazard.so" "build the hazard test plugin"
e2e_setup
J=$JOBRT_BIN
Q=js
export JOBRT_HAZARD_RECORD=$E2E_WORK/ran
: >"$JOBRT_HAZARD_RECORD"

st() { "$J" status "$@" -q $Q -r "$REDIS_URL"; }
enq() { "$J" enqueue $Q work -r "$REDIS_URL" "$@"; }
# state_is ID STATE: what `jobrt status ID --json` says
state_is()
{
    local out
    out=$(st "$1" --json 2>/dev/null) || return 1
    [ "$(json_get "$out" state)" = "$2" ]
}

# ---- queued, before any worker: by a given id, and by the stream id
enq -v 1 --payload '{"ms":0}' --id q-1 >/dev/null 2>&1
anon=$(enq -v 1 --payload '{"ms":0}' 2>/dev/null)
assert_exit 0 "status q-1 (queued)" st q-1
assert_contains "$OUT" "job q-1 (work v1) is queued in queue $Q: stream entry" \
    "status q-1"
assert_contains "$OUT" "(no worker has read this queue yet)" "status q-1"
assert_exit 0 "status of a stream id (queued)" st "$anon" --json
assert_eq queued "$(json_get "$OUT" state)" "state of $anon"
assert_eq "$anon" "$(json_get "$OUT" stream_id)" "stream_id of $anon"
assert_eq true "$(json_get "$OUT" no_group)" "no_group of $anon"

# ---- delayed, with its due time
enq -v 1 --payload '{}' --id d-1 --delay 1h >/dev/null 2>&1
assert_exit 0 "status d-1 (delayed)" st d-1 --json
assert_eq delayed "$(json_get "$OUT" state)" "state of d-1"
due=$(json_get "$OUT" due_ms) now=$(json_get "$OUT" server_time_ms)
assert_ge 3590000 $((due - now)) "d-1 due in about 1h"
assert_ge $((due - now)) 3600000 "d-1 due in at most 1h"
assert_exit 0 "status d-1" st d-1
assert_contains "$OUT" "job d-1 (work v1) is delayed in queue $Q: due at " \
    "status d-1"

# ---- unknown: exit 1; a scan limit that cuts the search says so
assert_exit 1 "status of an unknown id" st nope
assert_contains "$ERR" "no job nope in queue $Q: no record" "status nope"
assert_contains "$ERR" "if it was dead-lettered, \`jobrt dlq show nope -q $Q\` \
shows it" "status nope: the DLQ hint names the queue"
assert_not_contains "$ERR" "--scan-limit" "status nope, full scan"
assert_exit 1 "status nope --json" st nope --json
assert_eq unknown "$(json_get "$OUT" state)" "state of nope"
assert_eq 3 "$(json_get "$OUT" scanned)" "entries scanned for nope"
assert_eq false "$(json_get "$OUT" scan_cut)" "scan_cut for nope"
assert_exit 1 "status nope --scan-limit 1" st nope --scan-limit 1
assert_contains "$ERR" "only the first 1 entry of the stream and delayed \
set were scanned (--scan-limit)" "status nope --scan-limit 1"

# ---- finished
start_worker w1 --plugin-dir "$JOBRT_HAZARD_DIR" -r "$REDIS_URL" -q $Q \
    --consumer w1 -c 2 --park-ttl 1h
wait_for "q-1 finished" 15 job_has_status $Q q-1 succeeded
assert_exit 0 "status q-1 (finished)" st q-1
assert_eq succeeded "$(json_get "$OUT" status)" "record of q-1"
assert_exit 0 "status q-1 --json" st q-1 --json
assert_eq finished "$(json_get "$OUT" state)" "state of q-1"
assert_eq succeeded "$(json_get "$OUT" record status)" "record in --json"
wait_for "$anon finished" 10 job_has_status $Q "$anon" succeeded

# ---- parked: a version no plugin serves
enq -v 2 --payload '{}' --id p-1 >/dev/null 2>&1
wait_for "p-1 parked" 10 state_is p-1 parked
assert_exit 0 "status p-1 --json" st p-1 --json
assert_eq "parked:work:v2" "$(json_get "$OUT" consumer)" "p-1's pair"
since=$(json_get "$OUT" since_ms) now=$(json_get "$OUT" server_time_ms)
assert_ge "$since" "$now" "p-1 parked before now"
assert_exit 0 "status p-1" st p-1
assert_contains "$OUT" "job p-1 (work v2) is parked in queue $Q: pending to \
parked:work:v2 (no live worker serves this job name at this version) since" \
    "status p-1"

# ---- running: on w1, with its host and pid, since when
enq -v 1 --payload '{"ms":8000}' --id r-1 >/dev/null 2>&1
wait_for "r-1 running" 10 state_is r-1 running
# the heartbeat after dispatch lists the job with its start
has_since() { st r-1 --json | grep -q '"since_ms":[0-9]'; }
wait_for "w1's record lists r-1" 5 has_since
assert_exit 0 "status r-1 --json" st r-1 --json
assert_eq w1 "$(json_get "$OUT" consumer)" "r-1's worker"
assert_eq "$(worker_pid w1)" "$(json_get "$OUT" pid)" "r-1's worker pid"
assert_eq "$(hostname)" "$(json_get "$OUT" host)" "r-1's worker host"
assert_eq 1 "$(json_get "$OUT" attempt)" "r-1's attempt"
assert_eq 1 "$(json_get "$OUT" deliveries)" "r-1's deliveries"
since=$(json_get "$OUT" since_ms) now=$(json_get "$OUT" server_time_ms)
assert_ge "$since" "$now" "r-1 started before now"
assert_exit 0 "status r-1" st r-1
assert_contains "$OUT" "job r-1 (work v1) is running in queue $Q on worker w1 \
(host $(hostname), pid $(worker_pid w1)) since" "status r-1"

# ---- --wait returns when it finishes, with the record
assert_exit 0 "status r-1 --wait" st r-1 --wait --timeout 30s
assert_eq succeeded "$(json_get "$OUT" status)" "record after --wait"
grep -q '^r-1 ' "$JOBRT_HAZARD_RECORD" || fail "r-1 did not run"

# a dead job: exit 3 (expired before a worker took it)
# (expires_at 1: long past, whenever a worker takes it; --expires-in 1ms
# raced a worker that took it within the same millisecond)
printf '%s\n' '{"job":"work","v":1,"payload":{},"id":"x-1","expires_at":1}' |
    "$J" enqueue $Q -r "$REDIS_URL" >/dev/null 2>&1
assert_exit 3 "status x-1 --wait (dead)" st x-1 --wait --timeout 30s
assert_eq dead "$(json_get "$OUT" status)" "record of x-1"

# --timeout: still delayed
assert_exit 1 "status d-1 --wait --timeout" st d-1 --wait --timeout 500ms
assert_contains "$ERR" "job d-1 is still delayed after --timeout" \
    "status d-1 --wait --timeout"
assert_exit 2 "--timeout without --wait" st d-1 --timeout 1s

# ---- --wait across a move: a job seen, then in neither place for a while
# (a retry moves it from the stream to the delayed set and back), is looked
# for again, not reported unknown
Q2=js2
"$J" enqueue $Q2 work -r "$REDIS_URL" -v 1 --payload '{}' --id m-1 \
    --delay 1h >/dev/null 2>&1
"$J" status m-1 -q $Q2 -r "$REDIS_URL" --wait --timeout 40s \
    >"$E2E_WORK/m1.out" 2>"$E2E_WORK/m1.err" &
waiter=$!
member_of_m1() { rcli ZRANGE "jobrt:{$Q2}:delayed" 0 0 | grep -q .; }
wait_for "m-1 delayed" 5 member_of_m1
sleep 1.5 # the waiter has seen it in the delayed set
rcli EVAL "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do \
redis.call('ZREM', KEYS[1], m) end" 1 "jobrt:{$Q2}:delayed" >/dev/null
sleep 3 # gone for a few of the waiter's looks
kill -0 $waiter 2>/dev/null || fail "--wait ended while m-1 was between places: \
$(cat "$E2E_WORK/m1.err")"
"$J" enqueue $Q2 work -r "$REDIS_URL" -v 1 --payload '{}' --id m-1 \
    >/dev/null 2>&1
start_worker w2 --plugin-dir "$JOBRT_HAZARD_DIR" -r "$REDIS_URL" -q $Q2 \
    --consumer w2
rc=0
wait $waiter || rc=$?
assert_eq 0 "$rc" "status m-1 --wait exit: $(cat "$E2E_WORK/m1.err")"
assert_eq succeeded "$(json_get "$(cat "$E2E_WORK/m1.out")" status)" \
    "m-1's record after the move"
stop_worker w2

# ---- --wait on a worker that keeps no records: 4 for "finished, outcome
# not recorded"; a dead letter is found in the DLQ: 3
Q3=js3
start_worker w3 --plugin-dir "$JOBRT_HAZARD_DIR" -r "$REDIS_URL" -q $Q3 \
    --consumer w3 --result-ttl 0 --failure-ttl 0
"$J" enqueue $Q3 work -r "$REDIS_URL" -v 1 --payload '{"ms":1500}' \
    --id n-1 >/dev/null 2>&1
assert_exit 4 "status n-1 --wait (no record kept)" \
    "$J" status n-1 -q $Q3 -r "$REDIS_URL" --wait --timeout 40s
assert_contains "$OUT" "job n-1 (work v1) finished in queue $Q3" "status n-1"
assert_contains "$OUT" "no outcome record" "status n-1"
printf '%s\n' '{"job":"work","v":1,"payload":{},"id":"n-2","expires_at":1}' |
    "$J" enqueue $Q3 -r "$REDIS_URL" >/dev/null 2>&1
assert_exit 3 "status n-2 --wait (dead, no record kept)" \
    "$J" status n-2 -q $Q3 -r "$REDIS_URL" --wait --timeout 40s --json
assert_eq expired "$(json_get "$OUT" dead_letter reason)" "n-2's dead letter"
stop_worker w3

stop_worker w1
pass
