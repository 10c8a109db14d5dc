#!/usr/bin/env bash
# isolation_probe.sh - the probe in `jobrt run --workers 2`: a plugin dir
# holds testkit beside plugins whose constructor segfaults, whose
# constructor calls exit(), whose init() never returns and whose init()
# aborts. Each worker rejects each bad file with one line saying what
# happened and serves testkit; no worker process dies (none is
# restarted). Then a bad build installed during a reload is rejected the
# same way and the workers keep serving.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_ZOO_DIR/probe/init_hang.so" "build the jobrt_zoo target"
Z=$JOBRT_ZOO_DIR/probe
P=$E2E_WORK/plugins
mkdir -m 755 "$P"
install -m 644 "$JOBRT_TESTKIT_DIR/testkit.so" "$Z/ctor_segv.so" \
    "$Z/ctor_exit.so" "$Z/init_hang.so" "$Z/init_abort.so" "$P/"
Q=probe

start_worker sup --workers 2 --plugin-dir "$P" -r "$REDIS_URL" -q $Q \
    --probe-timeout 1s
L=$(worker_log sup)
taking() { [ "$(grep -c 'taking jobs from queue' "$L")" -ge "$1" ]; }
wait_for "both workers to take jobs" 30 taking 2
for f in ctor_segv ctor_exit init_hang init_abort; do
    n=$(grep -c "$f.so: rejected: .*rejected by the probe" "$L" || true)
    assert_eq 2 "$n" "rejection lines for $f.so (one per worker)"
done
segv_line=$(grep 'ctor_segv.so: rejected' "$L" | head -1)
case "$segv_line" in # under a sanitizer the crash is its report and an exit
    *SIGSEGV* | *"the sanitizer's report"*) ;;
    *) fail "the segfaulting constructor's line: $segv_line" ;;
esac
assert_contains "$(grep 'ctor_exit.so: rejected' "$L" | head -1)" "status 3" \
    "the exiting constructor's line"
assert_contains "$(grep 'init_hang.so: rejected' "$L" | head -1)" \
    "did not return within 1s" "the hanging init()'s line"
"$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id ok-1 -r "$REDIS_URL" \
    >/dev/null
wait_for "a testkit job" 15 job_has_status $Q ok-1 succeeded
assert_eq 2 "$(grep -c 'supervisor: worker [0-9] started' "$L")" \
    "worker processes started (none died)"

# A bad build arriving by a reload: rejected, the rest keeps serving.
install -m 644 "$Z/ctor_segv.so" "$P/.testkit.tmp"
mv "$P/.testkit.tmp" "$P/testkit.so"
kill -HUP "$(worker_pid sup)"
wait_for "the rolling reload" 30 grep -q "rolling reload: done" "$L"
assert_eq 2 "$(grep -c 'testkit.so: new build rejected: .*rejected by the probe' "$L")" \
    "workers that refused the crashing build"
"$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id ok-2 -r "$REDIS_URL" \
    >/dev/null
wait_for "a testkit job after the reload" 15 job_has_status $Q ok-2 succeeded
assert_eq 2 "$(grep -c 'supervisor: worker [0-9] started' "$L")" \
    "worker processes started (none died in the reload)"
stop_worker sup 30
assert_eq 0 "$WORKER_RC" "supervisor exit code"
pass
