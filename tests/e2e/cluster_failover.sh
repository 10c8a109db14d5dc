#!/usr/bin/env bash
# cluster_failover.sh - a Redis Cluster failover mid-run (docs/redis.md,
# "What a failover can lose"; docs/delivery.md, "Replicas and failover"),
# on a real cluster on loopback: 3 primaries, 1 replica each, node timeout
# 1 s (tests/support/redis_cluster.sh). Three queues, one per shard.
#
# 1. With --wait-replicas 1: a supervised worker (2 processes) drains the
#    three queues while a producer enqueues batches into each with
#    `jobrt enqueue --wait-replicas 1`; shard V1's primary is SIGKILLed
#    mid-run and its replica promoted by the cluster. The worker follows
#    within seconds, and every job an enqueue confirmed (exit 0) runs:
#    nothing confirmed is lost. Batches refused during the failover are
#    counted (not confirmed, the producer was told).
# 2. Without it, with a lagging replica: shard V2's replica is frozen
#    (SIGSTOP: connected, reading nothing), 400 jobs of 128 KiB are
#    enqueued with no WAIT (each acknowledged by the primary, exit 0), one
#    more with --wait-replicas 1 (exit 3: reported short), the primary is
#    SIGKILLed and the replica, thawed, is promoted. What the replica had
#    not received is lost, exactly as documented: the survivors are a
#    prefix of the enqueue order, every job confirmed by WAIT before the
#    freeze survives, at least one acknowledged enqueue is gone (the
#    window was real), and a worker then runs the survivors and no lost job.
# 3. A frozen primary (SIGSTOP): a worker serving its queue leaves it once
#    the cluster has promoted the replica (its replies awaited too long, it
#    asks the cluster) and runs a job enqueued there while it is frozen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../support/redis_cluster.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
trap 'rc=$?; trap - ERR; kill -CONT "${FROZEN_PID:-0}" 2>/dev/null;
    [ -n "${PRODUCER:-}" ] && kill "$PRODUCER" 2>/dev/null;
    e2e_kill_workers; cluster_stop; (exit $rc); e2e_cleanup' EXIT
NS=jobrt # DEFAULT_NAMESPACE (runtime/cli/commands.h)

cluster_start 3 1 1000
cluster_pick_queues fq 1
XP=$(cluster_key_primary "$NS:queues")
QS=("${CLUSTER_QUEUES[@]}")
V=()
for q in "${QS[@]}"; do
    [ "${CLUSTER_QUEUE_PORT[$q]}" = "$XP" ] || V+=("$q")
done
V1=${V[0]} V2=${V[1]}
log "queues ${QS[*]}; V1 $V1 on ${CLUSTER_QUEUE_PORT[$V1]}, V2 $V2 on ${CLUSTER_QUEUE_PORT[$V2]}, index on $XP"
SEED=$XP # a node that stays up throughout
J() { "$JOBRT_BIN" "$@" --cluster -r "redis://127.0.0.1:$SEED"; }
qargs() { local q; for q in "$@"; do printf -- '--queue\n%s\n' "$q"; done; }
mapfile -t WQ < <(qargs "${QS[@]}")
export JOBRT_TESTKIT_RECORD=$E2E_WORK/record.log
: >"$JOBRT_TESTKIT_RECORD"

# ---- 1. a primary killed mid-run, --wait-replicas 1 everywhere ------------------
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster \
    -r "redis://127.0.0.1:$SEED" --workers 2 --concurrency 8 \
    --wait-replicas 1 --wait-timeout 1s "${WQ[@]}"
