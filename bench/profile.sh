#!/usr/bin/env bash
# bench/profile.sh - where does a jobrt drain spend its CPU? Starts a private
# redis-server on a free loopback port, enqueues N no-op jobs with
# `jobrt enqueue`, then runs one jobrt worker under `perf record` while a
# second perf attaches to redis-server, until the stream is drained.
# Writes flat self-time profiles (by DSO and symbol) and Redis'
# INFO commandstats to bench/.peers/profile/ and prints their heads.
# Then drains N and N/10 jobs under a counting allocator (alloc_count.c,
# LD_PRELOAD) and prints the allocations per job on the hot path (the
# difference of the two runs, so start-up does not count) by call site.
#
# Usage: bench/profile.sh [--build DIR] [--jobs N] [--concurrency C]
#                         [--records-off] [--json]
#   (defaults: build-bench, 200000, 256, the worker's defaults: outcome
#    records kept; --records-off adds --result-ttl 0; --json drains the
#    benchmark's ~1 KiB invoice jobs (bench_json, needs node) instead of
#    no-op ones. Run
#    ./scripts/bench --quick first so build-bench exists). Falls back to
#    valgrind --tool=callgrind on N/10 jobs when perf cannot sample here.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-bench jobs=200000 conc=256 ttl=() kind=noop
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --concurrency) conc=$2; shift 2 ;;
        --records-off) ttl=(--result-ttl 0); shift ;;
        --json) kind=json; shift ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
out=bench/.peers/profile
mkdir -p "$out"
jobrt=$build/jobrt

port=""
for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "profile.sh: no free port" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jobrt-profile.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$tmp" --logfile "$tmp/redis.log" &
redis_pid=$!
pids+=("$redis_pid")
rc() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
for _ in $(seq 1 100); do rc ping >/dev/null 2>&1 && break; sleep 0.05; done

use_perf=1
perf record -e cpu-clock -o "$tmp/probe.data" true >/dev/null 2>&1 || use_perf=0
[ $use_perf = 1 ] || jobs=$((jobs / 10))

plugins=$build/plugins
if [ "$kind" = json ]; then
    plugins=$build/bench/plugins
    node -e 'const { invoice } = require("./bench/common");
        const n = Number(process.argv[1]); const out = [];
        for (let i = 0; i < n; i++)
            out.push(JSON.stringify({ job: "bench_json", v: 1, payload: invoice(i) }));
        process.stdout.write(out.join("\n") + "\n");' "$jobs" > "$tmp/jobs.ndjson"
else
    awk -v n="$jobs" 'BEGIN{for(i=0;i<n;i++) print "{\"job\":\"noop\",\"v\":1,\"payload\":{}}"}' \
        > "$tmp/jobs.ndjson"
fi
"$jobrt" enqueue prof --redis "redis://127.0.0.1:$port" < "$tmp/jobs.ndjson" >/dev/null
rc config resetstat >/dev/null
cpu() { rc info cpu | awk -F: '/^used_cpu_(sys|user):/{s+=$2} END{printf "%.3f", s}'; }
c0=$(cpu)
t0=$(date +%s.%N)

worker=("$jobrt" run --plugin-dir "$plugins" --redis "redis://127.0.0.1:$port"
        --queue prof --concurrency "$conc" ${ttl[@]+"${ttl[@]}"})
if [ $use_perf = 1 ]; then
    perf record -e cpu-clock -F 1999 -o "$tmp/redis.data" -p "$redis_pid" \
        >/dev/null 2>&1 &
    perf_redis=$!
    pids+=("$perf_redis")
    perf record -e cpu-clock -F 1999 -o "$tmp/jobrt.data" -- "${worker[@]}" \
        2>"$tmp/worker.log" >/dev/null &
    perf_jobrt=$!
    pids+=("$perf_jobrt")
else
    valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" \
        "${worker[@]}" 2>"$tmp/worker.log" >/dev/null &
    perf_jobrt=$!
    pids+=("$perf_jobrt")
fi
# jobs not yet finished: the group's lag (not yet delivered) + pending.
# Not XLEN: finished entries stay in the stream until the next trim.
left() {
    local lag pend q=${1:-prof}
    lag=$(rc xinfo groups "jobrt:{$q}:stream" 2>/dev/null |
        awk 'f {print; exit} $0 == "lag" {f = 1}')
    pend=$(rc xpending "jobrt:{$q}:stream" jobrt 2>/dev/null | head -n 1)
    case "$lag" in ''|*[!0-9]*) lag=1 ;; esac  # no group yet, or lag unknown
    case "$pend" in ''|*[!0-9]*) pend=1 ;; esac
    echo $((lag + pend))
}
for _ in $(seq 1 30000); do   # at most ~10 minutes
    [ "$(left)" = 0 ] && break
    sleep 0.02
done
t1=$(date +%s.%N)
c1=$(cpu)
left=$(left)
# stop the worker (perf passes SIGINT on to it) and the redis sampler
kill -INT "$perf_jobrt" 2>/dev/null || true
pkill -INT -P "$perf_jobrt" 2>/dev/null || true
wait "$perf_jobrt" 2>/dev/null || true
if [ $use_perf = 1 ]; then
    kill -INT "$perf_redis" 2>/dev/null || true
    wait "$perf_redis" 2>/dev/null || true
