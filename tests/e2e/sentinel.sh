#!/usr/bin/env bash
# sentinel.sh - --sentinel HOST:PORT,... --master-name NAME against a real
# Sentinel setup on loopback: a primary, a replica and three Sentinels
# (down-after 1 s). A supervised worker and `jobrt enqueue` find the
# primary through the Sentinels; the primary is killed with SIGKILL while
# jobs run, a Sentinel promotes the replica, and the worker follows within
# seconds; then the old primary comes back (as a replica) and `SENTINEL
# FAILOVER` makes it the primary again while the other one, still alive,
# is demoted: the worker moves back. Every job enqueued (with
# --wait-replicas 1 while there is a replica) ends succeeded on the final
# primary, each run counted: the log says how many ran again (a
# completion lost in a failover runs its job again: at least once). Last,
# with no WAIT and the replica frozen, a SIGKILLed primary: the loss is
# counted and is exactly what the replica had not received.
. "$(dirname "$0")/lib.sh"

e2e_setup --tcp
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=sen
P1=$REDIS_PORT
P2=$(free_port)
NAME=jobmaster

# ---- the replica and three Sentinels ---------------------------------------------
redis-server --daemonize yes --pidfile "$E2E_WORK/r2.pid" \
    --logfile "$E2E_WORK/r2.log" --dir "$E2E_WORK" --dbfilename r2.rdb \
    --save '' --appendonly no --port "$P2" --bind 127.0.0.1 \
    --replicaof 127.0.0.1 "$P1" || fail "the replica did not start"
SPORTS=()
for n in 1 2 3; do
    sp=$(free_port)
    SPORTS+=("$sp")
    cat >"$E2E_WORK/s$n.conf" <<EOF
port $sp
bind 127.0.0.1
daemonize yes
pidfile $E2E_WORK/s$n.pid
logfile $E2E_WORK/s$n.log
dir $E2E_WORK
sentinel monitor $NAME 127.0.0.1 $P1 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 4000
EOF
    redis-server "$E2E_WORK/s$n.conf" --sentinel ||
        fail "sentinel $n did not start (see $E2E_WORK/s$n.log)"
