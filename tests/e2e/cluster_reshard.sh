#!/usr/bin/env bash
# cluster_reshard.sh - a queue's slot migrated to another primary with
# `redis-cli --cluster reshard` while a worker drains it and a producer
# enqueues into it (docs/redis.md, "Redirections"), on a real cluster on
# loopback (3 primaries, no replicas: tests/support/redis_cluster.sh).
# The queue rq is picked so that its slot is among the first of primary
# A's range (reshard moves a source's lowest slots first), and the
# reshard moves A's slots up to and including it to primary B, keys in
# pipelines of 10, so that for a while the queue's keys are split between
# A and B (ASK for one key, TRYAGAIN for a script over several). A
# control queue on the third primary runs beside it. Every job the
# producer was told was enqueued runs, none is dead-lettered, the worker
# says it followed the slot to B (MOVED), and `jobrt status` finds the
# jobs on B afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../support/redis_cluster.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
trap 'rc=$?; trap - ERR; [ -n "${PRODUCER:-}" ] && kill "$PRODUCER" 2>/dev/null;
    e2e_kill_workers; cluster_stop; (exit $rc); e2e_cleanup' EXIT
NS=jobrt # DEFAULT_NAMESPACE (runtime/cli/commands.h)

cluster_start 3 0 2000
XP=$(cluster_key_primary "$NS:queues")
SEED=$XP
# ---- the queues: rq near the start of a primary A's range, rc on a third ------
mapfile -t MAP < <(cluster_map "$SEED")
mapfile -t SLOTS < <(for i in $(seq 1 4096); do
    printf 'CLUSTER KEYSLOT {rq%d}\n' "$i"; done | ccli "$SEED")
assert_eq 4096 "${#SLOTS[@]}" "slots asked"
best="" best_gap=99999 A="" LO=0
for ((i = 0; i < 4096; i++)); do
    s=${SLOTS[$i]}
    for m in "${MAP[@]}"; do
        read -r range port <<<"$m"
        lo=${range%-*} hi=${range#*-}
        if [ "$s" -ge "$lo" ] && [ "$s" -le "$hi" ] && [ "$port" != "$XP" ] &&
            [ $((s - lo)) -lt "$best_gap" ]; then
            best="rq$((i + 1))" best_gap=$((s - lo)) A=$port LO=$lo
        fi
    done
done
[ -n "$best" ] || fail "no queue name rq1..rq4096 falls on a primary other than $XP"
Q=$best
SLOT=$(cluster_keyslot "{$Q}")
B=""
for p in "${CLUSTER_PRIMARIES[@]}"; do
    [ "$p" != "$A" ] && [ "$p" != "$XP" ] && B=$p
done
for i in $(seq 1 64); do
    [ "$(cluster_key_primary "{rc$i}")" = "$XP" ] && { QC=rc$i; break; }
done
[ -n "${QC:-}" ] || fail "no control queue rc1..rc64 on $XP"
NMOVE=$((SLOT - LO + 1))
log "queue $Q: slot $SLOT on A=$A (range from $LO): reshard moves $NMOVE slot(s) to B=$B; control queue $QC on $XP"
J() { "$JOBRT_BIN" "$@" --cluster -r "redis://127.0.0.1:$SEED"; }

export JOBRT_TESTKIT_RECORD=$E2E_WORK/record.log
: >"$JOBRT_TESTKIT_RECORD"
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster \
    -r "redis://127.0.0.1:$SEED" --workers 2 --concurrency 8 \
    --queue "$Q" --queue "$QC"

# ---- load: batches of 100 into each queue until told to stop -----------------
: >"$E2E_WORK/enqueued.txt"
: >"$E2E_WORK/refused.log"
producer()
{
    local b=0 q rc f
    while [ ! -e "$E2E_WORK/stop-producer" ] && [ "$b" -lt 400 ]; do
        b=$((b + 1))
        for q in "$Q" "$QC"; do
            f=$E2E_WORK/batch-$q-$b
            awk -v q="$q" -v b="$b" 'BEGIN { for (i = 1; i <= 100; i++)
                printf "{\"job\":\"record\",\"v\":1,\"payload\":{},\"id\":\"m-%s-%d-%d\"}\n", q, b, i }' >"$f.in"
            rc=0
            J enqueue "$q" <"$f.in" >"$f.out" 2>"$f.err" || rc=$?
            if [ "$rc" = 0 ]; then
                cat "$f.out" >>"$E2E_WORK/enqueued.txt"
            else
                echo "batch $b of $q: exit $rc: $(head -1 "$f.err")" >>"$E2E_WORK/refused.log"
            fi
        done
        echo "$b" >"$E2E_WORK/batches-done"
    done
}
producer &
PRODUCER=$!
wait_for "20 batches before the reshard" 60 eval \
    "[ \"\$(cat '$E2E_WORK/batches-done' 2>/dev/null || echo 0)\" -ge 20 ]"
