#!/usr/bin/env bash
# reload_load.sh - hot reload under load. Jobs flow the whole time while
# the one plugin file is replaced by rename, alternating two builds (a and
# b) of plugin "swap", and the worker is sent SIGHUP after each install.
# Then: no job lost, none run twice (the handler appends each job id it
# runs to $SWAP_RECORD), every job ran on the code of the generation its
# record names (the build the handler reports equals the build that
# generation was loaded from), no job dispatched after a swap ran on an
# older generation, every retired generation was finalised,
# unloaded and verified gone, none leaked, the worker never restarted.
#
# Sizes: 10000 jobs and 20 reloads; E2E_LONG=1 (`./scripts/test --long`)
# runs 50000 jobs. E2E_RELOAD_JOBS / E2E_RELOAD_SWAPS set them directly.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_RELOAD_DIR/swap_a.so" "build the jobrt_reload_plugins target"
if [ "${E2E_LONG:-}" = 1 ]; then N=50000; else N=10000; fi
N=${E2E_RELOAD_JOBS:-$N}
SWAPS=${E2E_RELOAD_SWAPS:-20}
Q=rl
DIR=$E2E_WORK/plugins
mkdir -m 0755 "$DIR"
export SWAP_RECORD=$E2E_WORK/ran
: >"$SWAP_RECORD"

install_build() { # build: install swap_<build>.so as swap.so, by rename
    cp "$JOBRT_RELOAD_DIR/swap_$1.so" "$DIR/.swap.so.tmp"
    chmod 0644 "$DIR/.swap.so.tmp"
    mv "$DIR/.swap.so.tmp" "$DIR/swap.so"
}
install_build a
start_worker w1 --plugin-dir "$DIR" -r "$REDIS_URL" -q $Q --concurrency 16 \
    --result-ttl 1h
L=$(worker_log w1)
wait_for "w1 to take jobs" 10 grep -q "taking jobs from queue" "$L"
PID=$(worker_pid w1)

ran() { wc -l <"$SWAP_RECORD" | tr -d ' '; }
reloads_done() { grep -c "reload (SIGHUP): reloaded" "$L" || true; }

# Each round: a slice of the jobs (each sleeps 5-20 ms, so the slice takes
# a while and jobs are running at every swap), then the other build, then
# SIGHUP, while the slice runs.
per=$((N / SWAPS))
sent=0
for round in $(seq 1 "$SWAPS"); do
    count=$per
    [ "$round" = "$SWAPS" ] && count=$((N - sent))
    seq $((sent + 1)) $((sent + count)) |
        awk '{printf "{\"job\":\"swap\",\"v\":1,\"id\":\"j-%d\",\"payload\":{\"sleep_ms\":%d}}\n", $1, 5 + $1 % 16}' |
        "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null
    sent=$((sent + count))
    wait_for "round $round to start" 20 eval '[ "$(ran)" -gt $((sent - count)) ]'
    if [ $((round % 2)) = 1 ]; then install_build b; else install_build a; fi
    kill -HUP "$PID"
    wait_for "reload $round" 10 eval '[ "$(reloads_done)" -ge '"$round"' ]'
done
wait_for "all $N jobs to run" 120 eval '[ "$(ran)" -ge '"$N"' ]'
wait_for "the queue to drain" 30 stream_empty $Q
assert_eq "$PID" "$(worker_pid w1)" "w1's pid (it must never restart)"
worker_alive w1 || fail "w1 died during the reloads"

# Lost or run twice?
dups=$(cut -d' ' -f1 "$SWAP_RECORD" | sort | uniq -d | head -5)
[ -z "$dups" ] || fail "jobs run twice: $dups"
assert_eq "$N" "$(cut -d' ' -f1 "$SWAP_RECORD" | sort -u | wc -l | tr -d ' ')" \
    "distinct jobs run"
assert_eq 0 "$(dlq_len $Q)" "dead letters"

# Every job ran on its generation's code: the record's generation ->
# the build that generation was loaded from (log) == the build that ran.
"$E2E_PY" - "$REDIS_URL" "$Q" "$N" "$L" <<'EOF' || fail "records do not match generations"
import json, os, re, sys, redis
sys.path.insert(0, os.path.join(os.environ["JOBRT_SOURCE_DIR"], "tests/e2e"))
from e2e_records import all_records
url, q, n, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
r = redis.Redis.from_url(url, decode_responses=True)
import datetime
def ms(line):
    t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
gen_build, swapped = {}, {}  # generation -> build; -> when the swap was done
last_gen = None
for line in open(log, errors="replace"):
    m = re.search(r"plugin swap \S+ build (\S+) \(generation (\d+)\) serves", line)
    if m:
        last_gen = int(m.group(2))
        gen_build[last_gen] = m.group(1)
    if "reload (SIGHUP): reloaded" in line and last_gen is not None:
        swapped[last_gen] = ms(line)  # logged just after the swap
records = all_records(r, q)
bad, gens = [], {}
for i in range(0, n, 1000):
    for k in [f"j-{j}" for j in range(i + 1, min(n, i + 1000) + 1)]:
        rec = records.get(k)
        if rec is None:
            bad.append(f"{k}: no record"); continue
        g = rec.get("generation")
        gens[g] = gens.get(g, 0) + 1
        loaded = gen_build.get(g)           # the log: generation -> build
        meta = rec.get("build_id")          # the runtime's record
        ran = (rec.get("result") or {}).get("build_id")  # the code that ran
        if rec.get("status") != "succeeded" or loaded is None or \
                not (loaded == meta == ran):
            bad.append(f"{k}: status {rec.get('status')}, generation {g} "
                       f"loaded as {loaded}, record says {meta}, the code "
                       f"that ran says {ran}")
        # dispatched after generation G's swap was logged: G or newer ran it
        d = rec.get("dispatched_at") or 0
        newest = max((n for n, t in swapped.items() if t < d), default=None)
        if newest is not None and (g or 0) < newest:
            bad.append(f"{k}: dispatched at {d}, after generation {newest} "
                       f"took over at {swapped[newest]}, ran on generation {g}")
print(f"generations that ran jobs: {len(gens)}: {sorted(gens.items())}",
      file=sys.stderr)
if len(gens) < 10:
    bad.append(f"only {len(gens)} generations ran jobs")
if len(swapped) < 10:
    bad.append(f"only {len(swapped)} swaps found in the log")
for b in bad[:10]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# Every retired generation: finalised, unloaded, verified gone.
unloaded=$(grep -c "unloaded: drained, finalised, and verified gone" "$L" || true)
assert_eq "$SWAPS" "$unloaded" "generations unloaded and verified gone"
assert_eq 0 "$(grep -c " leaked: " "$L" || true)" "generations leaked"
# (lines tagged "probe" are the plugin probe's trial loads, not the worker's)
finis=$(grep "swap build [ab] fini" "$L" | grep -vc " probe plugin " || true)
assert_eq "$SWAPS" "$finis" "fini() calls of retired generations"
assert_not_contains "$(cat "$L")" "rejected:" "w1's log"
draining=$(grep -c "[1-9][0-9]* generation(s) draining" "$L" || true)
log "reloads that left the old generation draining (jobs in flight): $draining"
[ "$draining" -ge $((SWAPS / 2)) ] ||
    fail "only $draining of $SWAPS reloads happened with jobs in flight"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1's exit code"
pass