done
kill_all() {
    local f
    for f in "$E2E_WORK"/r2.pid "$E2E_WORK"/s?.pid; do
        [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
    done
    return 0
}
trap 'rc=$?; trap - ERR; kill_all; (exit $rc); e2e_cleanup' EXIT
SENTINELS="127.0.0.1:${SPORTS[0]},127.0.0.1:${SPORTS[1]},127.0.0.1:${SPORTS[2]}"
scli() { redis-cli -h 127.0.0.1 -p "${SPORTS[0]}" "$@"; }
primary_port() { scli SENTINEL get-master-addr-by-name $NAME | tail -1; }
in_sync() { redis-cli -h 127.0.0.1 -p "$1" INFO replication |
    grep -q 'master_link_status:up'; }
wait_for "the replica to be in sync" 20 in_sync "$P2"
wait_for "the Sentinels to know each other and the replica" 20 eval \
    "[ \"\$(scli SENTINEL sentinels $NAME | grep -c '^name$')\" = 2 ] &&
     [ \"\$(scli SENTINEL replicas $NAME | grep -c '^name$')\" = 1 ]"

S() { "$JOBRT_BIN" "$@" --sentinel "$SENTINELS" --master-name $NAME \
    -r redis://127.0.0.1; }
enqueue_range() { # from to WAIT: enqueues r-from..r-to with
    local from=$1 to=$2 w=$3 i # --wait-replicas WAIT, retried while there
    # is no primary (during a failover)
    for ((i = from; i <= to; i++)); do
        printf '{"job":"record","v":1,"payload":{},"id":"r-%d"}\n' "$i"
    done >"$E2E_WORK/batch.ndjson"
    # exit 1: no primary yet (retried); 3: not on the replica (a failure
    # here: the test waits for the replica to be in sync first)
    local rc
    wait_for "r-$from..r-$to to be enqueued" 30 eval \
        "S enqueue $Q --wait-replicas $w --wait-timeout 2s <'$E2E_WORK/batch.ndjson' >/dev/null 2>>'$E2E_WORK/enqueue.err'; rc=\$?; [ \$rc != 1 ]"
    [ "$rc" = 0 ] || fail "r-$from..r-$to: enqueue exited $rc: $(tail -1 "$E2E_WORK/enqueue.err")"
}
# succeeded N: how many of r-1..r-N have a succeeded record on the primary
succeeded() {
    redis-cli -h 127.0.0.1 -p "$(primary_port)" EVAL "$SUCCEEDED_LUA" 0 \
        "jobrt:{$Q}:" r- "$1"
}
all_succeeded() { [ "$(succeeded "$1")" = "$1" ]; }

export JOBRT_TESTKIT_RECORD=$E2E_WORK/record.log
: >"$JOBRT_TESTKIT_RECORD"
assert_exit 2 "--sentinel without --master-name" "$JOBRT_BIN" stats \
    --sentinel "$SENTINELS"
run_cmd "$JOBRT_BIN" stats --sentinel "$SENTINELS" --master-name nosuch
assert_eq 1 "$RC" "an unknown master name"
assert_contains "$ERR" "knows no master named nosuch" "its line"

# ---- a worker through the Sentinels; the primary killed ---------------------------
enqueue_range 1 600 1
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --sentinel "$SENTINELS" \
    --master-name $NAME -r redis://127.0.0.1 -q $Q --workers 2 \
    --concurrency 4 --lease 2s
wait_for "w1 to take jobs" 15 grep -q "taking jobs" "$(worker_log w1)"
wait_for "100 jobs to run" 20 eval '[ "$(wc -l <"$JOBRT_TESTKIT_RECORD")" -ge 100 ]'
kill -9 "$(redis_pid)"
log "killed the primary (port $P1) after $(wc -l <"$JOBRT_TESTKIT_RECORD") jobs"
wait_for "a Sentinel to promote the replica" 20 eval "[ \"\$(primary_port)\" = $P2 ]"
enqueue_range 601 800 0 # no replica is left to wait for
wait_for "r-1..r-800 to succeed on the new primary" 60 all_succeeded 800
log "after the kill: $(wc -l <"$JOBRT_TESTKIT_RECORD") runs of 800 jobs, $(sort "$JOBRT_TESTKIT_RECORD" | uniq -d | wc -l) ran again"
grep -q "127.0.0.1:$P2" "$(worker_log w1)" ||
    fail "the worker did not log the new primary"

# ---- the old primary back, then a failover to it: the other one demoted ------------
start_redis
wait_for "the old primary to become a replica" 20 eval \
    "rcli INFO replication | grep -q 'role:slave'"
wait_for "it to be in sync" 20 eval \
    "rcli INFO replication | grep -q 'master_link_status:up'"
wait_for "the Sentinels to list it" 20 eval \
    "[ \"\$(scli SENTINEL replicas $NAME | grep -c '^name$')\" = 1 ]"
assert_eq OK "$(scli SENTINEL FAILOVER $NAME)" "SENTINEL FAILOVER"
wait_for "the failover back to port $P1" 20 eval "[ \"\$(primary_port)\" = $P1 ]"
wait_for "port $P2 to be demoted" 20 eval \
    "redis-cli -p $P2 INFO replication | grep -q 'role:slave'"
wait_for "port $P2 to be in sync with port $P1" 20 in_sync "$P2"
enqueue_range 801 900 1
wait_for "r-1..r-900 to succeed on port $P1" 60 all_succeeded 900
assert_eq 0 "$(redis-cli -h 127.0.0.1 -p "$P1" XLEN "jobrt:{$Q}:dlq")" \
    "dead letters"
grep -q "name 127.0.0.1:$P1 as the primary" "$(worker_log w1)" ||
    fail "the worker did not log its move back to port $P1"
log "the worker's moves: $(grep -o 'name 127.0.0.1:[0-9]* as the primary[a-z ]*\|READONLY[^;]*' "$(worker_log w1)" | sort | uniq -c | tr '\n' ';')"
runs=$(wc -l <"$JOBRT_TESTKIT_RECORD")
repeats=$(sort "$JOBRT_TESTKIT_RECORD" | uniq -d | wc -l)
log "900 jobs, $runs runs: $repeats job(s) ran again (completions lost in the kill)"
[ "$(sort -u "$JOBRT_TESTKIT_RECORD" | wc -l)" = 900 ] ||
    fail "not every job ran: $(sort -u "$JOBRT_TESTKIT_RECORD" | wc -l) of 900"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"

# ---- no WAIT and a lagging replica: what a failover loses, counted -----------------
# (docs/delivery.md, "Replicas and failover") port $P2, the replica, is
# frozen (SIGSTOP: connected, reading nothing); 400 jobs of 128 KiB are
# enqueued with no WAIT (each acknowledged by the primary) and one with
# --wait-replicas 1 (exit 3: reported short); the primary is SIGKILLed,
# the replica thawed and promoted. What it had not received is lost: the
# survivors are a prefix of the enqueue order, and at least one
# acknowledged enqueue is gone.
wait_for "port $P2 to be in sync before the freeze" 20 in_sync "$P2"
K=400
"$E2E_PY" - "$K" >"$E2E_WORK/lag.ndjson" <<'PY'
import json, sys
pad = "x" * (128 * 1024)
for i in range(1, int(sys.argv[1]) + 1):
    print(json.dumps({"job": "record", "v": 1, "id": "lag-%d" % i,
                      "payload": {"pad": pad}}, separators=(",", ":")))
PY
R2_PID=$(cat "$E2E_WORK/r2.pid")
kill -STOP "$R2_PID"
trap 'rc=$?; trap - ERR; kill -CONT "$R2_PID" 2>/dev/null; kill_all; (exit $rc);
    e2e_cleanup' EXIT
assert_exit 0 "enqueue $K jobs of 128 KiB, no WAIT, replica frozen" S enqueue $Q \
    <"$E2E_WORK/lag.ndjson"
assert_exit 3 "enqueue one with --wait-replicas 1, replica frozen" S enqueue $Q \
    record -v 1 --payload '{}' --id waited-1 --wait-replicas 1 --wait-timeout 300ms
kill -9 "$(redis_pid)"
kill -CONT "$R2_PID"
log "killed the primary (port $P1) with its replica frozen, then thawed it"
wait_for "a Sentinel to promote port $P2" 30 eval "[ \"\$(primary_port)\" = $P2 ]"
mapfile -t HELD < <(redis-cli -h 127.0.0.1 -p "$P2" XRANGE "jobrt:{$Q}:stream" - + |
    grep -E '^(lag|waited)-[0-9]+$' || true)
held=0
for id in "${HELD[@]}"; do
    case $id in
    lag-*) held=$((held + 1)); [ "$id" = "lag-$held" ] ||
        fail "the survivors are not a prefix of the enqueue order: $id is survivor $held" ;;
    waited-*) [ "$held" = "$K" ] || fail "waited-1 survived while lag-$((held + 1)), written before it, did not" ;;
    esac
done
[ "$held" -lt "$K" ] || fail "no acknowledged enqueue was lost: the replica was not behind"
log "without --wait-replicas: $((K - held)) of $K acknowledged enqueues lost in the Sentinel failover (port $P2 had lag-1..lag-$held)"
pass
