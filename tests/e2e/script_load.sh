#!/usr/bin/env bash
# script_load.sh - a worker whose writer cannot load its Lua scripts takes
# no job: it could not ack, renew or release it.
#
# At start, with the (default) user allowed everything but SCRIPT/EVAL*
# by ACL: `jobrt run` exits 1 with one line (a configuration error). After
# a good start, the same ACL change and a CLIENT KILL of the writer
# connection alone (the reader stays blocked in XREADGROUP): the worker
# says once that it is not fetching and why, then nothing more; jobs
# enqueued meanwhile stay undelivered (none pending for the worker) and
# no connection of it blocks in XREADGROUP; once the ACL is restored the
# scripts load on a retry and the jobs run. (Before this was fixed the
# reader kept fetching: jobs ran and were never acked, and the outbox
# grew without bound.)
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=scripts
SOCK="$E2E_WORK/redis.sock"
NO_SCRIPTS=(-script -eval -evalsha -eval_ro -evalsha_ro)
# The default user, which the worker and this test log in as; ACL and
# CLIENT stay allowed, so the test can undo it.
deny_scripts() { rcli ACL SETUSER default "${NO_SCRIPTS[@]}" >/dev/null; }
allow_scripts() { rcli ACL SETUSER default +@all >/dev/null; }

# ---- at start --------------------------------------------------------------
deny_scripts
start_worker s1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q
wait_worker_exit s1 5
assert_eq 1 "$WORKER_RC" "exit code of a worker that cannot load scripts"
L=$(worker_log s1)
errors=$(grep -E '^[^ ]+ (ERROR|WARN) ' "$L" || true)
assert_eq 1 "$(printf '%s\n' "$errors" | grep -c .)" "ERROR/WARN lines"
want="ERROR worker: cannot start: redis at unix:$SOCK: writer connection:"
assert_contains "$errors" \
    "$want SCRIPT LOAD or a check of the commands it needs failed: NOPERM" \
    "the line"
assert_eq 0 "$(xpending_count $Q)" \
    "jobs delivered to a worker that never started"
allow_scripts

# An ACL that allows SCRIPT LOAD and XGROUP but denies the reads, or the
# script calls, is a configuration error at start too: one line, exit 1,
# not a worker that retries its reads (or drops its writes) forever.
for denied in xreadgroup evalsha; do
    rcli ACL SETUSER default "-$denied" >/dev/null
    start_worker "deny-$denied" --plugin-dir "$JOBRT_TESTKIT_DIR" \
        --redis "$REDIS_URL" --queue $Q
    wait_worker_exit "deny-$denied" 5
    assert_eq 1 "$WORKER_RC" "exit code with $denied denied"
    L=$(worker_log "deny-$denied")
    errors=$(grep -E '^[^ ]+ (ERROR|WARN) ' "$L" || true)
    assert_eq 1 "$(printf '%s\n' "$errors" | grep -c .)" \
        "ERROR/WARN lines with $denied denied"
    assert_contains "$errors" "cannot start: redis at unix:$SOCK" \
        "the line with $denied denied"
    assert_contains "$errors" "NOPERM" "the line with $denied denied"
    allow_scripts
done

# ---- after a good start ----------------------------------------------------
L=$(worker_log w1)
count_log() { grep -c -E "$1" "$L" || true; }
# log_has N ERE: at least N lines of the worker log match ERE.
log_has() { [ "$(count_log "$2")" -ge "$1" ]; }
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q
wait_for "the worker's consumer group" 10 group_exists $Q
assert_exit 0 "enqueue before" "$JOBRT_BIN" enqueue $Q ok -v 1 -d '{}' \
    --id before -r "$REDIS_URL"
wait_for "the first job" 10 job_has_status $Q before succeeded
wait_for "the stream to drain" 10 queue_idle $Q

# The writer is the worker's connection not blocked in XREADGROUP; the
# reader stays connected, blocked, and must stop fetching all the same.
writer_id()
{
    rcli CLIENT LIST | grep -v -E ' cmd=(xreadgroup|client\|list) ' |
        sed -n 's/^id=\([0-9]*\) .*/\1/p'
}
wid=$(writer_id)
[ -n "$wid" ] && [ "$(wc -w <<<"$wid")" = 1 ] ||
    fail "cannot tell the writer connection: $(rcli CLIENT LIST)"
deny_scripts
rcli CLIENT KILL ID "$wid" >/dev/null
log "scripts denied to the worker's user; its writer connection killed"
wait_for "the worker to say it is not fetching" 10 log_has 1 \
    "not fetching: the writer connection .* cannot load scripts: NOPERM"
wait_for "the writer connection to be back" 10 log_has 1 \
    "writer connection to .* restored"
for i in 1 2 3; do
    assert_exit 0 "enqueue j$i" "$JOBRT_BIN" enqueue $Q ok -v 1 -d '{}' \
        --id "j$i" -r "$REDIS_URL"
done
lines=$(grep -c . "$L")
# Nothing to wait for here but time: retries of SCRIPT LOAD go by (100 ms
# doubling), and none of them may deliver a job or log a line.
sleep 3
worker_alive w1 || fail "the worker exited after a good start"
assert_eq 0 "$(xpending_count $Q)" \
    "jobs delivered while the writer cannot load scripts"
assert_eq 3 "$(xlen $Q)" "undelivered jobs in the stream"
blocked=$(rcli CLIENT LIST | grep ' cmd=xreadgroup' |
    grep -E ' flags=[A-Za-z]*b' || true)
assert_eq "" "$blocked" "worker connections blocked in XREADGROUP"
assert_eq "$lines" "$(grep -c . "$L")" \
    "log lines while not fetching (the state is said once): $(tail -n 3 "$L")"
assert_eq 1 "$(count_log 'not fetching')" "'not fetching' lines"
line=$(grep 'not fetching' "$L")
assert_contains "$line" \
    "retrying in 100 ms, then with backoff doubling up to 5 s" \
    "the not-fetching line says how it retries"

allow_scripts
log "scripts allowed again"
wait_for "the scripts to load again" 10 log_has 1 \
    "scripts loaded after .*; fetching again"
for i in 1 2 3; do
    wait_for "j$i to run" 10 job_has_status $Q "j$i" succeeded
done
wait_for "the stream to drain" 10 queue_idle $Q
stop_worker w1
assert_eq 0 "$WORKER_RC" "exit code after SIGTERM"
pass
