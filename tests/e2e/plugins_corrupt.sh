#!/usr/bin/env bash
# plugins_corrupt.sh - a truncated or corrupt plugin file is one line, never
# the worker: `jobrt run` with testkit next to a truncated copy of it and
# the zoo's truncated and dynamic-section-zeroed files logs one rejection
# per bad file, stays up and runs jobs (the original died of SIGBUS at
# start, with no output); `jobrt plugins` on the same directory exits 1
# with one REJECTED line per bad file, not a signal.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
e2e_require "$JOBRT_ZOO_DIR/truncated.so" "build the jobrt_zoo target"
Q=corrupt
P=$E2E_WORK/plugins
mkdir -m 755 "$P"
cp "$JOBRT_TESTKIT_DIR/testkit.so" "$P/testkit.so"
head -c 3000 "$JOBRT_TESTKIT_DIR/testkit.so" >"$P/cut_3000.so"
head -c 11000 "$JOBRT_TESTKIT_DIR/testkit.so" >"$P/cut_11000.so"
cp "$JOBRT_ZOO_DIR/truncated.so" "$JOBRT_ZOO_DIR/dynamic_zeroed.so" "$P/"
chmod 755 "$P"/*.so
bad=(cut_3000.so cut_11000.so dynamic_zeroed.so truncated.so)

start_worker w1 --plugin-dir "$P" -r "$REDIS_URL" -q $Q
wait_for "worker to create its consumer group (or die)" 10 \
    eval 'group_exists $Q || ! worker_alive w1'
if ! worker_alive w1; then
    wait_worker_exit w1 5
    fail "the worker died at start (exit $WORKER_RC)"
fi
log_file=$(worker_log w1)
for b in "${bad[@]}"; do
    n=$(grep -cF "$P/$b: rejected:" "$log_file" || true)
    assert_eq 1 "$n" "worker log lines rejecting $b"
done
assert_exit 0 "enqueue" "$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' \
    --id c-1 -r "$REDIS_URL"
wait_for "job c-1 to succeed" 10 job_has_status $Q c-1 succeeded
worker_alive w1 || fail "the worker died"
stop_worker w1
assert_eq 0 "$WORKER_RC" "worker exit code"

assert_exit 1 "plugins on the corrupt files" "$JOBRT_BIN" plugins -p "$P"
for b in "${bad[@]}"; do
    line=$(printf '%s\n' "$OUT" | grep -F "/$b:" || true)
    assert_eq 1 "$(printf '%s\n' "$line" | grep -c .)" "lines naming $b"
    case "$line" in
        REJECTED*corrupt*) ;;
        *) fail "$b must be REJECTED as corrupt, got: $line" ;;
    esac
done
assert_contains "$OUT" "1 loaded, 4 rejected" "the summary"

pass
