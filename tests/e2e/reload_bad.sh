#!/usr/bin/env bash
# reload_bad.sh - a bad new build, installed while jobs run, changes
# nothing: the old generation keeps serving, no job fails or waits, and
# the log says why in one line naming the file. Covers an ABI mismatch,
# an init() that fails, an undefined symbol, an unchanged file (a no-op)
# and a plugin that cannot be unloaded (served with a warning; replacing
# it is refused until a restart).
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_RELOAD_DIR/swap_a.so" "build the jobrt_reload_plugins target"
Q=rb
DIR=$E2E_WORK/plugins
mkdir -m 0755 "$DIR"
export SWAP_RECORD=$E2E_WORK/ran
: >"$SWAP_RECORD"
install_build() {
    cp "$JOBRT_RELOAD_DIR/swap_$1.so" "$DIR/.swap.tmp"
    chmod 0644 "$DIR/.swap.tmp"
    mv "$DIR/.swap.tmp" "$DIR/swap.so"
}
install_build a
start_worker w1 --plugin-dir "$DIR" -r "$REDIS_URL" -q $Q --concurrency 8
L=$(worker_log w1)
wait_for "w1 to take jobs" 10 grep -q "taking jobs from queue" "$L"
PID=$(worker_pid w1)
reloads() { grep -c "reload (SIGHUP)" "$L" || true; }
ran() { wc -l <"$SWAP_RECORD" | tr -d ' '; }

# A steady stream of 5 ms jobs while the bad builds go in.
n=0
flow() { # count
    seq $((n + 1)) $((n + $1)) |
        awk '{printf "{\"job\":\"swap\",\"v\":1,\"id\":\"b-%d\",\"payload\":{\"sleep_ms\":5}}\n", $1}' |
        "$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" >/dev/null
    n=$((n + $1))
}
r=0
for bad in abi initfail missing; do
    flow 200
    install_build "$bad"
    kill -HUP "$PID"
    r=$((r + 1))
    wait_for "reload $r ($bad)" 10 eval '[ "$(reloads)" -ge '$r' ]'
    line=$(grep "$DIR/swap.so: new build rejected" "$L" | tail -1)
    [ -n "$line" ] || fail "no rejection line for swap_$bad.so: $(tail -5 "$L")"
    log "$bad: $line"
    assert_contains "$line" "keeps serving" "rejection of swap_$bad.so"
done
grep -q "swap.so: new build rejected: .*ABI 99" "$L" ||
    grep -q "swap.so: new build rejected: .*99" "$L" ||
    fail "the ABI rejection does not name the ABI: $(grep rejected "$L" | head -1)"
grep -q "swap.so: new build rejected: .*init failed" "$L" ||
    fail "the init rejection does not say init failed"
grep -q "swap.so: new build rejected: .*undefined symbol" "$L" ||
    fail "the missing-symbol rejection does not say undefined symbol"
wait_for "all $n jobs to run" 30 eval '[ "$(ran)" -ge '$n' ]'
assert_eq 0 "$(cut -d' ' -f2 "$SWAP_RECORD" | grep -vc '^src-' || true)" \
    "jobs without a build id in the record file"
builds=$(cut -d' ' -f2 "$SWAP_RECORD" | sort -u | wc -l | tr -d ' ')
assert_eq 1 "$builds" "builds that ran jobs (only a may have)"
assert_eq 0 "$(dlq_len $Q)" "dead letters"
assert_eq "$n" "$(cut -d' ' -f1 "$SWAP_RECORD" | sort -u | wc -l | tr -d ' ')" "distinct jobs run"

# The same bytes again: a no-op, no new generation.
install_build a
kill -HUP "$PID"
r=$((r + 1))
wait_for "reload $r (unchanged)" 10 eval '[ "$(reloads)" -ge '$r' ]'
grep "reload (SIGHUP)" "$L" | tail -1 | grep -q ": unchanged: 0 reloaded" ||
    fail "reinstalling the same build was not a no-op: $(grep "reload (SIGHUP)" "$L" | tail -1)"

# A pinned build: it replaces a (which unloads), with one warning; a
# reload of it is then refused, and it keeps serving.
install_build pinned
kill -HUP "$PID"
r=$((r + 1))
wait_for "reload $r (pinned)" 10 eval '[ "$(reloads)" -ge '$r' ]'
grep -q "swap.so: plugin swap cannot be unloaded (.*nodelete.*): it is served, but deploying a new build of it needs a worker restart" "$L" ||
    fail "no warning line for the pinned build: $(grep -i pinned "$L" | head -3)"
wait_for "generation a to unload" 10 grep -q "unloaded: drained, finalised" "$L"
assert_contains "$("$JOBRT_BIN" plugins "$DIR")" \
    "(needs restart to reload: linked with -z nodelete)" "jobrt plugins on the pinned build"
install_build b
kill -HUP "$PID"
r=$((r + 1))
wait_for "reload $r (refused)" 10 eval '[ "$(reloads)" -ge '$r' ]'
grep -q "swap.so: reload refused: plugin 'swap' cannot be unloaded" "$L" ||
    fail "replacing the pinned build was not refused"
before=$(ran)
flow 20
wait_for "20 more jobs" 10 eval '[ "$(ran)" -ge $((before + 20)) ]'
assert_eq 1 "$(tail -20 "$SWAP_RECORD" | cut -d' ' -f2 | sort -u | wc -l | tr -d ' ')" \
    "builds that ran the last 20 jobs"
assert_eq "$PID" "$(worker_pid w1)" "w1's pid"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1's exit code"
pass
