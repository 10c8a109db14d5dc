#!/usr/bin/env bash
# ops_single.sh - the operations endpoint of one process without a
# supervisor (--workers 0): /metrics counts its jobs, and the dead letters
# Redis scripts write for it (jobs parked past --park-ttl, by reason, with
# no job label); /readyz and the health file go red when Redis stops and
# green when it is back.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
"$E2E_PY" -c 'import prometheus_client' 2>/dev/null ||
    fail "python3-prometheus-client is not installed (apt-get install python3-prometheus-client)"
Q=opss
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
HF="$E2E_WORK/ready"

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --park-ttl 1s --http "127.0.0.1:$PORT" --health-file "$HF"
ready() { curl -fsS "$URL/readyz" | grep -q '^ready'; }
not_ready() { ! ready; }
wait_for "/readyz ready" 20 ready
wait_for "the health file" 2 test -f "$HF"

enq() { "$JOBRT_BIN" enqueue $Q "$1" -v "$2" --payload '{}' -r "$REDIS_URL" >/dev/null 2>&1; }
for i in $(seq 6); do enq ok 1; done
enq nosuch 1       # parked, then dead-lettered as no_handler
enq versioned 9    # parked, then dead-lettered as schema_unsupported
expect() { expect_metric "$URL" "$@"; } # WANT NAME LABEL=VALUE...
expect 6 jobrt_jobs_total job=ok outcome=succeeded
expect 1 jobrt_jobs_total job=nosuch outcome=parked
expect 1 jobrt_dead_letters_total job= reason=no_handler
expect 1 jobrt_dead_letters_total job= reason=schema_unsupported
expect 2 jobrt_queue_dead_letters
expect 1 jobrt_worker_processes_ready

stop_redis
wait_for "/readyz red within 5 s of Redis stopping" 5 not_ready
wait_for "the health file removed" 1 test ! -e "$HF"
curl -fsS "$URL/healthz" | grep -q '^ok' || fail "/healthz went red with Redis"
expect 0 jobrt_redis_up
start_redis
wait_for "/readyz green again" 15 ready
wait_for "the health file back" 2 test -f "$HF"
enq ok 1
expect 7 jobrt_jobs_total job=ok outcome=succeeded

stop_worker w1 20
assert_eq 0 "$WORKER_RC" "exit code"
test ! -e "$HF" || fail "the health file outlived the process"
pass
