#!/usr/bin/env bash
# isolation_timeout.sh - hard timeouts. One worker process (--workers 1,
# so the jobs share it) runs a handler that loops forever and never looks
# at job_cancel_requested() (`spin`, its deadline 400 ms from the
# envelope's timeout_ms, below the handler's own 60 s) beside three jobs
# that take 2.5 s. Then: the three finish normally (succeeded, once), the
# worker takes no new job once the spin job is past deadline + grace, the
# supervisor stops the worker only after the three are done, the spin job
# is recorded as `timeout` (retried once per --max-attempts 2, then
# dead-lettered), a fresh worker takes over and serves a later job. And
# a handler that overruns but returns while its worker's other jobs still
# run: the worker takes jobs again and is not stopped. And one that
# overruns while its worker drains for a stop is stopped all the same.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_HAZARD_DIR/hazard.so" "build the hazard test plugin"
Q=slow
export JOBRT_HAZARD_RECORD=$E2E_WORK/ran
: >"$JOBRT_HAZARD_RECORD"

start_worker sup --workers 1 --plugin-dir "$JOBRT_HAZARD_DIR" \
    -r "$REDIS_URL" -q $Q --concurrency 4 --timeout-grace 300ms \
    --max-attempts 2 --retry-base 50ms --retry-cap 100ms
L=$(worker_log sup)
wait_for "the worker to take jobs" 15 grep -q "taking jobs from queue" "$L"

t0=$(now_ms)
rcli XADD "$(stream_key $Q)" '*' job spin v 1 payload '{}' id spin-1 \
    timeout_ms 400 >/dev/null
for i in 1 2 3; do
    "$JOBRT_BIN" enqueue $Q work -v 1 --payload '{"ms":2500}' --id beside-$i \
        -r "$REDIS_URL" >/dev/null
done

wait_for "the spin job to be dead-lettered" 30 job_has_status $Q spin-1 dead
t_dead=$(now_ms)
for i in 1 2 3; do
    rec=$(job_status $Q beside-$i)
    assert_contains "$rec" '"status":"succeeded"' "beside-$i ran to the end"
    assert_contains "$rec" '"deliveries":1' "beside-$i was not redelivered"
done
rec=$(job_status $Q spin-1)
assert_contains "$rec" '"reason":"timeout"' "spin-1's reason"
assert_contains "$rec" '"attempts":2' "spin-1 was retried once, then dead"
assert_contains "$rec" 'timeout 400 ms' "the envelope's timeout_ms was used"
assert_eq 2 "$(grep -c 'stopping it (SIGABRT, then SIGKILL)' "$L")" \
    "workers stopped for an overrun (one per attempt)"
# The first stop came after the three 2.5 s jobs were done.
first_kill=$(grep -m1 'stopping it (SIGABRT' "$L" | cut -c1-23)
last_beside=$(sort -k3 -n "$JOBRT_HAZARD_RECORD" | tail -1 | awk '{print $3}')
kill_ms=$("$E2E_PY" -c 'import datetime, sys
t = datetime.datetime.fromisoformat(sys.argv[1] + "+00:00")
print(int(t.timestamp() * 1000))' "$first_kill")
assert_ge "$last_beside" "$kill_ms" "the first stop (at $kill_ms) after the jobs beside it finished (the last at $last_beside)"
log "spin-1 dead after $((t_dead - t0)) ms"

# A fresh worker serves.
"$JOBRT_BIN" enqueue $Q work -v 1 --payload '{}' --id after -r "$REDIS_URL" \
    >/dev/null
wait_for "a job after the stops" 15 job_has_status $Q after succeeded

# A handler that overruns but returns before its worker's other jobs are
# done: the worker takes jobs again and is not stopped.
stops=$(grep -c 'stopping it (SIGABRT' "$L")
"$JOBRT_BIN" enqueue $Q work -v 1 --payload '{"ms":1500}' --timeout 200ms \
    --id late -r "$REDIS_URL" >/dev/null
"$JOBRT_BIN" enqueue $Q work -v 1 --payload '{"ms":3000}' --id long \
    -r "$REDIS_URL" >/dev/null
wait_for "the overrun to be seen" 10 grep -q "job late (work v1) still runs" "$L"
wait_for "the worker to take jobs again" 10 grep -q "taking jobs again" "$L"
"$JOBRT_BIN" enqueue $Q work -v 1 --payload '{}' --id after-late \
    -r "$REDIS_URL" >/dev/null
wait_for "a job after the late one" 10 job_has_status $Q after-late succeeded
wait_for "the long job" 10 job_has_status $Q long succeeded
assert_contains "$(job_status $Q late)" '"status":"succeeded"' \
    "the late job's own outcome stands"
assert_eq "$stops" "$(grep -c 'stopping it (SIGABRT' "$L")" \
    "workers stopped for the late job"
stop_worker sup 40
assert_eq 0 "$WORKER_RC" "supervisor exit code after SIGTERM"

# A handler that overruns while its worker drains for a stop is stopped
# at deadline + grace too, not after the whole --shutdown-timeout, and is
# recorded as timed out (its last attempt: dead-lettered).
start_worker sup2 --workers 1 --plugin-dir "$JOBRT_HAZARD_DIR" \
    -r "$REDIS_URL" -q $Q --concurrency 4 --timeout-grace 300ms \
    --shutdown-timeout 30s
L2=$(worker_log sup2)
wait_for "the worker to take jobs" 15 grep -q "taking jobs from queue" "$L2"
"$JOBRT_BIN" enqueue $Q spin -v 1 --payload '{}' --timeout 400ms \
    --max-attempts 1 --id spin-drain -r "$REDIS_URL" >/dev/null
one_pending() { [ "$(xpending_count $Q)" = 1 ]; }
wait_for "spin-drain to be running" 10 one_pending
t_stop=$(now_ms)
kill -TERM "$(worker_pid sup2)"
wait_worker_exit sup2 15
assert_eq 0 "$WORKER_RC" "exit code of a stop with an overrunning handler"
took=$(($(now_ms) - t_stop))
log "stopped in $took ms with --shutdown-timeout 30s"
[ "$took" -lt 15000 ] || fail "the stop waited $took ms for a hung handler"
rec=$(job_status $Q spin-drain)
assert_contains "$rec" '"reason":"timeout"' "spin-drain recorded as timed out"
pass
