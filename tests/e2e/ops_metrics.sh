#!/usr/bin/env bash
# ops_metrics.sh - /metrics after a known workload, read with a real
# Prometheus text parser (python3-prometheus-client): every job counter
# matches the workload exactly, summed over the supervisor's two worker
# processes; the queue's numbers (parked, DLQ) come from Redis; a worker
# killed with SIGKILL is counted as a restart and what it had counted is
# kept (counters never go back); a job that crashes its worker twice is
# dead-lettered as poison by the supervisor and counted as such, and jobs
# parked past --park-ttl are counted by reason.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
"$E2E_PY" -c 'import prometheus_client' 2>/dev/null ||
    fail "python3-prometheus-client is not installed (apt-get install python3-prometheus-client)"
Q=opsm
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --workers 2 --concurrency 4 --retry-base 10ms \
    --retry-cap 20ms --max-deliveries 2 --http "127.0.0.1:$PORT"
ready() { curl -fsS "$URL/readyz" | grep -q '^ready'; }
both_ready() { [ "$(curl -fsS "$URL/readyz" | grep -c ': ready$')" = 2 ]; }
wait_for "the supervisor's /readyz to say ready" 20 ready
wait_for "both worker processes ready" 20 both_ready

enq() { "$JOBRT_BIN" enqueue $Q "$1" -v "$2" --payload "$3" -r "$REDIS_URL" >/dev/null; }
for i in $(seq 30); do enq ok 1 '{}'; done
for i in $(seq 5); do enq fail 1 '{}'; done
for i in $(seq 4); do enq flaky 1 '{"succeed_on":2}'; done
for i in $(seq 3); do enq nosuch 1 '{}'; done      # no handler: parked
for i in $(seq 2); do enq versioned 9 '{}'; done   # version not served
expect() { expect_metric "$URL" "$@"; } # WANT NAME LABEL=VALUE...
expect 30 jobrt_jobs_total queue=$Q job=ok version=1 outcome=succeeded
expect 5 jobrt_jobs_total job=fail outcome=dead_lettered
expect 5 jobrt_dead_letters_total job=fail reason=permanent_failure
expect 4 jobrt_jobs_total job=flaky outcome=retried
expect 4 jobrt_jobs_total job=flaky outcome=succeeded
expect 3 jobrt_jobs_total job=nosuch version=1 outcome=parked
expect 2 jobrt_jobs_total job=versioned version=9 outcome=parked
expect 30 jobrt_job_duration_seconds_count job=ok
expect 30 jobrt_job_duration_seconds_bucket job=ok le=+Inf
expect 48 jobrt_entries_fetched_total
expect 43 jobrt_pickup_lag_seconds_count # the 5 parked never reached a handler
expect 5 jobrt_queue_parked queue=$Q
expect 3 jobrt_queue_parked_jobs job=nosuch version=1
expect 5 jobrt_queue_dead_letters
expect 0 jobrt_jobs_in_flight
expect 2 jobrt_worker_processes_ready
expect 1 jobrt_ready
expect 1 jobrt_redis_up
expect 0 jobrt_worker_restarts_total
# no job id ever becomes a label
ids=$(curl -fsS "$URL/metrics" | grep -c -E '[0-9]{13}-[0-9]+' || true)
assert_eq 0 "$ids" "metric lines carrying a stream id"

# A worker process dies: the supervisor counts the restart, and the sum of
# what was counted stays (the dead worker's share is kept).
pid=$(curl -fsS "$URL/readyz" | sed -n 's/^worker 1 pid \([0-9]*\):.*/\1/p')
[ -n "$pid" ] || fail "no pid of worker 1 in /readyz"
kill -KILL "$pid"
expect 1 jobrt_worker_restarts_total
wait_for "both worker processes ready again" 20 both_ready
expect 30 jobrt_jobs_total job=ok outcome=succeeded
expect 4 jobrt_jobs_total job=flaky outcome=retried
for i in $(seq 10); do enq ok 1 '{}'; done
expect 40 jobrt_jobs_total job=ok outcome=succeeded

# A job that crashes every worker that runs it: two crashes (deliveries),
# then the supervisor dead-letters it as poison. Dead letters written by
# scripts, not by a handler's outcome, carry no job label.
enq crash 1 '{}'
expect 3 jobrt_worker_restarts_total
expect 1 jobrt_dead_letters_total reason=poison job=
expect 3 jobrt_worker_restarts_total cause=crash # the SIGKILL above too
wait_for "both worker processes ready again" 20 both_ready
expect 40 jobrt_jobs_total job=ok outcome=succeeded

stop_worker w1 30
assert_eq 0 "$WORKER_RC" "supervisor exit code"
pass
