#!/usr/bin/env bash
# reload_triggers.sh - what starts a reload, and that it yields the new
# code. (1) --watch: a build installed by rename over the same path is
# picked up with no signal, and runs the new code, not glibc's cached
# handle of the old path; a file still being written is never loaded, and
# is picked up when its writer closes it. (2) `jobrt reload` reaches three
# workers through Redis and prints each one's outcome; a worker whose new
# build is rejected says why, and the command exits 1.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_RELOAD_DIR/swap_b.so" "build the jobrt_reload_plugins target"
Q=rt
install_in() { # dir build [name]
    local name=${3:-swap.so}
    cp "$JOBRT_RELOAD_DIR/swap_$2.so" "$1/.$name.tmp"
    chmod 0644 "$1/.$name.tmp"
    mv "$1/.$name.tmp" "$1/$name"
}
run_one() { # id -> prints the build that ran it
    "$JOBRT_BIN" enqueue $Q swap -r "$REDIS_URL" --id "$1" -v 1 --payload '{}' \
        >/dev/null 2>&1
    wait_for "$1 to succeed" 10 job_has_status $Q "$1" succeeded
    json_get "$(job_status $Q "$1")" result build
}

# ---- 1: --watch -------------------------------------------------------------
W=$E2E_WORK/watched
mkdir -m 0755 "$W"
install_in "$W" a
start_worker w1 --plugin-dir "$W" -r "$REDIS_URL" -q $Q --watch --consumer w1
L=$(worker_log w1)
wait_for "w1 to take jobs" 10 grep -q "taking jobs from queue" "$L"
assert_eq a "$(run_one t-1)" "build that ran t-1"
install_in "$W" b
wait_for "--watch to reload" 10 grep -q "reload (--watch): reloaded" "$L"
assert_eq b "$(run_one t-2)" "build that ran t-2 (after the rename)"
wait_for "build a to unload" 10 grep -q "unloaded: drained, finalised, and verified gone" "$L"

# A half-written file: open, half the bytes, and keep it open while a
# settled change (another file renamed in) triggers a reload.
SIZE=$(stat -c %s "$JOBRT_RELOAD_DIR/swap_c.so")
exec 7>"$W/half.so"
head -c $((SIZE / 2)) "$JOBRT_RELOAD_DIR/swap_c.so" >&7
chmod 0644 "$W/half.so"
touch "$W/.other.tmp" && mv "$W/.other.tmp" "$W/other.so.txt"
install_in "$W" b # same bytes: a reload that changes nothing
n=$(grep -c "reload (--watch)" "$L" || true)
install_in "$W" a
wait_for "a reload with half.so still open" 10 eval \
    '[ "$(grep -c "reload (--watch)" "$L" || true)" -gt '"$n"' ]'
assert_not_contains "$(cat "$L")" "half.so" "w1's log while half.so is written"
assert_eq a "$(run_one t-3)" "build that ran t-3"
# Finish it (as another plugin name would clash, move swap.so out first).
rm "$W/swap.so"
tail -c +$((SIZE / 2 + 1)) "$JOBRT_RELOAD_DIR/swap_c.so" >&7
exec 7>&-
wait_for "half.so to load once closed" 10 grep -q "half.so: plugin swap .* serves swap v1..2" "$L"
assert_not_contains "$(cat "$L")" "half.so: rejected" "w1's log"
assert_eq c "$(run_one t-4)" "build that ran t-4"
stop_worker w1

# ---- 2: jobrt reload to three workers --------------------------------------
for w in r1 r2 r3; do
    mkdir -m 0755 "$E2E_WORK/$w"
    install_in "$E2E_WORK/$w" a
    start_worker $w --plugin-dir "$E2E_WORK/$w" -r "$REDIS_URL" -q $Q --consumer $w
done
live() { "$JOBRT_BIN" workers -r "$REDIS_URL" -q $Q 2>/dev/null | grep -c "^r[123] " || true; }
wait_for "three live workers" 10 eval '[ "$(live)" -ge 3 ]'
install_in "$E2E_WORK/r1" b
install_in "$E2E_WORK/r3" initfail
OUT=$("$JOBRT_BIN" reload -r "$REDIS_URL" -q $Q --timeout 10s 2>&1) && rc=0 || rc=$?
log "jobrt reload printed:"
printf '%s\n' "$OUT" >&2
assert_eq 1 "$rc" "jobrt reload's exit code (r3 rejected its build)"
assert_contains "$OUT" "r1" "jobrt reload output"
assert_contains "$OUT" "r2" "jobrt reload output"
assert_contains "$OUT" "r3" "jobrt reload output"
assert_contains "$(printf '%s\n' "$OUT" | grep -A3 "^r1")" "reloaded" "r1's outcome"
assert_contains "$(printf '%s\n' "$OUT" | grep -A3 "^r2")" "unchanged" "r2's outcome"
assert_contains "$(printf '%s\n' "$OUT" | grep -A3 "^r3")" "init failed" "r3's outcome"
grep -q "reload (jobrt reload, request [0-9]*): reloaded" "$(worker_log r1)" ||
    fail "r1 did not log the reload"
grep -q "new build rejected: .*init failed" "$(worker_log r3)" ||
    fail "r3 did not log the rejection"
install_in "$E2E_WORK/r3" b
OUT=$("$JOBRT_BIN" reload -r "$REDIS_URL" -q $Q 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "jobrt reload's exit code once every build is good: $OUT"
for w in r1 r2 r3; do stop_worker $w; assert_eq 0 "$WORKER_RC" "$w's exit code"; done
pass
