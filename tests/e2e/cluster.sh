#!/usr/bin/env bash
# cluster.sh - --cluster (docs/redis.md, "Redis Cluster") against a real
# Redis Cluster on loopback: 3 primaries, 1 replica each
# (tests/support/redis_cluster.sh). Six queues, two on each shard, get
# 20 000 `record` jobs from `jobrt enqueue --cluster` (NDJSON on stdin);
# two workers drain them: w1 (a supervisor over 2 worker processes, given
# a replica as its --redis node) serves the four queues of the shards A
# and X, w2 (one process, given shard A's primary) the four of the shards
# B and X, where X is the shard that holds the queue index jobrt:queues.
# Every job ran (the testkit's record file: each of the 20 000 ids, the
# repeats counted) and has a succeeded outcome record on its queue's
# primary and on no other; every queue's group has lag 0 and nothing
# pending, delayed or dead. Each worker holds connections to the
# primaries it needs and to no other node: per queue a reader and a
# writer to the queue's primary, and the queue index's connection (CLIENT
# LIST on every node, matched to the worker's own sockets). Then the CLI
# against the cluster: stats, workers, status, dlq list, pause and resume,
# and a single-job enqueue; a per-second schedule, a fleet limit and a
# parked job. Last, ACL users (docs/redis-security.md): the
# documented producer and worker rules with their cluster addition work,
# and a producer without it gets a clear error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../support/redis_cluster.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
trap 'rc=$?; trap - ERR; e2e_kill_workers; cluster_stop; (exit $rc);
    e2e_cleanup' EXIT
N=20000
NS=jobrt # DEFAULT_NAMESPACE (runtime/cli/commands.h)

cluster_start 3 1 2000
cluster_pick_queues cq 2
XP=$(cluster_key_primary "$NS:queues") # the queue index's primary
others=()
for p in "${CLUSTER_PRIMARIES[@]}"; do [ "$p" = "$XP" ] || others+=("$p"); done
PA=${others[0]} PB=${others[1]}
read -r -a QX <<<"$(cluster_queues_on "$XP")"
read -r -a QA <<<"$(cluster_queues_on "$PA")"
read -r -a QB <<<"$(cluster_queues_on "$PB")"
QUEUES=("${CLUSTER_QUEUES[@]}")
assert_eq 6 "${#QUEUES[@]}" "queues picked"
for q in "${QUEUES[@]}"; do
    log "queue $q: slot ${CLUSTER_QUEUE_SLOT[$q]}, primary ${CLUSTER_QUEUE_PORT[$q]}"
done
log "queue index $NS:queues on $XP; shard A $PA (${QA[*]}), B $PB (${QB[*]}), X $XP (${QX[*]})"
cluster_describe

SEED=${CLUSTER_PORTS[0]}
J() { "$JOBRT_BIN" "$@" --cluster -r "redis://127.0.0.1:$SEED"; }

# ---- usage: what --cluster refuses --------------------------------------------
assert_exit 2 "--cluster with a unix:// URL" "$JOBRT_BIN" stats --cluster \
    -r "unix://$E2E_WORK/none.sock"
assert_contains "$ERR" "--cluster does not go with" "its line"
assert_exit 2 "--cluster with db 1" "$JOBRT_BIN" stats --cluster \
    -r "redis://127.0.0.1:$SEED/1"
assert_exit 2 "--cluster with --sentinel" "$JOBRT_BIN" stats --cluster \
    --sentinel "127.0.0.1:$SEED" --master-name m -r "redis://127.0.0.1"
assert_exit 0 "stats --cluster on an empty cluster" J stats

