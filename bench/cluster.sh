#!/usr/bin/env bash
# bench/cluster.sh - the cluster row of ./scripts/bench (--part cluster):
# drain throughput and Redis CPU per job on a Redis Cluster of 1 primary
# (one node holding all 16384 slots) and of 3 primaries (redis-cli
# --cluster create), no replicas, on this machine's loopback. Six queues
# (two per shard on 3 primaries; the same names on 1) get JOBS jobs in
# all, enqueued outside the clock; one `jobrt run --cluster --workers 2`
# serving all six drains them. The clock runs from the first job taken to
# every queue's group having nothing undelivered or pending (polled with
# redis-cli, so to about 20 ms). Redis CPU is
# the sum of every node's used_cpu_sys + used_cpu_user over the drain;
# the busiest node's share says how evenly the work spread. Workloads:
# no-op jobs with results kept (the default), no-op with --result-ttl 0,
# and the ~1 KiB invoice JSON job (bench_json) with results kept. Then
# what --wait-replicas 1 costs: one primary and one replica (no cluster),
# an enqueue and a one-process drain of the same jobs with and without it.
#
# Usage: bench/cluster.sh --build DIR [--jobs N] [--rounds N] [--quick]
#                         [--out FILE]
# Needs redis-server 7 with cluster support and the jobrt, noop and
# bench_json targets built in DIR. Prints a table; raw rounds go to FILE
# (default bench/.peers/last-cluster.json). On 2 cores, 3 primaries and
# the worker share the cores, so the 3-primary figure here is bounded by
# the machine, not by Redis: docs/scaling.md turns the per-job Redis CPU
# into a capacity model.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

build="" jobs=120000 rounds=3 out=bench/.peers/last-cluster.json
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --quick) jobs=24000; rounds=1; shift ;;
        --no-sweep) shift ;; # scripts/bench passes it to every part
        --out) out=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/cluster.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$build" ] || { echo "bench/cluster.sh: --build DIR is required" >&2; exit 2; }
build=$(cd "$build" && pwd)
JOBRT=$build/jobrt
for f in "$JOBRT" "$build/plugins/noop.so" "$build/bench/plugins/bench_json.so"; do
    [ -e "$f" ] || { echo "bench/cluster.sh: $f is missing (build the jobrt, noop and bench_json targets)" >&2; exit 1; }
done

# what tests/support/redis_cluster.sh expects of its caller (tests/e2e/lib.sh
# in the tests)
E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobrt-bench-cluster.XXXXXX")
E2E_PY=python3
log() { printf '[cluster] %s\n' "$*" >&2; }
fail() { echo "bench/cluster.sh: $*" >&2; exit 1; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ -e "/proc/$1" ] &&
    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for() { # WHAT TIMEOUT_S CMD...
    local what=$1 t=$2 deadline
    shift 2
    deadline=$(($(now_ms) + t * 1000))
    until "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 0.05
    done
}
. "$ROOT/tests/support/redis_cluster.sh"
WORKER=""
cleanup() {
    [ -n "$WORKER" ] && kill "$WORKER" 2>/dev/null && wait "$WORKER" 2>/dev/null
    cluster_stop || true
    rm -rf "$E2E_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# one primary holding every slot (redis-cli --cluster create wants 3)
cluster_start_one()
{
    CLUSTER_NODE_TIMEOUT=2000 CLUSTER_N_PRIMARIES=1 CLUSTER_N_REPLICAS=0
    read -r -a CLUSTER_PORTS <<<"$(cluster_free_ports 1)"
    cluster_start_node "${CLUSTER_PORTS[0]}"
    ccli "${CLUSTER_PORTS[0]}" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
    cluster_wait_ready 30 0
}

node_cpu_us() { # PORT: used_cpu_sys + used_cpu_user, in microseconds
    ccli "$1" INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 }
        END { printf "%.0f\n", s * 1e6 }'
}
queue_left() { # QUEUE PORT: undelivered + pending of the group
    ccli "$2" XINFO GROUPS "jobrt:{$1}:stream" 2>/dev/null | awk '
        prev == "name" { g = $0 } $0 == "pending" && g == "jobrt" { w = "p"; prev = $0; next }
        $0 == "lag" && g == "jobrt" { w = "l"; prev = $0; next }
        w == "p" { p = $0; w = "" } w == "l" { l = ($0 == "" ? 1e9 : $0); w = "" }
        { prev = $0 } END { if (p == "" || l == "") print 1e9; else print p + l }'
}