# the slot holds the stream and one outcome record per job run: many keys
log "keys in slot $SLOT on A before the reshard: $(ccli "$A" CLUSTER COUNTKEYSINSLOT "$SLOT")"

# ---- the reshard, under load ------------------------------------------------------
t0=$(now_ms)
redis-cli --cluster reshard "127.0.0.1:$A" \
    --cluster-from "$(ccli "$A" CLUSTER MYID)" \
    --cluster-to "$(ccli "$B" CLUSTER MYID)" \
    --cluster-slots "$NMOVE" --cluster-yes --cluster-pipeline 10 \
    >"$E2E_WORK/reshard.log" 2>&1 ||
    fail "redis-cli --cluster reshard failed: $(tail -5 "$E2E_WORK/reshard.log")"
log "reshard of $NMOVE slot(s) took $(($(now_ms) - t0)) ms"
assert_eq "$B" "$(cluster_slot_primary "$SLOT" "$SEED")" "the primary serving $Q's slot"
assert_eq 0 "$(ccli "$A" CLUSTER COUNTKEYSINSLOT "$SLOT")" "keys of $Q's slot left on A"
b_at=$(cat "$E2E_WORK/batches-done")
wait_for "20 batches after the reshard" 60 eval \
    "[ \"\$(cat '$E2E_WORK/batches-done')\" -ge $((b_at + 20)) ]"
touch "$E2E_WORK/stop-producer"
rc=0
wait "$PRODUCER" || rc=$?
PRODUCER=
assert_eq 0 "$rc" "producer exit code"
if [ -s "$E2E_WORK/refused.log" ]; then
    fail "enqueues refused during the reshard (the CLI should follow ASK and TRYAGAIN): $(head -3 "$E2E_WORK/refused.log" | tr '\n' ';')"
fi
N=$(wc -l <"$E2E_WORK/enqueued.txt")
sort -u "$E2E_WORK/enqueued.txt" >"$E2E_WORK/enqueued.sorted"
assert_eq "$N" "$(wc -l <"$E2E_WORK/enqueued.sorted")" "distinct ids enqueued"
all_ran() {
    worker_alive w1 || return 2
    [ -z "$(sort -u "$JOBRT_TESTKIT_RECORD" |
        comm -23 "$E2E_WORK/enqueued.sorted" - | head -1)" ]
}
wait_for "all $N jobs to run" 90 all_ran
repeats=$(sort "$JOBRT_TESTKIT_RECORD" | uniq -d | wc -l)
log "$N jobs enqueued over $(cat "$E2E_WORK/batches-done") batches, all ran; $repeats ran more than once"
assert_eq 0 "$(ccli "$B" XLEN "$NS:{$Q}:dlq")" "dead letters of $Q"
assert_eq 0 "$(ccli "$XP" XLEN "$NS:{$QC}:dlq")" "dead letters of $QC"
# the worker followed the slot: a MOVED to B, said once per connection,
# and each connection back up on B
grep -q "slot $SLOT moved to 127.0.0.1:$B (MOVED); reconnecting" "$(worker_log w1)" ||
    fail "w1 never said it followed slot $SLOT to $B: $(grep -c "slot $SLOT" "$(worker_log w1)") line(s) about the slot"
grep -q "connection to .* restored on 127.0.0.1:$B after" "$(worker_log w1)" ||
    fail "w1 never said a connection was restored on $B"
# the CLI reads the job where it is now
last=$(tail -1 "$E2E_WORK/batch-$Q-$(cat "$E2E_WORK/batches-done").out")
wait_for "$last to be succeeded (jobrt status --cluster)" 15 eval \
    "J status '$last' -q '$Q' 2>/dev/null | grep -q '\"status\":\"succeeded\"'"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"
pass
