#!/usr/bin/env bash
# chaos.sh - at-least-once under SIGKILL: 20 000 jobs, two workers, one of
# them killed with SIGKILL at random moments several times and restarted.
# Every job must complete at least once; duplicates may only come from jobs
# in flight at a kill, and the test prints how many there were.
. "$(dirname "$0")/lib.sh"
e2e_setup

Q=chaos
N=${CHAOS_JOBS:-20000}
KILLS=${CHAOS_KILLS:-5}
C=8
REC="$E2E_WORK/record"
export JOBRT_TESTKIT_RECORD="$REC"
: >"$REC"

seq 1 "$N" | awk '{printf "{\"job\":\"record\",\"v\":1,\"payload\":{},\"id\":\"c-%d\"}\n", $1}' \
    >"$E2E_WORK/jobs.ndjson"
"$JOBRT_BIN" enqueue "$Q" -r "$REDIS_URL" <"$E2E_WORK/jobs.ndjson" >/dev/null
assert_eq "$N" "$(xlen "$Q")" "enqueued"

# A short lease so a killed worker's jobs come back within the test.
args=(--plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q "$Q" -c "$C"
    --lease 1s --max-deliveries 50)
start_worker steady "${args[@]}"
start_worker victim-0 "${args[@]}"

lines() { wc -l <"$REC"; }
for k in $(seq 1 "$KILLS"); do
    # A random moment: after the victim has done some more work, but
    # while jobs are left (the two workers together may be near the end).
    target=$(( $(lines) + 200 + RANDOM % 1500 ))
    [ "$target" -le $((N - 1000)) ] || target=$((N - 1000))
    wait_for "progress before kill $k" 60 eval '[ "$(lines)" -ge '"$target"' ]'
    kill -KILL "$(worker_pid victim-$((k - 1)))"
    wait_for "victim-$((k - 1)) gone" 5 pid_gone "$(worker_pid victim-$((k - 1)))"
    log "kill $k: SIGKILL at $(lines) recorded runs"
    start_worker "victim-$k" "${args[@]}"
done

wait_for "every job done and acked" 120 stream_empty "$Q"
uniq_ids=$(sort -u "$REC" | wc -l)
total=$(lines)
dups=$((total - uniq_ids))
echo "chaos: $N jobs, $KILLS SIGKILLs: $uniq_ids distinct ran, $total runs, $dups duplicate(s)"
assert_eq "$N" "$uniq_ids" "jobs that ran at least once (none lost)"
# In flight at a kill: at most C running plus C finished-not-yet-acked.
[ "$dups" -le $((KILLS * 2 * C)) ] ||
    fail "$dups duplicates is more than the $((KILLS * 2 * C)) jobs that can be in flight at $KILLS kills"
assert_eq 0 "$(dlq_len "$Q")" "nothing dead-lettered"
stop_worker steady
assert_eq 0 "$WORKER_RC" "steady worker exit code"
pass
