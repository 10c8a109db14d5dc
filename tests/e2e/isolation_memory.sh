#!/usr/bin/env bash
# isolation_memory.sh - --max-memory. A handler that allocates 8 MiB every
# 20 ms (`hog`) runs among 300 normal jobs on --workers 2 --max-memory
# 64m. Its worker is recycled past 64 MiB (drained: it takes no more jobs)
# and killed past the 96 MiB ceiling; the hog is charged a delivery at
# each kill and ends as poison after --max-deliveries 2, its record saying
# SIGKILL; every normal job succeeds; the other worker keeps serving; two
# live workers at the end.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_HAZARD_DIR/hazard.so" "build the hazard test plugin"
Q=mem
N=300
export JOBRT_HAZARD_RECORD=$E2E_WORK/ran
: >"$JOBRT_HAZARD_RECORD"

start_worker sup --workers 2 --plugin-dir "$JOBRT_HAZARD_DIR" \
    -r "$REDIS_URL" -q $Q --concurrency 4 --max-memory 64m \
    --max-deliveries 2 --lease 1s
L=$(worker_log sup)
taking() { [ "$(grep -c 'taking jobs from queue' "$L")" -ge "$1" ]; }
wait_for "both workers to take jobs" 15 taking 2

"$JOBRT_BIN" enqueue $Q hog -v 1 --payload '{"mb":8}' --id hog-1 \
    -r "$REDIS_URL" >/dev/null
for i in $(seq 1 $N); do
    printf '{"job":"work","v":1,"id":"m%d","payload":{"ms":10}}\n' "$i"
done | "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null

wait_for "the hog to be dead-lettered" 60 job_has_status $Q hog-1 dead
rec=$(job_status $Q hog-1)
assert_contains "$rec" '"reason":"poison"' "hog-1's reason"
assert_contains "$rec" '"signal":"SIGKILL"' "hog-1's record names the kill"
assert_contains "$rec" 'memory ceiling' "hog-1's record says why"
assert_contains "$(cat "$L")" "is over --max-memory 64 MiB" "a recycle line"
all_ran() { [ "$(awk '{print $1}' "$JOBRT_HAZARD_RECORD" | sort -u | wc -l)" -ge "$N" ]; }
wait_for "all $N normal jobs to run" 60 all_ran
for i in 1 $((N / 2)) $N; do
    wait_for "m$i's record" 10 job_has_status $Q m$i succeeded
done
wait_for "the queue to drain" 30 queue_idle $Q
assert_eq 1 "$(dlq_len $Q)" "dead letters (only the hog)"
live() {
    "$JOBRT_BIN" workers -q $Q -r "$REDIS_URL" --json |
        "$E2E_PY" -c 'import json,sys; print(len(json.load(sys.stdin)["queues"][0]["workers"]))'
}
live_is() { [ "$(live)" = "$1" ]; }
wait_for "2 live workers again" 15 live_is 2
stop_worker sup 40
assert_eq 0 "$WORKER_RC" "supervisor exit code after SIGTERM"
pass