# ---- 20 000 jobs, NDJSON, one enqueue per queue, all at once ------------------
per=$((N / 6)) extra=$((N % 6)) i=0 t0=$(now_ms)
declare -A NQ=()
pids=()
for q in "${QUEUES[@]}"; do
    n=$per
    [ "$i" -lt "$extra" ] && n=$((per + 1))
    NQ[$q]=$n
    i=$((i + 1))
    awk -v q="$q" -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"job\":\"record\",\"v\":1,\"payload\":{},\"id\":\"c-%s-%d\"}\n", q, i }' \
        >"$E2E_WORK/jobs-$q.ndjson"
    awk -v q="$q" -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
        printf "c-%s-%d\n", q, i }' >>"$E2E_WORK/all-ids.txt"
    J enqueue "$q" <"$E2E_WORK/jobs-$q.ndjson" >"$E2E_WORK/enq-$q.out" \
        2>"$E2E_WORK/enq-$q.err" &
    pids+=($!)
done
sort -o "$E2E_WORK/all-ids.txt" "$E2E_WORK/all-ids.txt"
assert_eq "$N" "$(wc -l <"$E2E_WORK/all-ids.txt")" "job ids written"
i=0
for q in "${QUEUES[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    i=$((i + 1))
    [ "$rc" = 0 ] || fail "jobrt enqueue --cluster $q exited $rc: $(head -5 "$E2E_WORK/enq-$q.err")"
    assert_eq "${NQ[$q]}" "$(wc -l <"$E2E_WORK/enq-$q.out")" "ids printed by the enqueue on $q"
done
log "enqueued $N jobs over 6 queues in $(($(now_ms) - t0)) ms"
# a plain --redis at a cluster node: a queue on another shard is refused
# with the redirection named; --cluster reads it (below)
qo=${QB[0]}
run_cmd "$JOBRT_BIN" status "c-$qo-1" -q "$qo" -r "redis://127.0.0.1:$XP"
assert_ne 0 "$RC" "status without --cluster of a queue on another shard"
assert_contains "$ERR" "MOVED" "the refusal names the redirection"
# each queue's stream is whole on the primary that serves its slot
for q in "${QUEUES[@]}"; do
    assert_eq "${NQ[$q]}" "$(ccli "${CLUSTER_QUEUE_PORT[$q]}" XLEN "$NS:{$q}:stream")" \
        "entries of $q on its primary ${CLUSTER_QUEUE_PORT[$q]}"
done

# ---- two workers ---------------------------------------------------------------
export JOBRT_TESTKIT_RECORD=$E2E_WORK/record.log
: >"$JOBRT_TESTKIT_RECORD"
REPLICA_SEED=$(cluster_replicas_of "$PB" | awk '{print $1}')
[ -n "$REPLICA_SEED" ] || fail "shard B has no replica in sync"
qargs() { local q; for q in "$@"; do printf -- '--queue\n%s\n' "$q"; done; }
mapfile -t W1Q < <(qargs "${QA[@]}" "${QX[@]}")
mapfile -t W2Q < <(qargs "${QB[@]}" "${QX[@]}")
t0=$(now_ms)
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster \
    -r "redis://127.0.0.1:$REPLICA_SEED" --workers 2 --concurrency 8 \
    "${W1Q[@]}"
start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster \
    -r "redis://127.0.0.1:$PA" --workers 0 --concurrency 8 "${W2Q[@]}"
runs() { wc -l <"$JOBRT_TESTKIT_RECORD"; }
all_ran() {
    worker_alive w1 && worker_alive w2 || return 2
    [ "$(runs)" -ge "$N" ] &&
        [ "$(sort -u "$JOBRT_TESTKIT_RECORD" | wc -l)" = "$N" ]
}
deadline=$(($(now_ms) + 90000)) last=0
until all_ran; do
    worker_alive w1 || fail "w1 exited"
    worker_alive w2 || fail "w2 exited"
    if [ "$(now_ms)" -ge "$deadline" ]; then
        fail "timed out after 90 s: $(sort -u "$JOBRT_TESTKIT_RECORD" | wc -l) of $N jobs ran"
    fi
    if [ $(($(now_ms) - last)) -ge 5000 ]; then
        last=$(now_ms)
        log "$(runs) runs so far"
    fi
    sleep 0.1
done
ms=$(($(now_ms) - t0))
log "all $N jobs ran in $ms ms ($((N * 1000 / (ms > 0 ? ms : 1))) jobs/s)"

