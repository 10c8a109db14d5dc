#!/usr/bin/env bash
# isolation_signals.sh - the supervisor and signals, under load.
#  1. SIGHUP while jobs flow: a rolling reload, one worker at a time, that
#     deploys a new build (hazard-1 -> hazard-2) with no gap in service
#     (completions never pause for 1 s) and no worker restarted.
#  2. SIGTERM while jobs flow: every worker drains, nothing is lost, the
#     supervisor exits 0; also with SIGTERM sent to every process at once
#     (systemd's default), the running jobs finish. --max-jobs-per-worker:
#     no worker process runs more, and they are recycled.
#  3. A worker that cannot start (an unknown user): the supervisor exits
#     1 with that line and does not restart it in a loop.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_HAZARD_DIR/v2/hazard.so" "build the hazard test plugins"
Q=sig
N=6000
DIR=$E2E_WORK/plugins
mkdir -m 0755 "$DIR"
cp "$JOBRT_HAZARD_DIR/hazard.so" "$DIR/hazard.so"
export JOBRT_HAZARD_RECORD=$E2E_WORK/ran
: >"$JOBRT_HAZARD_RECORD"

start_worker sup --workers 2 --plugin-dir "$DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4 --result-ttl 1h
L=$(worker_log sup)
taking() { [ "$(grep -c 'taking jobs from queue' "$L")" -ge "$1" ]; }
wait_for "both workers to take jobs" 15 taking 2

ran() { wc -l <"$JOBRT_HAZARD_RECORD" | tr -d ' '; }
ran_at_least() { [ "$(ran)" -ge "$1" ]; }
enqueue_range() { # first last: work jobs of 3 ms each
    seq "$1" "$2" | awk '{printf "{\"job\":\"work\",\"v\":1,\"id\":\"s%d\",\"payload\":{\"ms\":3}}\n", $1}' |
        "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null
}

# 1. a rolling reload under load
enqueue_range 1 $N
wait_for "jobs to flow" 20 ran_at_least 300
cp "$JOBRT_HAZARD_DIR/v2/hazard.so" "$DIR/.hazard.tmp"
mv "$DIR/.hazard.tmp" "$DIR/hazard.so"
kill -HUP "$(worker_pid sup)"
wait_for "the rolling reload to finish" 30 grep -q "rolling reload: done" "$L"
assert_contains "$(cat "$L")" "rolling reload: worker 1 (pid" "worker 1 reloaded"
assert_contains "$(cat "$L")" "rolling reload: worker 2 (pid" "worker 2 reloaded"
assert_eq 2 "$(grep -c 'plugin hazard reloaded: build hazard-1 -> hazard-2' "$L")" \
    "workers that deployed hazard-2"
assert_eq 2 "$(grep -c 'supervisor: worker [0-9] started' "$L")" \
    "worker processes started (none restarted)"
wait_for "all $N jobs to run" 60 ran_at_least $N
gap=$(sort -k3 -n "$JOBRT_HAZARD_RECORD" |
    awk 'NR > 1 && $3 - prev > max { max = $3 - prev } { prev = $3 } END { print max + 0 }')
log "longest pause between two completions: $gap ms"
[ "$gap" -lt 1000 ] || fail "service paused for $gap ms during the reload"

# 2. SIGTERM under load
: >"$JOBRT_HAZARD_RECORD"
enqueue_range $((N + 1)) $((2 * N))
wait_for "jobs to flow again" 20 ran_at_least 300
stop_worker sup 60
assert_eq 0 "$WORKER_RC" "supervisor exit code after SIGTERM"
assert_eq 2 "$(grep -c 'w[12] worker: stopped: ' "$L")" "workers that drained"
none_pending() { [ "$(xpending_count $Q)" = 0 ]; }
wait_for "no job pending for a stopped worker" 10 none_pending
done_now=$(ran)
left=$(xlen $Q)
log "ran before the stop: $done_now, left in the stream: $left"
# Nothing lost: what did not run is still queued, and runs on a restart.
start_worker sup2 --workers 2 --plugin-dir "$DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4 --result-ttl 1h
second_half_done() {
    local n
    n=$(awk '{print $1}' "$JOBRT_HAZARD_RECORD" | sort -u | wc -l)
    [ "$n" -ge "$N" ]
}
wait_for "all $N second-half jobs to run" 60 second_half_done
stop_worker sup2 40
assert_eq 0 "$WORKER_RC" "the second supervisor's exit code"

# 2b. SIGTERM to the supervisor and to each worker at once (what systemd's
# default KillMode=control-group does): one drain, the running jobs finish.
start_worker sup3 --workers 2 --plugin-dir "$DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4 --result-ttl 1h
L3=$(worker_log sup3)
taking3() { [ "$(grep -c 'taking jobs from queue' "$L3")" -ge 2 ]; }
wait_for "both workers of sup3 to take jobs" 15 taking3
for i in 1 2 3 4 5 6; do
    "$JOBRT_BIN" enqueue $Q work -v 1 --payload '{"ms":4000}' --id long-$i \
        -r "$REDIS_URL" >/dev/null
done
six_pending() { [ "$(xpending_count $Q)" = 6 ]; }
wait_for "the 6 long jobs to be running" 10 six_pending
kill -TERM "$(worker_pid sup3)" $(pgrep -P "$(worker_pid sup3)")
wait_worker_exit sup3 30
assert_eq 0 "$WORKER_RC" "exit code after SIGTERM to every process"
for i in 1 2 3 4 5 6; do
    rec=$(job_status $Q long-$i)
    assert_contains "$rec" '"status":"succeeded"' "long-$i finished in the drain"
    assert_contains "$rec" '"deliveries":1' "long-$i was not handed back"
done

# 2c. --max-jobs-per-worker: each worker process takes 50 jobs, then is
# recycled (one at a time); all jobs run.
: >"$JOBRT_HAZARD_RECORD"
start_worker sup4 --workers 2 --plugin-dir "$DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4 --max-jobs-per-worker 50
L4=$(worker_log sup4)
enqueue_range 20001 20300
ran_300() { [ "$(awk '{print $1}' "$JOBRT_HAZARD_RECORD" | sort -u | wc -l)" -ge 300 ]; }
wait_for "300 jobs under --max-jobs-per-worker 50" 60 ran_300
most=$(awk '{print $2}' "$JOBRT_HAZARD_RECORD" | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')

[ "$most" -le 50 ] || fail "a worker process ran $most jobs, over --max-jobs-per-worker 50"
recycled=$(grep -c 'is recycled: it ran 50 jobs' "$L4" || true)
assert_ge 4 "$recycled" "recycles at 50 jobs"
stop_worker sup4 30
assert_eq 0 "$WORKER_RC" "sup4's exit code"

# 3. a configuration error
start_worker bad --workers 2 --plugin-dir "$DIR" \
    -r "${REDIS_URL/unix:\/\//unix://nobody:wrong@}" -q $Q
B=$(worker_log bad)
wait_worker_exit bad 20
assert_eq 1 "$WORKER_RC" "exit code of a supervisor whose worker cannot start"
assert_contains "$(cat "$B")" "could not start" "the supervisor's line"
assert_eq 1 "$(grep -c 'supervisor: worker [0-9] started' "$B")" \
    "worker processes started (no restart loop)"
pass