fi
rc info commandstats > "$out/commandstats.txt"

awk -v n="$jobs" -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" -v l="$left" \
    'BEGIN{printf "drained %d jobs (left %s) in %.2f s under the profiler = %.0f jobs/s; Redis CPU %.2f us/job\n", n, l, b-a, n/(b-a), (c1-c0)*1e6/n}' |
    tee "$out/summary.txt"
tail -n 3 "$tmp/worker.log" >> "$out/summary.txt"
if [ $use_perf = 1 ]; then
    for w in jobrt redis; do
        perf report -i "$tmp/$w.data" --no-children --sort dso,symbol \
            --percent-limit 0.5 --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
            > "$out/$w-symbols.txt" || true
        perf report -i "$tmp/$w.data" --no-children --sort dso \
            --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
            > "$out/$w-dso.txt" || true
        perf report -i "$tmp/$w.data" --no-children --sort comm \
            --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
            > "$out/$w-threads.txt" || true
    done
    echo "== jobrt worker by DSO"; head -n 12 "$out/jobrt-dso.txt"
    echo "== jobrt worker by thread"; head -n 6 "$out/jobrt-threads.txt"
    echo "== jobrt worker by symbol"; head -n 40 "$out/jobrt-symbols.txt"
    echo "== redis-server by symbol"; head -n 40 "$out/redis-symbols.txt"
else
    callgrind_annotate "$tmp/callgrind.out" 2>/dev/null | head -n 60 |
        tee "$out/jobrt-callgrind.txt"
fi
echo "== redis commandstats"
sort -t= -k3 -rn "$out/commandstats.txt" | grep cmdstat | head -n 8

# Allocations per job: drain N and N/10 jobs under the counting allocator;
# the difference over the difference in jobs is what each job costs,
# start-up and shutdown cancel out.
cmake --build "$build" --target bench_alloc_count >/dev/null
shim=$build/bench/bench_alloc_count.so
alloc_run() { # N -> $tmp/alloc-N.txt: every jobrt process's report, joined
    local n=$1 q=alloc$1 w
    head -n "$n" "$tmp/jobs.ndjson" |
        "$jobrt" enqueue "$q" --redis "redis://127.0.0.1:$port" \
        >/dev/null 2>&1
    JOBRT_ALLOC_COUNT_FILE="$tmp/alloc-$n" LD_PRELOAD="$shim" \
        "$jobrt" run --plugin-dir "$plugins" \
        --redis "redis://127.0.0.1:$port" --queue "$q" \
        --concurrency "$conc" ${ttl[@]+"${ttl[@]}"} \
        2>"$tmp/alloc-worker.log" >/dev/null &
    w=$!
    pids+=("$w")
    for _ in $(seq 1 30000); do
        [ "$(left "$q")" = 0 ] && break
        sleep 0.02
    done
    kill -INT "$w" 2>/dev/null || true
    wait "$w" 2>/dev/null || true
    cat "$tmp/alloc-$n".* > "$tmp/alloc-$n.txt" 2>/dev/null || true
    grep -q '^total' "$tmp/alloc-$n.txt" ||
        { echo "profile.sh: the counting allocator wrote no report" >&2; return 1; }
}
small=$((jobs / 10))
alloc_run "$small"
alloc_run "$jobs"
cp "$tmp/alloc-$jobs.txt" "$out/allocations-raw.txt"
{
    awk -v n="$jobs" -v m="$small" '
        $1 == "total" && FILENAME ~ /alloc-'"$small"'\.txt$/ { a0 += $2; f0 += $3 }
        $1 == "total" && FILENAME ~ /alloc-'"$jobs"'\.txt$/ { a1 += $2; f1 += $3 }
        END { printf "allocations per job: %.2f (frees %.2f); %d allocations draining %d jobs, %d draining %d (all jobrt processes)\n",
                     (a1 - a0) / (n - m), (f1 - f0) / (n - m), a1, n, a0, m }' \
        "$tmp/alloc-$small.txt" "$tmp/alloc-$jobs.txt"
    echo "call sites, allocations per job (draining $jobs jobs):"
    awk '$1 == "site" { c[$3 " " $4 " " $5] += $2 }
         END { for (k in c) print c[k], k }' "$tmp/alloc-$jobs.txt" |
    sort -rn | head -n 20 |
    while read -r count dso off sym; do
        per=$(awk -v c="$count" -v n="$jobs" 'BEGIN{printf "%.2f", c / n}')
        [ "$per" = 0.00 ] && continue
        # without debug symbols dladdr names only the nearest exported
        # symbol before the call (a static function's caller shows as it)
        where="+0x$off, after $sym"
        if [ -f "$dso" ] && command -v addr2line >/dev/null; then
            # the return address minus one: the call instruction itself
            line=$(addr2line -f -s -e "$dso" "$(printf '%x' $((0x$off - 1)))" \
                2>/dev/null | paste -sd ' ') || line='??'
            case "$line" in '??'*) ;; *) where=$line ;; esac
        fi
        printf '  %6s  %s  %s\n' "$per" "$(basename "$dso")" "$where"
    done
} | tee "$out/allocations.txt"
echo "(full reports in $out/)"