# ---- every job ran, and has its record on its queue's primary only ---------------
# the group of each queue: nothing left to read (lag 0), nothing pending,
# nothing delayed, nothing dead; read on the primary that serves it
group_field() { # PORT QUEUE FIELD: from XINFO GROUPS, group jobrt
    ccli "$1" XINFO GROUPS "$NS:{$2}:stream" 2>/dev/null | awk -v f="$3" '
        prev == "name" { g = $0 } $0 == f && g == "jobrt" { want = 1; prev = $0; next }
        want { print; exit } { prev = $0 }'
}
queue_drained() { # QUEUE
    local p=${CLUSTER_QUEUE_PORT[$1]}
    [ "$(group_field "$p" "$1" lag)" = 0 ] &&
        [ "$(group_field "$p" "$1" pending)" = 0 ] &&
        [ "$(ccli "$p" ZCARD "$NS:{$1}:delayed")" = 0 ]
}
for q in "${QUEUES[@]}"; do
    wait_for "queue $q to be drained (lag 0, nothing pending or delayed)" 20 \
        queue_drained "$q"
    assert_eq 0 "$(ccli "${CLUSTER_QUEUE_PORT[$q]}" XLEN "$NS:{$q}:dlq")" \
        "dead letters of $q"
done
runs_total=$(runs)
repeats=$(sort "$JOBRT_TESTKIT_RECORD" | uniq -d | wc -l)
assert_eq 0 "$repeats" "jobs that ran more than once (no failure, no restart)"
sort -u "$JOBRT_TESTKIT_RECORD" >"$E2E_WORK/ran-ids.txt"
cmp -s "$E2E_WORK/all-ids.txt" "$E2E_WORK/ran-ids.txt" ||
    fail "the ids that ran are not the ids enqueued: $(comm -3 \
        "$E2E_WORK/all-ids.txt" "$E2E_WORK/ran-ids.txt" | head -5 | tr '\n' ' ')"
log "$N jobs, $runs_total runs: $repeats job(s) ran more than once"
# the outcome records: on every primary, each queue's records of our ids
# and how many say succeeded (a record is one key per job id, so this
# counts jobs, not runs); the queue's own primary must hold all of them
records() { # PORT QUEUE -> "records succeeded"
    ccli "$1" EVAL "$RECORDS_LUA local n, ok = 0, 0
        for _, r in pairs(records(ARGV[1], ARGV[2])) do
            n = n + 1
            if r.status == 'succeeded' then ok = ok + 1 end
        end
        return {n, ok}" 0 "$NS:{$2}:" "c-$2-" | tr '\n' ' ' | sed 's/ $//'
}
total=0
for q in "${QUEUES[@]}"; do
    for p in "${CLUSTER_PRIMARIES[@]}"; do
        read -r n ok <<<"$(records "$p" "$q")"
        if [ "$p" = "${CLUSTER_QUEUE_PORT[$q]}" ]; then
            assert_eq "${NQ[$q]}" "$n" "outcome records of $q on its primary $p"
            assert_eq "${NQ[$q]}" "$ok" "succeeded records of $q"
            total=$((total + ok))
        else
            assert_eq 0 "$n" "records of $q on primary $p, which does not serve it"
        fi
    done
done
assert_eq "$N" "$total" "succeeded outcome records over the cluster"
# the same count with SCAN on every node: the primaries' sum is N, and
# each replica has its primary's (so nothing was written past the cluster)
# (the records in every record bucket on a node; READONLY for a replica)
scan_count() {
    local k keys
    keys=$(ccli "$1" --scan --pattern "$NS:{*}:done:*" | grep -v ':builds$')
    { echo READONLY; for k in $keys; do echo "HLEN $k"; done; } |
        ccli "$1" | tail -n +2 | awk '{ s += $1 } END { print s + 0 }'
}
sum=0
for p in "${CLUSTER_PRIMARIES[@]}"; do
    n=$(scan_count "$p")
    sum=$((sum + n))
    for r in $(cluster_replicas_of "$p"); do
        wait_for "replica $r to have primary $p's $n records" 10 eval \
            "[ \"\$(scan_count $r)\" = $n ]"
    done