make_input() { # KIND N FILE
    "$E2E_PY" - "$1" "$2" >"$3" <<'PY'
import json, sys
kind, n = sys.argv[1], int(sys.argv[2])
def invoice(i):  # the ~1 KiB invoice of bench/common.js
    return {"invoice_id": "INV-%08d" % i,
            "customer": {"id": "C-%d" % (i % 977), "name": "ACME Widgets GmbH", "country": "DE"},
            "currency": "EUR", "tax_rate": 0.19,
            "items": [{"sku": "SKU-%d" % (1000 + k), "qty": 1 + (i + k) % 5,
                       "unit_cents": 199 + k * 37} for k in range(20)]}
job = {"noop": "noop", "json": "bench_json"}[kind]
out = sys.stdout
for i in range(n):
    out.write(json.dumps({"job": job, "v": 1,
                          "payload": invoice(i) if kind == "json" else {}},
                         separators=(",", ":")) + "\n")
PY
}

results=() # "masters workload jobs_s redis_us busiest_share"
one_drain() { # MASTERS WORKLOAD
    local masters=$1 wl=$2 q p per=$((jobs / 6)) pids=() cpu0=0 cpu1=0 t0 t1 seed
    local -A cpu_a=()
    seed=${CLUSTER_PORTS[0]}
    for p in "${CLUSTER_PRIMARIES[@]}"; do ccli "$p" FLUSHALL >/dev/null; done
    local kind=noop
    [ "$wl" = json ] && kind=json
    [ -s "$E2E_WORK/in-$kind" ] || make_input "$kind" "$per" "$E2E_WORK/in-$kind"
    for q in "${QUEUES[@]}"; do
        "$JOBRT" enqueue "$q" --cluster -r "redis://127.0.0.1:$seed" \
            <"$E2E_WORK/in-$kind" >/dev/null 2>"$E2E_WORK/enq-$q.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fail "jobrt enqueue failed: $(cat "$E2E_WORK"/enq-*.err | head -3)"; done
    local args=(run --cluster -r "redis://127.0.0.1:$seed" --workers 2
        --concurrency 256 --plugin-dir "$E2E_WORK/plugins")
    [ "$wl" = noop-ttl0 ] && args+=(--result-ttl 0)
    for q in "${QUEUES[@]}"; do args+=(--queue "$q"); done
    for p in "${CLUSTER_PRIMARIES[@]}"; do cpu_a[$p]=$(node_cpu_us "$p"); done
    local started left n=$((per * 6))
    started=$(now_ms)
    "$JOBRT" "${args[@]}" 2>"$E2E_WORK/worker.log" &
    WORKER=$!
    # the clock starts at the first job taken (the worker's start-up and
    # plugin loading are not the drain)
    while :; do
        left=0
        for q in "${QUEUES[@]}"; do
            left=$((left + $(queue_left "$q" "${QPORT[$q]}")))
        done
        [ "$left" -lt "$n" ] && break
        pid_alive "$WORKER" || fail "jobrt run exited: $(tail -3 "$E2E_WORK/worker.log")"
        [ $(($(now_ms) - started)) -lt 30000 ] || fail "no job taken in 30 s"
        sleep 0.005
    done
    t0=$(now_ms)
    while :; do
        left=0
        for q in "${QUEUES[@]}"; do
            left=$((left + $(queue_left "$q" "${QPORT[$q]}")))
        done
        [ "$left" = 0 ] && break
        pid_alive "$WORKER" || fail "jobrt run exited: $(tail -3 "$E2E_WORK/worker.log")"
        [ $(($(now_ms) - t0)) -lt 300000 ] || fail "drain did not finish in 300 s"
        sleep 0.02
    done
    t1=$(now_ms)
    local busiest=0 d total=0
    for p in "${CLUSTER_PRIMARIES[@]}"; do
        d=$(($(node_cpu_us "$p") - cpu_a[$p]))
        total=$((total + d))
        [ "$d" -gt "$busiest" ] && busiest=$d
    done
    kill -TERM "$WORKER"
    wait "$WORKER" || true
    WORKER=""
    local ms=$((t1 - t0))
    local jps=$((n * 1000 / (ms > 0 ? ms : 1)))
    local us share
    us=$(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.2f", t / n }')
    share=$(awk -v b="$busiest" -v t="$total" 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
    log "$masters primary(ies), $wl: $n jobs in $ms ms = $jps jobs/s; Redis CPU $us us/job, busiest node $share %"
    results+=("$masters $wl $jps $us $share")
}

mkdir "$E2E_WORK/plugins"
cp "$build/plugins/noop.so" "$build/bench/plugins/bench_json.so" "$E2E_WORK/plugins/" # the loader takes no symlinks
WORKLOADS=(noop noop-ttl0 json)
for masters in 1 3; do
    if [ "$masters" = 1 ]; then cluster_start_one; else cluster_start 3 0 2000; fi
    cluster_pick_queues bq $((masters == 1 ? 6 : 2))
    QUEUES=("${CLUSTER_QUEUES[@]}")
    declare -A QPORT=()
    for q in "${QUEUES[@]}"; do QPORT[$q]=${CLUSTER_QUEUE_PORT[$q]}; done
    log "$masters primary(ies): queues ${QUEUES[*]}"
    for ((r = 1; r <= rounds; r++)); do
        for wl in "${WORKLOADS[@]}"; do one_drain "$masters" "$wl"; done
    done
    cluster_stop
    unset QPORT
done

# ---- what --wait-replicas costs: one primary and one replica, no cluster ----
# the same noop jobs enqueued (timed) and drained by one process at 256
# slots (timed from the first job taken), with and without --wait-replicas
# 1, alternating; results kept
wait_rows=() # "mode enqueue_jobs_s drain_jobs_s"
read -r -a WP <<<"$(cluster_free_ports 2)"
P=${WP[0]} R=${WP[1]}
CLUSTER_PORTS=("$P" "$R") # so that cluster_stop stops them
for port in "$P" "$R"; do
    extra=()
    [ "$port" = "$R" ] && extra=(--replicaof 127.0.0.1 "$P")
    mkdir -p "$E2E_WORK/node-$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
        --pidfile "$(cluster_node_pidfile "$port")" --logfile "$E2E_WORK/node-$port.log" \
        --dir "$E2E_WORK/node-$port" --save '' --appendonly no "${extra[@]}" ||
        fail "redis-server on $port did not start"
done
wait_for "the replica to be in sync" 30 eval \
    "ccli $R INFO replication 2>/dev/null | grep -q master_link_status:up"
WQ=bwait per=$((jobs / 6 * 6))
make_input noop "$per" "$E2E_WORK/in-wait"
one_wait_round() { # MODE (nowait | wait1)
    local mode=$1 wargs=() t0 t1 ms_e ms_d left
    [ "$mode" = wait1 ] && wargs=(--wait-replicas 1)
    ccli "$P" FLUSHALL >/dev/null
    wait_for "the replica to catch up" 30 eval \
        "[ \"\$(ccli $R DBSIZE)\" = 0 ]"
    t0=$(now_ms)
    "$JOBRT" enqueue "$WQ" -r "redis://127.0.0.1:$P" "${wargs[@]}" \
        <"$E2E_WORK/in-wait" >/dev/null 2>"$E2E_WORK/enq-wait.err" ||
        fail "jobrt enqueue ${wargs[*]} failed: $(head -3 "$E2E_WORK/enq-wait.err")"
    ms_e=$(($(now_ms) - t0))
    "$JOBRT" run -r "redis://127.0.0.1:$P" --workers 0 --concurrency 256 \
        --plugin-dir "$E2E_WORK/plugins" --queue "$WQ" "${wargs[@]}" \
        2>"$E2E_WORK/worker.log" &
    WORKER=$!
    t0=$(now_ms)
    while [ "$(queue_left "$WQ" "$P")" -ge "$per" ]; do
        pid_alive "$WORKER" || fail "jobrt run exited: $(tail -3 "$E2E_WORK/worker.log")"
        [ $(($(now_ms) - t0)) -lt 30000 ] || fail "no job taken in 30 s"
        sleep 0.005
    done
    t0=$(now_ms)
    while [ "$(queue_left "$WQ" "$P")" != 0 ]; do
        pid_alive "$WORKER" || fail "jobrt run exited: $(tail -3 "$E2E_WORK/worker.log")"
        [ $(($(now_ms) - t0)) -lt 300000 ] || fail "drain did not finish in 300 s"
        sleep 0.02
    done
    t1=$(now_ms)
    kill -TERM "$WORKER"
    wait "$WORKER" || true
    WORKER=""
    ms_d=$((t1 - t0))
    grep -q "replica(s) within\|WAIT on queue" "$E2E_WORK/worker.log" &&
        log "note: a WAIT fell short during the drain ($mode)"
    log "one primary + replica, $mode: enqueue $per in $ms_e ms, drain in $ms_d ms"
    wait_rows+=("$mode $((per * 1000 / (ms_e > 0 ? ms_e : 1))) $((per * 1000 / (ms_d > 0 ? ms_d : 1)))")
}
for ((r = 1; r <= rounds; r++)); do
    if [ $((r % 2)) = 1 ]; then one_wait_round nowait; one_wait_round wait1
    else one_wait_round wait1; one_wait_round nowait; fi
done
cluster_stop

# medians, the table, the raw rounds
mkdir -p "$(dirname "$out")"
{ printf '%s\n' "${results[@]}"; printf 'W %s\n' "${wait_rows[@]}"; } | "$E2E_PY" -c '
import json, statistics, sys
out, jobs, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = [l.split() for l in sys.stdin if l.strip()]
rows = [l for l in lines if l[0] != "W"]
waits = [{"mode": l[1], "enqueue_jobs_s": int(l[2]), "drain_jobs_s": int(l[3])}
         for l in lines if l[0] == "W"]
raw = [{"primaries": int(m), "workload": w, "jobs_s": int(j), "redis_us_per_job": float(u),
        "busiest_node_pct": int(s)} for m, w, j, u, s in rows]
json.dump({"jobs": jobs, "rounds": rounds, "raw": raw, "wait_replicas": waits},
          open(out, "w"), indent=1)
def med(m, w, k):
    v = [r[k] for r in raw if r["primaries"] == m and r["workload"] == w]
    return statistics.median(v) if v else float("nan")
names = {"noop": "no-op, results kept (default)", "noop-ttl0": "no-op, --result-ttl 0",
         "json": "1 KiB JSON, results kept"}
print("cluster row: %d jobs over 6 queues, one jobrt run --cluster --workers 2 --concurrency 256, "
      "median of %d round(s); Redis us/job = CPU of all primaries / jobs" % (jobs // 6 * 6, rounds))
print("%-32s %12s %12s %12s %12s %9s %10s" % ("workload", "1P jobs/s", "1P redis us", "3P jobs/s",
      "3P redis us", "3P/1P", "3P busiest"))
for w in ("noop", "noop-ttl0", "json"):
    a, b = med(1, w, "jobs_s"), med(3, w, "jobs_s")
    print("%-32s %12.0f %12.2f %12.0f %12.2f %8.2fx %9.0f%%" % (
        names[w], a, med(1, w, "redis_us_per_job"), b, med(3, w, "redis_us_per_job"),
        b / a if a else float("nan"), med(3, w, "busiest_node_pct")))
def wmed(mode, k):
    v = [w[k] for w in waits if w["mode"] == mode]
    return statistics.median(v) if v else float("nan")
print()
print("--wait-replicas 1 against none: one primary and one replica (not a cluster), %d no-op jobs, "
      "results kept, median of %d round(s)" % (jobs // 6 * 6, rounds))
print("%-32s %12s %12s %9s" % ("", "no WAIT", "WAIT 1", "ratio"))
for k, name in (("enqueue_jobs_s", "jobrt enqueue, jobs/s"), ("drain_jobs_s", "drain, one process x 256, jobs/s")):
    a, b = wmed("nowait", k), wmed("wait1", k)
    print("%-32s %12.0f %12.0f %8.2fx" % (name, a, b, b / a if a else float("nan")))
' "$out" "$jobs" "$rounds"