BATCHES=40 PER=25
: >"$E2E_WORK/confirmed.txt" : >"$E2E_WORK/short.txt"
: >"$E2E_WORK/refused.txt"
# producer: BATCHES rounds, one enqueue of PER jobs per queue each; an
# enqueue's ids go to confirmed.txt (exit 0), short.txt (exit 3: on the
# primary, not confirmed on a replica) or refused.txt (any other exit)
producer()
{
    local b q rc f
    for ((b = 1; b <= BATCHES; b++)); do
        for q in "${QS[@]}"; do
            f=$E2E_WORK/batch-$q-$b
            awk -v q="$q" -v b="$b" -v n="$PER" 'BEGIN { for (i = 1; i <= n; i++)
                printf "{\"job\":\"record\",\"v\":1,\"payload\":{},\"id\":\"p-%s-%d-%d\"}\n", q, b, i }' >"$f.in"
            rc=0
            J enqueue "$q" --wait-replicas 1 --wait-timeout 2s <"$f.in" \
                >"$f.out" 2>"$f.err" || rc=$?
            case $rc in
            0) cat "$f.out" >>"$E2E_WORK/confirmed.txt" ;;
            3) cat "$f.out" >>"$E2E_WORK/short.txt" ;;
            *) sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$f.in" >>"$E2E_WORK/refused.txt"
               echo "batch $b of $q: exit $rc: $(head -1 "$f.err")" >>"$E2E_WORK/refusals.log" ;;
            esac
        done
        echo "$b" >"$E2E_WORK/batches-done"
    done
}
producer &
PRODUCER=$!
wait_for "a third of the batches" 60 eval \
    "[ \"\$(cat '$E2E_WORK/batches-done' 2>/dev/null || echo 0)\" -ge $((BATCHES / 3)) ]"
P1=${CLUSTER_QUEUE_PORT[$V1]}
R1=$(cluster_replicas_of "$P1" | awk '{print $1}')
[ -n "$R1" ] || fail "shard V1 ($P1) has no replica in sync"
t_kill=$(now_ms)
cluster_kill_node "$P1"
log "SIGKILLed $V1's primary $P1 (replica $R1) after batch $(cat "$E2E_WORK/batches-done")"
wait_for "the cluster to promote $R1 for $V1" 30 eval \
    "[ \"\$(cluster_slot_primary ${CLUSTER_QUEUE_SLOT[$V1]} $SEED 2>/dev/null)\" = $R1 ]"
t_promoted=$(now_ms)
log "promoted in $((t_promoted - t_kill)) ms"
# the old primary comes back as the new one's replica, so WAIT 1 is met
cluster_start_node "$P1"
# the worker follows: a job of V1 enqueued after the promotion runs
assert_exit 0 "enqueue on $V1 after the promotion" J enqueue "$V1" record \
    -v 1 --payload '{}' --id follow-1
wait_for "the worker to run follow-1 on the promoted primary" 15 \
    grep -qx follow-1 "$JOBRT_TESTKIT_RECORD"
log "the worker ran a job of $V1 $(($(now_ms) - t_promoted)) ms after the promotion"
rc=0
wait "$PRODUCER" || rc=$?
PRODUCER=
assert_eq 0 "$rc" "producer exit code"
n_conf=$(wc -l <"$E2E_WORK/confirmed.txt")
n_short=$(wc -l <"$E2E_WORK/short.txt")
n_ref=$(wc -l <"$E2E_WORK/refused.txt")
assert_eq $((BATCHES * PER * 3)) $((n_conf + n_short + n_ref)) "every job accounted for"
[ -s "$E2E_WORK/refusals.log" ] && log "refused: $(head -3 "$E2E_WORK/refusals.log" | tr '\n' ';')"
sort -u "$E2E_WORK/confirmed.txt" >"$E2E_WORK/confirmed.sorted"
confirmed_ran() {
    worker_alive w1 || return 2
    [ -z "$(sort -u "$JOBRT_TESTKIT_RECORD" |
        comm -23 "$E2E_WORK/confirmed.sorted" - | head -1)" ]
}
wait_for "every confirmed job to run" 60 confirmed_ran
sort -u "$JOBRT_TESTKIT_RECORD" >"$E2E_WORK/ran.sorted"
ran_short=$(sort -u "$E2E_WORK/short.txt" | comm -12 - "$E2E_WORK/ran.sorted" | wc -l)
ran_ref=$(sort -u "$E2E_WORK/refused.txt" | comm -12 - "$E2E_WORK/ran.sorted" | wc -l)
repeats=$(sort "$JOBRT_TESTKIT_RECORD" | uniq -d | wc -l)
log "with --wait-replicas 1: $n_conf confirmed, all ran; $n_short reported short ($ran_short ran), $n_ref refused during the failover ($ran_ref ran anyway); $repeats job(s) ran again (completions lost with the primary)"
grep -q "FATAL" "$(worker_log w1)" && fail "w1: $(grep FATAL "$(worker_log w1)" | head -1)"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"