done
assert_eq "$N" "$sum" "job records found by SCAN over the primaries"
# a sample through the CLI: the first and last job of each queue
for q in "${QUEUES[@]}"; do
    for id in "c-$q-1" "c-$q-${NQ[$q]}"; do
        assert_exit 0 "jobrt status --cluster $id" J status "$id" -q "$q"
        assert_eq succeeded "$(json_get "$OUT" status)" "status of $id"
        assert_eq "$q" "$(json_get "$OUT" queue)" "queue of $id"
    done
done

# ---- the workers' connections ----------------------------------------------------
# worker_conns ROOT_PID: one line per connection of the worker (ROOT_PID
# and its descendants) to a cluster node, "NODE_PORT LOCAL_PORT AGE_S
# NAME", as the node's CLIENT LIST shows it, matched to the worker's own
# established sockets (/proc/PID/fd, /proc/net/tcp); NAME is "-" unset
worker_conns()
{
    "$E2E_PY" - "$1" "${CLUSTER_PORTS[@]}" <<'PY'
import os, re, subprocess, sys
root, nodes = int(sys.argv[1]), set(int(p) for p in sys.argv[2:])
parent = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        parent[int(d)] = int(st.rsplit(")", 1)[1].split()[1])
tree, grew = {root}, True
while grew:
    grew = False
    for p, pp in parent.items():
        if pp in tree and p not in tree:
            tree.add(p); grew = True
inodes = set()
for p in tree:
    try:
        for fd in os.listdir("/proc/%d/fd" % p):
            try:
                m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (p, fd)))
            except OSError:
                continue
            if m:
                inodes.add(m.group(1))
    except OSError:
        pass
mine = set()  # (node port, local port)
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for ln in lines:
        x = ln.split()
        if x[3] != "01" or x[9] not in inodes:
            continue
        lp, rp = int(x[1].split(":")[1], 16), int(x[2].split(":")[1], 16)
        if rp in nodes:
            mine.add((rp, lp))
for node in sorted(nodes):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(node),
                          "CLIENT", "LIST"], capture_output=True, text=True).stdout
    for ln in out.splitlines():
        f = dict(kv.split("=", 1) for kv in ln.split() if "=" in kv)
        lp = int(f.get("addr", ":0").rsplit(":", 1)[1])
        if (node, lp) in mine:
            print(node, lp, f.get("age", "?"), f.get("name") or "-")
