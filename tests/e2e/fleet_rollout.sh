#!/usr/bin/env bash
# fleet_rollout.sh - a staged v1 -> v2 rollout across two workers. w1
# serves swap v1 only; w2 starts on the same build and is then reloaded
# to build c (v1..2) with `jobrt reload`. v2 jobs sent before that park
# (none dead-lettered); as soon as the reload has answered, the registry
# says w2 serves v2 (enqueue --require-served passes); the parked jobs run
# on w2 only, each delivered once (a park does
# not count as a delivery, so a job that bounced would show more); w1
# never runs one. With w2 stopped, new v2 jobs park again until a worker
# serving v2 comes back, and its consumer leaves the group's registry. Two
# processes under one consumer name are reported.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_RELOAD_DIR/swap_c.so" "build the jobrt_reload_plugins target"
Q=fl
D1=$E2E_WORK/p1
D2=$E2E_WORK/p2
mkdir -m 0755 "$D1" "$D2"
install_in() { # dir build
    cp "$JOBRT_RELOAD_DIR/swap_$2.so" "$1/.swap.tmp"
    chmod 0644 "$1/.swap.tmp"
    mv "$1/.swap.tmp" "$1/swap.so"
}
install_in "$D1" a
install_in "$D2" a
enqueue() { # id version
    "$JOBRT_BIN" enqueue $Q swap -r "$REDIS_URL" --id "$1" -v "$2" \
        --payload '{}' >/dev/null 2>&1
}
pending_of() { # consumer
    "$E2E_PY" - "$REDIS_URL" "$(stream_key $Q)" "$1" <<'EOF'
import sys, redis
r = redis.Redis.from_url(sys.argv[1])
print(len(r.xpending_range(sys.argv[2], "jobrt", "-", "+", 100000, sys.argv[3])))
EOF
}

start_worker w1 -r "$REDIS_URL" -q $Q --plugin-dir "$D1" --consumer w1
start_worker w2 -r "$REDIS_URL" -q $Q --plugin-dir "$D2" --consumer w2
wait_for "w1 and w2 to take jobs" 10 eval \
    'grep -q "taking jobs" "$(worker_log w1)" && grep -q "taking jobs" "$(worker_log w2)"'

# v1 runs anywhere; v2 parks: nobody serves it yet.
for i in $(seq 1 10); do enqueue "one-$i" 1; enqueue "two-$i" 2; done
for i in $(seq 1 10); do
    wait_for "one-$i to succeed" 10 job_has_status $Q "one-$i" succeeded
done
wait_for "the 10 v2 jobs to park" 10 eval '[ "$(pending_of parked:swap:v2)" = 10 ]'
assert_eq 0 "$(dlq_len $Q)" "dead letters while v2 is unserved"
OUT=$("$JOBRT_BIN" rollout swap -r "$REDIS_URL" -q $Q 2>&1) || true
log "rollout before: $OUT"
assert_contains "$OUT" "v2" "jobrt rollout swap"

# What enqueue says meanwhile: the fate the live workers' --park-ttl gives.
ERR=$("$JOBRT_BIN" enqueue $Q swap -r "$REDIS_URL" -v 2 --payload '{}' \
    --require-served 2>&1 >/dev/null) && fail "--require-served sent an unserved v2 job"
assert_contains "$ERR" "not enqueued: no live worker of queue $Q serves swap v2" "enqueue --require-served"
# Roll w2 forward: install build c by rename, then `jobrt reload`. Once it
# has answered, the fleet registry already shows it (no heartbeat wait):
# an enqueue that requires a serving worker goes through at once.
install_in "$D2" c
OUT=$("$JOBRT_BIN" reload -r "$REDIS_URL" -q $Q 2>&1) || fail "jobrt reload: $OUT"
assert_contains "$OUT" "w2 (pid $(worker_pid w2), queue $Q): reloaded" "jobrt reload"
"$JOBRT_BIN" enqueue $Q swap -r "$REDIS_URL" --id two-0 -v 2 --payload '{}' \
    --require-served >/dev/null || fail "right after the reload, v2 was not served"
wait_for "two-0 to succeed" 10 job_has_status $Q two-0 succeeded
for i in $(seq 1 10); do
    wait_for "two-$i to succeed" 10 job_has_status $Q "two-$i" succeeded
done
for i in $(seq 1 10); do
    rec=$(job_status $Q "two-$i")
    assert_eq w2 "$(json_get "$rec" worker)" "worker that ran two-$i"
    assert_eq 1 "$(json_get "$rec" deliveries)" "deliveries of two-$i (a bounce would add one)"
    assert_eq c "$(json_get "$rec" result build)" "build that ran two-$i"
done
assert_eq 0 "$(pending_of parked:swap:v2)" "v2 jobs still parked"

# More v2 jobs while both run: only w2 runs them; w1 parks what it gets.
for i in $(seq 11 40); do enqueue "two-$i" 2; done
for i in $(seq 11 40); do
    wait_for "two-$i to succeed" 10 job_has_status $Q "two-$i" succeeded
    rec=$(job_status $Q "two-$i")
    assert_eq w2 "$(json_get "$rec" worker)" "worker that ran two-$i"
    assert_eq 1 "$(json_get "$rec" deliveries)" "deliveries of two-$i"
done
assert_eq 0 "$(dlq_len $Q)" "dead letters"

# w2 stops: v2 jobs park again until a v2 worker comes back.
stop_worker w2
assert_eq 0 "$WORKER_RC" "w2's exit code"
OUT=$("$JOBRT_BIN" workers -r "$REDIS_URL" -q $Q 2>&1)
assert_not_contains "$OUT" "w2" "jobrt workers after w2 stopped"
assert_contains "$OUT" "w1" "jobrt workers after w2 stopped"
for i in $(seq 41 45); do enqueue "two-$i" 2; done
wait_for "the 5 new v2 jobs to park" 10 eval '[ "$(pending_of parked:swap:v2)" = 5 ]'
start_worker w3 -r "$REDIS_URL" -q $Q --plugin-dir "$D2" --consumer w3
for i in $(seq 41 45); do
    wait_for "two-$i to succeed on w3" 10 job_has_status $Q "two-$i" succeeded
    assert_eq w3 "$(json_get "$(job_status $Q "two-$i")" worker)" "worker that ran two-$i"
done
assert_eq 0 "$(dlq_len $Q)" "dead letters"
assert_eq 0 "$(grep -c 'two-.*succeeded' "$(worker_log w1)" || true)" "v2 jobs w1 ran"

# A second process under w3's name is reported by both, and when it stops
# it leaves w3's registry record alone.
start_worker dup -r "$REDIS_URL" -q $Q --plugin-dir "$D2" --consumer w3
said() { grep -q "another worker (host .* pid [0-9]*) runs under this worker's consumer name w3" "$(worker_log "$1")"; }
wait_for "the duplicate name to be reported" 10 eval 'said w3 && said dup'
stop_worker dup
wait_for "w3 to be listed again" 5 eval '"$JOBRT_BIN" workers -r "$REDIS_URL" -q $Q | grep -q "^w3 "'
stop_worker w1
stop_worker w3
pass