# ---- 2. no WAIT, a lagging replica: what is lost is what it had not received ----
P2=${CLUSTER_QUEUE_PORT[$V2]}
R2=$(cluster_replicas_of "$P2" | awk '{print $1}')
[ -n "$R2" ] || fail "shard V2 ($P2) has no replica in sync"
# confirmed before the freeze: on the replica, so never lost
awk 'BEGIN { for (i = 1; i <= 50; i++)
    printf "{\"job\":\"record\",\"v\":1,\"payload\":{},\"id\":\"pre-%d\"}\n", i }' >"$E2E_WORK/pre.in"
assert_exit 0 "enqueue pre-1..50 --wait-replicas 1" J enqueue "$V2" \
    --wait-replicas 1 --wait-timeout 5s <"$E2E_WORK/pre.in"
K=400
"$E2E_PY" - "$K" >"$E2E_WORK/lag.in" <<'PY'
import json, sys
pad = "x" * (128 * 1024)
for i in range(1, int(sys.argv[1]) + 1):
    print(json.dumps({"job": "record", "v": 1, "id": "lag-%d" % i,
                      "payload": {"pad": pad}}, separators=(",", ":")))
PY
FROZEN_PID=$(cluster_node_pid "$R2")
kill -STOP "$FROZEN_PID"
assert_exit 0 "enqueue $K jobs of 128 KiB, no WAIT, replica frozen" J enqueue "$V2" \
    <"$E2E_WORK/lag.in"
assert_eq "$K" "$(grep -c '^lag-' <<<"$OUT")" "ids acknowledged"
assert_exit 3 "enqueue one more with --wait-replicas 1, replica frozen" J enqueue "$V2" \
    record -v 1 --payload '{}' --id waited-1 --wait-replicas 1 --wait-timeout 300ms
assert_contains "$ERR" "a failover before they replicate would lose them" \
    "the shortfall line"
log "stream of $V2 on $P2: $(ccli "$P2" XLEN "$NS:{$V2}:stream") entries; on $R2: frozen"
cluster_kill_node "$P2"
kill -CONT "$FROZEN_PID"
FROZEN_PID=
log "SIGKILLed $V2's primary $P2 with its replica $R2 frozen, then thawed it"
wait_for "the cluster to promote $R2 for $V2" 30 eval \
    "[ \"\$(cluster_slot_primary ${CLUSTER_QUEUE_SLOT[$V2]} $SEED 2>/dev/null)\" = $R2 ]"
# what the promoted replica holds: the ids in its stream, in stream order
ids_on_r2() {
    ccli "$R2" XRANGE "$NS:{$V2}:stream" - + |
        grep -E '^(pre|lag|waited)-[0-9]+$' || true
}
mapfile -t HELD < <(ids_on_r2)
held_pre=0 held_lag=0 held_waited=0
for id in "${HELD[@]}"; do
    case $id in
    pre-*) held_pre=$((held_pre + 1)) ;;
    lag-*) held_lag=$((held_lag + 1)); [ "$id" = "lag-$held_lag" ] ||
        fail "the survivors are not a prefix of the enqueue order: $id is survivor $held_lag" ;;
    waited-*) held_waited=$((held_waited + 1)) ;;
    esac