PY
}
# held PORTS: the nodes with a connection of the worker that is at least a
# second old (a connection made to ask CLUSTER SLOTS lives for one answer)
check_conns() # NAME EXPECTED_PORTS...
{
    local name=$1 conns held transient p n want
    shift
    conns=$(worker_conns "$(worker_pid "$name")")
    held=$(awk '$3 >= 1' <<<"$conns")
    transient=$(awk '$3 < 1' <<<"$conns" | grep -c . || true)
    log "$name's connections (node local-port age name): $(tr '\n' ';' <<<"$conns")"
    [ "$transient" = 0 ] || log "$name: $transient connection(s) under a second old (discovery?)"
    log "$name holds: $(awk '{print $1}' <<<"$held" | sort | uniq -c | tr '\n' ' ')(names: $(awk '{print $4}' <<<"$conns" | sort -u | tr '\n' ' '))"
    for p in "${CLUSTER_PORTS[@]}"; do
        n=$(awk -v p="$p" '$1 == p' <<<"$held" | grep -c . || true)
        want=0
        case " $* " in *" $p "*) want=1 ;; esac
        if [ "$want" = 1 ]; then
            [ "$n" -ge 1 ] || fail "$name holds no connection to primary $p, which serves its queues"
        else
            [ "$n" = 0 ] || fail "$name holds $n connection(s) to node $p ($(cluster_map | awk -v p="$p" '$2 == p' | grep -q . && echo "a primary it needs not" || echo "not a primary it needs: a replica?")): $(awk -v p="$p" '$1 == p' <<<"$held" | tr '\n' ';')"
        fi
    done
}
check_conns w1 "$PA" "$XP"
check_conns w2 "$PB" "$XP"
# w2 is one process: per queue a reader and a writer to the queue's
# primary, and one connection to the queue index's primary (docs/redis.md,
# "Connections")
conns=$(worker_conns "$(worker_pid w2)" | awk '$3 >= 1')
assert_eq $((2 * ${#QB[@]})) "$(awk -v p="$PB" '$1 == p' <<<"$conns" | grep -c .)" \
    "w2's connections to $PB (a reader and a writer for each of ${QB[*]})"
assert_eq $((2 * ${#QX[@]} + 1)) "$(awk -v p="$XP" '$1 == p' <<<"$conns" | grep -c .)" \
    "w2's connections to $XP (a reader and a writer for each of ${QX[*]}, and the queue index's)"

# ---- the CLI against the cluster ---------------------------------------------------
# jobrt stats: every queue (from the index, on $XP; each queue's row from
# its own primary)
assert_exit 0 "jobrt stats --cluster" J stats
for q in "${QUEUES[@]}"; do
    assert_contains "$OUT" "$q" "stats lists $q"
done
assert_exit 0 "jobrt stats --cluster --json" J stats --json
printf '%s' "$OUT" >"$E2E_WORK/stats.json"
"$E2E_PY" - "$E2E_WORK/stats.json" "${QUEUES[@]}" <<'PY' || fail "jobrt stats --cluster --json: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["queue"]: r for r in doc["queues"]}
bad = []
for q in sys.argv[2:]:
    r = rows.get(q)
    if r is None:
        bad.append("%s missing" % q); continue
    for k in ("waiting", "delayed", "parked", "running", "pending", "dlq"):
        if r.get(k) != 0:
            bad.append("%s: %s is %r" % (q, k, r.get(k)))
    if not r.get("live_workers"):
        bad.append("%s: no live worker" % q)
if bad:
    print("stats: " + "; ".join(bad), file=sys.stderr); sys.exit(1)
PY
# jobrt workers: each queue lists the processes of the workers serving it
assert_exit 0 "jobrt workers --cluster" J workers
assert_contains "$OUT" "${QX[0]}" "workers lists ${QX[0]}"
assert_exit 0 "jobrt workers --cluster --json" J workers --json
printf '%s' "$OUT" >"$E2E_WORK/workers.json"
tree_of() { "$E2E_PY" -c 'import os, sys
root = int(sys.argv[1]); par = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try: par[int(d)] = int(open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[1])
        except OSError: pass
t = {root}; g = True
while g:
    g = False
    for p, pp in par.items():
        if pp in t and p not in t: t.add(p); g = True
print(" ".join(map(str, sorted(t))))' "$1"; }
W1T=$(tree_of "$(worker_pid w1)") W2T=$(tree_of "$(worker_pid w2)")
"$E2E_PY" - "$E2E_WORK/workers.json" "$W1T" "$W2T" "${QA[*]}" "${QB[*]}" \
    "${QX[*]}" <<'PY' || fail "jobrt workers --cluster --json: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
w1, w2 = set(map(int, sys.argv[2].split())), set(map(int, sys.argv[3].split()))
qa, qb, qx = sys.argv[4].split(), sys.argv[5].split(), sys.argv[6].split()
want = {}
for q in qa: want[q] = {"w1"}
for q in qb: want[q] = {"w2"}
for q in qx: want[q] = {"w1", "w2"}
got = {q["queue"]: q for q in doc["queues"]}
bad = []
for q, who in want.items():
    if q not in got:
        bad.append("%s missing" % q); continue
    seen = set()
    for w in got[q]["workers"]:
        pid = (w.get("record") or {}).get("pid")
        if pid in w1: seen.add("w1")
        elif pid in w2: seen.add("w2")
        else: bad.append("%s: a worker of pid %r that is neither w1 nor w2" % (q, pid))
    if seen != who:
        bad.append("%s: served by %s, expected %s" % (q, sorted(seen), sorted(who)))
if bad:
    print("workers: " + "; ".join(bad), file=sys.stderr); sys.exit(1)
PY

# jobrt dlq list: a job that fails, on shard B's queue
QD=${QB[0]}
assert_exit 0 "enqueue --cluster a failing job" J enqueue "$QD" fail -v 1 \
    --payload '{}' --id f-1
assert_eq f-1 "$OUT" "the id printed"
cjob() { J status "$2" -q "$1" 2>/dev/null | grep -q "\"status\":\"$3\""; }
wait_for "f-1 to be dead" 15 cjob "$QD" f-1 dead
assert_exit 0 "jobrt dlq list --cluster" J dlq list -q "$QD"
assert_contains "$OUT" "f-1" "dlq list shows f-1"
assert_contains "$OUT" "permanent_failure" "its reason"
assert_exit 0 "jobrt dlq list --cluster on ${QA[0]}" J dlq list -q "${QA[0]}"
assert_not_contains "$OUT" "f-1" "another queue's dead letters"

# jobrt pause / resume: ${QA[0]} (served by w1 alone) is paused; w1 still
# runs a job of ${QX[0]}, and the paused queue's job waits until resume
QP=${QA[0]}
assert_exit 0 "jobrt pause --cluster" J pause "$QP" --reason "cluster test"
# both of w1's worker processes say so (each reads the pause itself)
wait_for "w1's two processes to see the pause" 10 eval \
    "[ \"\$(grep -c 'queue $QP is paused' '$(worker_log w1)')\" -ge 2 ]"
assert_exit 0 "jobrt stats --cluster, paused" J stats
assert_contains "$OUT" "$QP: PAUSED" "stats shows the pause"
assert_exit 0 "enqueue --cluster on the paused queue" J enqueue "$QP" ok -v 1 \
    --payload '{}' --id p-1
assert_eq p-1 "$OUT" "the id printed"
assert_exit 0 "enqueue --cluster beside it" J enqueue "${QX[0]}" ok -v 1 \
    --payload '{}' --id o-1
wait_for "o-1 to succeed while $QP is paused" 10 cjob "${QX[0]}" o-1 succeeded
assert_exit 0 "jobrt status --cluster p-1" J status p-1 -q "$QP"
assert_not_contains "$OUT" "\"status\":\"succeeded\"" "p-1 while paused"
assert_contains "$OUT" "is queued in queue $QP" "p-1 is queued"
assert_exit 0 "jobrt resume --cluster" J resume "$QP"
wait_for "p-1 to succeed after the resume" 10 cjob "$QP" p-1 succeeded
log "stats: $(J stats | tr -s ' ' | tr '\n' ';')"

# ---- schedules, limits and parking on a cluster -----------------------------------
# a per-second schedule on a queue of shard B (fired by w2), listed with
# the queue index's help; a fleet limit listed the same way; a job of a
# version no worker serves parked on its queue's primary
QS=${QB[0]}
assert_exit 0 "schedule add --cluster" J schedule add tick "$QS" ok \
    --cron '* * * * * *' -v 1 --payload '{}'
fired() { J schedule list --json 2>/dev/null | "$E2E_PY" -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == "tick"]
sys.exit(0 if rows and rows[0]["fired"] >= 2 else 1)'; }
wait_for "schedule tick on $QS to fire twice" 15 fired
assert_exit 0 "schedule remove --cluster" J schedule remove tick -q "$QS"
assert_exit 0 "limit set --cluster" J limit set "${QA[0]}" ok --concurrency 3
assert_exit 0 "limit list --cluster" J limit list
assert_contains "$OUT" "${QA[0]}" "limit list shows the queue of shard A"
assert_exit 0 "enqueue under the limit" J enqueue "${QA[0]}" ok -v 1 --payload '{}' --id lim-1
wait_for "lim-1 to succeed under the limit" 10 cjob "${QA[0]}" lim-1 succeeded
assert_exit 0 "limit clear --cluster" J limit clear "${QA[0]}" ok
assert_exit 0 "enqueue ok v9 (served by no worker)" J enqueue "$QS" ok -v 9 \
    --payload '{}' --id park-1
wait_for "park-1 to be parked" 10 eval \
    "J status park-1 -q '$QS' 2>/dev/null | grep -q parked"

# ---- ACL users on a cluster: the documented rules plus the cluster part -------------
# docs/redis-security.md: the worker and producer rules, with --cluster
# "+cluster|slots +asking" added, set on every node (a cluster does not
# share ACL users between nodes); a producer without the addition gets
# one clear line
DOC="$JOBRT_SOURCE_DIR/docs/redis-security.md"
grep -q '`+cluster|slots +asking`' "$DOC" || fail "$DOC does not name the cluster addition"
for u in worker producer; do
    rule=$(grep -E "^ACL SETUSER jobrt-$u " "$DOC") || fail "$DOC has no jobrt-$u rule"
    rule=${rule//CHANGE-ME-$u/pw-$u}
    for p in "${CLUSTER_PORTS[@]}"; do
        # shellcheck disable=SC2086 # the rule is words, as redis-cli takes it
        assert_eq OK "$(ccli "$p" ${rule} +cluster\|slots +asking)" "jobrt-$u on node $p"
    done
done
plain=$(grep -E "^ACL SETUSER jobrt-producer " "$DOC")
plain=${plain//jobrt-producer/jobrt-plain}
plain=${plain//CHANGE-ME-producer/pw-plain}
for p in "${CLUSTER_PORTS[@]}"; do
    # shellcheck disable=SC2086
    assert_eq OK "$(ccli "$p" ${plain})" "jobrt-plain on node $p"
done
QACL=${QB[0]}
assert_exit 0 "enqueue --cluster as jobrt-producer" "$JOBRT_BIN" enqueue "$QACL" \
    ok -v 1 --payload '{}' --id acl-1 --cluster \
    -r "redis://jobrt-producer:pw-producer@127.0.0.1:$SEED"
wait_for "acl-1 to succeed (w2 serves $QACL)" 10 cjob "$QACL" acl-1 succeeded
assert_exit 0 "status --cluster as jobrt-producer" "$JOBRT_BIN" status acl-1 \
    -q "$QACL" --cluster -r "redis://jobrt-producer:pw-producer@127.0.0.1:$SEED"
assert_contains "$OUT" '"status":"succeeded"' "acl-1 read as jobrt-producer"
run_cmd "$JOBRT_BIN" enqueue "$QACL" ok -v 1 --payload '{}' --id acl-2 --cluster \
    -r "redis://jobrt-plain:pw-plain@127.0.0.1:$SEED"
assert_ne 0 "$RC" "enqueue --cluster as a user without +cluster|slots"
assert_contains "$ERR" "CLUSTER" "the refusal names the command"
log "without +cluster|slots: $(head -1 <<<"$ERR")"
# a worker as jobrt-worker on a queue no other worker serves
QW=aclq
assert_exit 0 "enqueue acl-3" J enqueue "$QW" ok -v 1 --payload '{}' --id acl-3
start_worker w3 --plugin-dir "$JOBRT_TESTKIT_DIR" --cluster --workers 0 \
    -r "redis://jobrt-worker:pw-worker@127.0.0.1:$SEED" --queue "$QW"
wait_for "acl-3 to succeed" 10 cjob "$QW" acl-3 succeeded
grep -q "NOPERM" "$(worker_log w3)" && fail "w3: $(grep NOPERM "$(worker_log w3)" | head -1)"
stop_worker w3
assert_eq 0 "$WORKER_RC" "w3 (jobrt-worker) exit code"

stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"
stop_worker w2
assert_eq 0 "$WORKER_RC" "w2 exit code"
grep -n "ERROR\|FATAL" "$(worker_log w1)" "$(worker_log w2)" |
    head -5 >&2 || true
pass
