#!/usr/bin/env bash
# bench/growth.sh - how jobrt's cost grows (./scripts/bench --part growth):
# drain throughput and Redis CPU per job of one `jobrt run --concurrency
# 256` in its default configuration (records kept) draining a backlog of
# 10 000, 100 000 and 1 000 000 queued no-op jobs, and of jobs with 1 KiB,
# 16 KiB and 256 KiB payloads. Each case gets a fresh private
# redis-server (unix socket, no persistence); the backlog is enqueued with
# `jobrt enqueue` outside the clock, then the worker starts. The clock
# runs from the first entry read (polled with redis-cli every 10 ms) to
# the group having nothing undelivered or pending; Redis CPU is
# used_cpu_sys + used_cpu_user over that span. A step is "linear or
# better" when the cost per job grows no faster than the jobs queued
# (backlog rows: per-job cost about flat) or than the payload's bytes
# (payload rows: per-job cost at most x16 for 16 times the bytes).
#
# Usage: bench/growth.sh --build DIR [--quick] [--out FILE]
# Needs redis-server and the jobrt and noop targets built in DIR.
# --quick: 10 000 and 100 000 jobs, and fewer payload jobs.
set -euo pipefail
cd "$(dirname "$0")/.."

build="" quick=0 out=bench/.peers/last-growth.txt
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        --no-sweep | --rounds | --jobs)
            # scripts/bench passes these to every part; one run each here
            [ "$1" = --no-sweep ] && shift || shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/growth.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$build" ] || { echo "bench/growth.sh: --build DIR is required" >&2; exit 2; }
JOBRT=$build/jobrt
PLUGINS=$build/plugins
[ -x "$JOBRT" ] || { echo "bench/growth.sh: no $JOBRT (build the jobrt target)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobrt-growth.XXXXXX")
REDIS_PID=""
cleanup() {
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
SOCK=$WORK/redis.sock
R() { redis-cli -s "$SOCK" "$@"; }
cpu() { R INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# group_state: "<entries read> <pending> <lag>" of group jobrt
group_state() {
    R XINFO GROUPS 'jobrt:{g}:stream' 2>/dev/null |
        awk 'p == "pending" { pe = $0 } p == "entries-read" { er = $0 }
             p == "lag" { la = $0 } { p = $0 }
             END { printf "%s %s %s", er + 0, pe + 0, (la == "" ? 1 : la) }'
}

# jobs_file N BYTES: N no-op jobs whose payload is a JSON string of BYTES
jobs_file() {
    python3 - "$1" "$2" >"$WORK/jobs.ndjson" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
pad = "x" * max(0, size - 2)
line = '{"job":"noop","v":1,"payload":%s}\n' % ('{}' if size <= 2 else '"%s"' % pad)
with open(1, "w", closefd=False) as out:
    for _ in range(n):
        out.write(line)
PY
}

# run_case LABEL N BYTES: prints "LABEL N jobs/s redis_us_per_job"
run_case() {
    local label=$1 n=$2 bytes=$3
    rm -f "$SOCK"
    redis-server --port 0 --unixsocket "$SOCK" --save '' --appendonly no \
        --dir "$WORK" --logfile "$WORK/redis.log" --maxmemory 0 &
    REDIS_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do [ "$(R PING 2>/dev/null)" = PONG ] && break; sleep 0.05; done
    jobs_file "$n" "$bytes"
    "$JOBRT" enqueue g -r "unix://$SOCK" \
        <"$WORK/jobs.ndjson" >/dev/null 2>"$WORK/enqueue.err" ||
        { cat "$WORK/enqueue.err" >&2; exit 1; }
    "$JOBRT" run -p "$PLUGINS" -r "unix://$SOCK" -q g --concurrency 256 \
        >"$WORK/worker.log" 2>&1 &
    local wpid=$! t0 c0 state
    while :; do
        read -r er pe la <<<"$(group_state)"
        [ "${er:-0}" -gt 0 ] && break
        kill -0 "$wpid" 2>/dev/null || { cat "$WORK/worker.log" >&2; exit 1; }
        sleep 0.01
    done
    t0=$(ms) c0=$(cpu)
    while :; do
        read -r er pe la <<<"$(group_state)"
        [ "$pe" = 0 ] && [ "$la" = 0 ] && [ "$er" -ge "$n" ] && break
        sleep 0.01
    done
    local t1 c1
    t1=$(ms) c1=$(cpu)
    kill -TERM "$wpid"; wait "$wpid" || true
    kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
    awk -v l="$label" -v n="$n" -v dt=$((t1 - t0)) -v c0="$c0" -v c1="$c1" \
        'BEGIN { printf "%s %d %.0f %.2f\n", l, n, n / (dt > 0 ? dt : 1) * 1000, (c1 - c0) * 1e6 / n }'
}

if [ "$quick" = 1 ]; then
    backlog=(10000 100000) payload_n=(20000 4000 400)
else
    backlog=(10000 100000 1000000) payload_n=(100000 20000 2000)
fi
rows=()
for n in "${backlog[@]}"; do rows+=("$(run_case "queued-$n" "$n" 2)"); done
sizes=(1024 16384 262144)
for k in 0 1 2; do
    rows+=("$(run_case "payload-$((sizes[k] / 1024))KiB" "${payload_n[k]}" "${sizes[k]}")")
done

{
    echo "jobrt growth: one jobrt run --concurrency 256, defaults (records kept), a fresh redis-server per row; $(date -u +%FT%TZ), jobrt $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    printf '%-18s %9s %10s %12s %12s\n' case jobs jobs/s "redis us/job" "step"
    prev_label="" prev_us=""
    for row in "${rows[@]}"; do
        read -r label n rate us <<<"$row"
        step="-"
        if [ -n "$prev_us" ]; then
            # per-job cost of this row against the row before
            step=$(awk -v a="$us" -v b="$prev_us" 'BEGIN { printf "x%.2f", a / b }')
        fi
        case "$label" in queued-10000 | payload-1KiB) step="-" ;; esac
        printf '%-18s %9d %10d %12.2f %12s\n' "$label" "$n" "$rate" "$us" "$step"
        prev_us=$us prev_label=$label
    done
    echo "linear or better: a queued-* step at most x1.25 per job (10x the jobs); a payload-* step at most x16 per job (16x the bytes)"
} | tee "$out"
