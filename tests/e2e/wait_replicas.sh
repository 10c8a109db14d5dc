#!/usr/bin/env bash
# wait_replicas.sh - --wait-replicas (docs/delivery.md, "Replicas and
# failover") against a real primary and replica: `jobrt enqueue
# --wait-replicas 1` returns with its jobs on the replica; with the
# replica frozen (SIGSTOP: connected, acknowledging nothing) it still
# enqueues on the primary, prints the ids, says in one line how many jobs
# reached how many replicas, and exits 3. A worker with --wait-replicas 1
# drains with the replica up, logs the shortfall once while it is frozen
# and still finishes every job, and logs when the replica catches up.
. "$(dirname "$0")/lib.sh"

e2e_setup --tcp
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=wr
S="jobrt:{$Q}:stream"
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }

# ---- a replica of the test's redis-server ------------------------------------
REPL_SOCK=$E2E_WORK/replica.sock
redis-server --daemonize yes --pidfile "$E2E_WORK/replica.pid" \
    --logfile "$E2E_WORK/replica.log" --dir "$E2E_WORK" --save '' \
    --dbfilename replica.rdb --appendonly no --port 0 \
    --unixsocket "$REPL_SOCK" --unixsocketperm 700 \
    --replicaof 127.0.0.1 "$REDIS_PORT" ||
    fail "the replica did not start (see $E2E_WORK/replica.log)"
replica() { redis-cli -s "$REPL_SOCK" "$@"; }
REPL_PID=""
wait_for "the replica's pid file" 5 test -s "$E2E_WORK/replica.pid"
REPL_PID=$(cat "$E2E_WORK/replica.pid")
trap 'rc=$?; trap - ERR; [ -z "$REPL_PID" ] || { kill -CONT "$REPL_PID";
    kill "$REPL_PID"; } 2>/dev/null; (exit $rc); e2e_cleanup' EXIT
wait_for "the replica to be in sync" 10 eval \
    "replica INFO replication | grep -q 'master_link_status:up'"
wait_for "the primary to count it" 10 eval \
    "rcli INFO replication | grep -q 'connected_slaves:1'"

jobs_ndjson() { # from to
    for ((i = $1; i <= $2; i++)); do
        printf '{"job":"ok","v":1,"payload":{},"id":"r-%d"}\n' "$i"
    done
}

# ---- enqueue: on the replica when it returns -------------------------------------
jobs_ndjson 1 50 >"$E2E_WORK/first.ndjson"
run_cmd "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" --wait-replicas 1 \
    <"$E2E_WORK/first.ndjson"
assert_eq 0 "$RC" "enqueue --wait-replicas 1 with the replica up ($ERR)"
assert_eq 50 "$(replica XLEN "$S")" "jobs on the replica when enqueue returned"

# ---- the replica frozen: exit 3, one line, the jobs still queued ----------------
kill -STOP "$REPL_PID"
run_cmd "$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id r-51 \
    -r "$REDIS_URL" --wait-replicas 1 --wait-timeout 300ms
assert_eq 3 "$RC" "enqueue --wait-replicas 1 with the replica frozen"
assert_eq r-51 "$OUT" "the job's id is printed all the same"
assert_contains "$ERR" "1 job(s) enqueued on the primary reached 0 of 1 replica(s) within 300 ms" \
    "the line"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c replica)" "one line: $ERR"
assert_eq 51 "$(rcli XLEN "$S")" "the job is on the primary"
run_cmd "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" --wait-replicas 1 \
    --wait-timeout 300ms < <(jobs_ndjson 52 53)
assert_eq 3 "$RC" "stdin, the replica frozen"
assert_contains "$ERR" "2 job(s) enqueued on the primary reached 0 of 1" \
    "the stdin line"
kill -CONT "$REPL_PID"
wait_for "the replica to catch up" 10 eval '[ "$(replica XLEN "$S")" = 53 ]'

# ---- a worker that WAITs after its writes ---------------------------------------
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4 --wait-replicas 1 --wait-timeout 300ms
all_done() { # n: r-1..r-n succeeded
    [ "$(rcli EVAL "$SUCCEEDED_LUA" 0 "jobrt:{$Q}:" r- "$1")" = "$1" ]
}
wait_for "r-1..r-53 to succeed" 20 all_done 53
grep -q "reached 0 of 1 replica" "$(worker_log w1)" &&
    fail "w1 logged a shortfall with the replica up"
kill -STOP "$REPL_PID"
jobs_ndjson 54 60 | J enqueue $Q >/dev/null || fail "enqueue r-54..r-60"
wait_for "w1 to log the shortfall" 10 grep -q \
    "writes to queue $Q reached 0 of 1 replica(s) within 300 ms" \
    "$(worker_log w1)"
wait_for "r-54..r-60 to succeed all the same" 30 all_done 60
assert_eq 1 "$(grep -c "reached 0 of 1 replica" "$(worker_log w1)")" \
    "the shortfall is said once"
kill -CONT "$REPL_PID"
J enqueue $Q ok -v 1 --payload '{}' --id r-61 >/dev/null
wait_for "w1 to log the recovery" 10 grep -q \
    "writes to queue $Q reach 1 replica(s) again" "$(worker_log w1)"
wait_for "r-61 to succeed" 10 all_done 61
wait_for "the replica to have every record" 10 eval \
    "[ \"\$(replica EVAL_RO \"\$SUCCEEDED_LUA\" 0 'jobrt:{$Q}:' r- 61)\" = 61 ]"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"

# ---- a worker's WAIT is bounded: it holds the heartbeat ---------------------------
run_cmd "$JOBRT_BIN" run --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" \
    -q $Q --wait-replicas 1 --wait-timeout 3s
assert_eq 2 "$RC" "run --wait-timeout 3s"
assert_contains "$ERR" "--wait-timeout" "the refusal names the option"

# ---- a worker pointed at the replica: one line, no reconnect loop -----------------
J enqueue $Q ok -v 1 --payload '{}' --id r-62 >/dev/null
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" -q $Q \
    -r "unix://$REPL_SOCK"
# one line per connection (the reader's and the writer's), then quiet
wait_for "w2's reader and writer to say the server is a replica" 10 eval \
    '[ "$(grep -c "the server is a replica (READONLY)" "$(worker_log w2)")" \
        -ge 2 ]'
n_ro=$(grep -c "READONLY" "$(worker_log w2)")
# two more seconds of its retries (every 1 s) must add no line
deadline=$(($(now_ms) + 2000))
while [ "$(now_ms)" -lt "$deadline" ]; do
    worker_alive w2 || fail "w2 exited"
    sleep 0.2
done
assert_eq "$n_ro" "$(grep -c "READONLY" "$(worker_log w2)")" \
    "READONLY is said once per connection, not per retry"
grep -qE "connection to .* (lost|restored)" "$(worker_log w2)" &&
    fail "w2 reconnected in a loop: $(grep -E 'lost|restored' \
        "$(worker_log w2)" | head -3)"
stop_worker w2
all_done 61 || fail "r-1..r-61 changed"
# the replica's worker ran nothing: r-62 still waits on the primary
assert_exit 0 "jobrt status r-62" J status r-62 -q $Q
assert_contains "$OUT" "is queued in queue $Q" "r-62 after w2 stopped"
pass