done
assert_eq 50 "$held_pre" "jobs confirmed by WAIT before the freeze, on the promoted replica"
lost=$((K - held_lag))
[ "$lost" -ge 1 ] || fail "no acknowledged enqueue was lost: the replica was not behind (its socket buffers held all $K jobs?)"
[ "$held_waited" = 0 ] || [ "$held_lag" = "$K" ] ||
    fail "waited-1 survived while lag-$((held_lag + 1)), written before it, did not"
log "without --wait-replicas: $lost of $K acknowledged enqueues lost (the replica had lag-1..lag-$held_lag); waited-1 was reported short (exit 3) and is $([ "$held_waited" = 1 ] && echo kept || echo lost)"
# a worker runs what survived, and nothing that was lost
: >"$JOBRT_TESTKIT_RECORD"
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster \
    -r "redis://127.0.0.1:$SEED" --concurrency 8 --queue "$V2"
# (only the ids of this part count: V2 may still hold part 1's jobs that
# were reported short or refused)
ran_here() { grep -E '^(pre|lag|waited)-[0-9]+$' "$JOBRT_TESTKIT_RECORD" | sort -u | wc -l; }
survivors_ran() {
    worker_alive w2 || return 2
    [ "$(ran_here)" -ge $((50 + held_lag + held_waited)) ]
}
wait_for "w2 to run the $((50 + held_lag + held_waited)) survivors" 60 survivors_ran
stop_worker w2
assert_eq 0 "$WORKER_RC" "w2 exit code"
assert_eq $((50 + held_lag + held_waited)) "$(ran_here)" "jobs run after the failover"
if [ "$held_lag" -lt "$K" ]; then
    grep -qx "lag-$((held_lag + 1))" "$JOBRT_TESTKIT_RECORD" &&
        fail "lag-$((held_lag + 1)), lost with the primary, ran"
fi

# ---- 3. a frozen primary (SIGSTOP: its sockets stay open, nothing answers) -------
# V1 is on R1 now, with P1 back as its replica. A worker serving V1 must
# leave the frozen node once the cluster has promoted P1: its connections
# see replies awaited too long, ask the cluster, and move.
wait_for "P1 to be R1's replica in sync" 30 eval \
    "cluster_replicas_of $R1 | grep -qw $P1"
start_worker w3 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster \
    -r "redis://127.0.0.1:$SEED" --workers 0 --concurrency 8 --queue "$V1"
assert_exit 0 "enqueue fz-1 on $V1" J enqueue "$V1" record -v 1 --payload '{}' --id fz-1
wait_for "w3 to run fz-1" 10 grep -qx fz-1 "$JOBRT_TESTKIT_RECORD"
FROZEN_PID=$(cluster_node_pid "$R1")
kill -STOP "$FROZEN_PID"
t_freeze=$(now_ms)
log "froze $V1's primary $R1 (SIGSTOP)"
wait_for "the cluster to promote $P1 for $V1" 30 eval \
    "[ \"\$(cluster_slot_primary ${CLUSTER_QUEUE_SLOT[$V1]} $SEED 2>/dev/null)\" = $P1 ]"
log "promoted $P1 in $(($(now_ms) - t_freeze)) ms"
assert_exit 0 "enqueue fz-2 on $V1 after the promotion" J enqueue "$V1" record \
    -v 1 --payload '{}' --id fz-2
wait_for "w3 to run fz-2 on $P1 while $R1 is still frozen" 20 \
    grep -qx fz-2 "$JOBRT_TESTKIT_RECORD"
log "w3 ran fz-2 $(($(now_ms) - t_freeze)) ms after the freeze"
grep -q "now (the cluster map; was 127.0.0.1:$R1, which does not answer); reconnecting" \
    "$(worker_log w3)" || fail "w3 did not say it left $R1: $(grep -c "$R1" "$(worker_log w3)") line(s) name it"
kill -CONT "$FROZEN_PID"
FROZEN_PID=
stop_worker w3
assert_eq 0 "$WORKER_RC" "w3 exit code"
pass
