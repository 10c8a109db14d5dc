#!/usr/bin/env bash
# enqueue_ndjson.sh - every field of an NDJSON line given to `jobrt enqueue`
# takes effect against a real worker: "delay" and a future "not_before"
# wait in the delayed set and run after it, a past "expires_at" is
# dead-lettered as expired without running, "key" dedupes within one run
# and across runs (printing the first job's id), an unknown field is
# `stdin:LINE: unknown field 'x'` with exit 1 while the other lines are
# enqueued, and ids come out in input order across batches mixing plain
# XADDs and the ENQUEUE script.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
J=$JOBRT_BIN
Q=ndjson
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"

recorded() { grep -qx "$1" "$JOBRT_TESTKIT_RECORD"; }
times_recorded() { grep -cx "$1" "$JOBRT_TESTKIT_RECORD" || true; }
record_field() { json_get "$(job_status $Q "$1")" "$2"; }
job_dead_as() { job_has_status $Q "$1" dead &&
    [ "$(record_field "$1" reason)" = "$2" ]; }

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q
wait_for "worker to create its consumer group" 10 group_exists $Q

# ---- delay, not_before, expires_at, key in one run --------------------------

t0=$(now_ms)
cat >"$E2E_WORK/a.ndjson" <<EOF
{"job":"record","v":1,"payload":{},"id":"now-1"}
{"job":"record","v":1,"payload":{},"id":"delay-1","delay":"4s"}
{"job":"record","v":1,"payload":{},"id":"nb-1","not_before":$((t0 + 4000))}
{"job":"record","v":1,"payload":{},"id":"exp-1","expires_at":$((t0 - 1000))}
{"job":"record","v":1,"payload":{},"key":"k-1"}
{"job":"record","v":1,"payload":{},"key":"k-1","id":"dup-of-k-1"}
EOF
run_cmd "$J" enqueue $Q -r "$REDIS_URL" <"$E2E_WORK/a.ndjson"
assert_eq 0 "$RC" "exit code of the first NDJSON run ($ERR)"
# The delayed ones wait in the delayed set (4 s: far longer than the run).
assert_ge 2 "$(delayed_len $Q)" "jobs in the delayed set right after the run"
mapfile -t ids <<<"$OUT"
assert_eq 6 "${#ids[@]}" "ids printed for 6 lines ($OUT)"
assert_eq "now-1 delay-1 nb-1 exp-1" "${ids[*]:0:4}" "ids in input order"
key_id=${ids[4]}
case "$key_id" in
    [0-9]*-[0-9a-f]*) ;;
    *) fail "the keyed job needs a generated id, got '$key_id'" ;;
esac
assert_eq "$key_id" "${ids[5]}" "a duplicate key prints the first job's id"
assert_contains "$ERR" "stdin:6: duplicate: key 'k-1' was used by job \
$key_id within the dedupe window; nothing enqueued" "duplicate note"
assert_contains "$ERR" "5 job(s) enqueued to $Q, 1 duplicate(s)" "summary"
log "first run enqueued: ${ids[*]}"

wait_for "now-1 to run" 10 recorded now-1
wait_for "the keyed job to run" 10 recorded "$key_id"
wait_for "exp-1 to be dead-lettered as expired" 10 job_dead_as exp-1 expired
never_ran() { if recorded "$1"; then fail "$1 ran $2"; fi; }
never_ran exp-1 "although it had expired"
never_ran delay-1 "before its delay"
never_ran nb-1 "before its not_before"
wait_for "delay-1 to run after its delay" 15 recorded delay-1
wait_for "nb-1 to run after its not_before" 15 recorded nb-1
for id in delay-1 nb-1; do
    wait_for "record of $id" 10 job_has_status $Q "$id" succeeded
    started=$(record_field "$id" started_at)
    assert_ge $((t0 + 4000)) "$started" "started_at of $id"
done
assert_eq 1 "$(times_recorded "$key_id")" "runs of the keyed job"
never_ran dup-of-k-1 "although its key was a duplicate"

# ---- the key across runs, and "idempotency_key" as the same key ------------

run_cmd "$J" enqueue $Q -r "$REDIS_URL" \
    <<<'{"job":"record","v":1,"payload":{},"idempotency_key":"k-1"}'
assert_eq 0 "$RC" "exit code of a duplicate in a later run ($ERR)"
assert_eq "$key_id" "$OUT" "a later run's duplicate prints the first id"
assert_contains "$ERR" "stdin:1: duplicate: key 'k-1'" "later duplicate note"

# ---- an unknown field is a per-line error; the other lines go in -----------

printf '%s\n' '{"job":"record","v":1,"payload":{},"id":"u-1"}' \
    '{"job":"record","v":1,"payload":{},"id":"u-2","x":1}' \
    '{"job":"record","v":1,"payload":{},"id":"u-3","attempt":2}' \
    '{"job":"record","v":1,"payload":{},"id":"u-4","delay":"5s","at":1}' \
    '{"job":"record","v":1,"payload":{},"id":"u-5"}' >"$E2E_WORK/u.ndjson"
run_cmd "$J" enqueue $Q -r "$REDIS_URL" <"$E2E_WORK/u.ndjson"
assert_eq 1 "$RC" "exit code with bad lines ($ERR)"
assert_eq "u-1 u-5" "$(echo $OUT)" "ids of the good lines"
assert_contains "$ERR" "stdin:2: unknown field 'x'" "unknown field line"
assert_contains "$ERR" "stdin:3: field 'attempt' is set by the worker" \
    "worker field line"
assert_contains "$ERR" "stdin:4: \"delay\" and \"at\" both given" \
    "conflict line"
assert_eq 3 "$(printf '%s\n' "$ERR" | grep -c '^stdin:')" \
    "one line per bad line ($ERR)"
wait_for "u-1 to run" 10 recorded u-1
wait_for "u-5 to run" 10 recorded u-5
for id in u-2 u-3 u-4; do
    never_ran "$id" "although its line was rejected"
done

stop_worker w1
assert_eq 0 "$WORKER_RC" "worker exit code"

# ---- order across batches of plain XADDs and scripted jobs -----------------

# No worker on this queue: 2500 lines, every third with a key and every
# third with a due time in the past (scripted, enqueued at once), and line
# 2000 repeating line 3's key: its id comes back in its place.
B=batches
awk 'BEGIN {
    for (i = 1; i <= 2500; i++) {
        extra = ""
        if (i % 3 == 0) extra = ",\"key\":\"bk-" i "\""
        if (i % 3 == 1) extra = ",\"at\":100000000000"
        if (i == 2000) extra = ",\"key\":\"bk-3\""
        printf "{\"job\":\"record\",\"v\":1,\"payload\":{},"
        printf "\"id\":\"b-%d\"%s}\n", i, extra
    }
}' >"$E2E_WORK/b.ndjson"
run_cmd "$J" enqueue $B -r "$REDIS_URL" <"$E2E_WORK/b.ndjson"
assert_eq 0 "$RC" "exit code of the batch run ($(echo "$ERR" | tail -n 3))"
want=$(seq 1 2500 | sed -e 's/^2000$/3/' -e 's/^/b-/')
[ "$OUT" = "$want" ] || fail "ids of the batch run are not in input order"
assert_eq 2499 "$(xlen $B)" "entries in the stream of $B"
assert_eq 0 "$(delayed_len $B)" "jobs delayed in $B"

# ---- a Redis that hangs up: the jobs are reported, no silent death ---------

# jobrt enqueue connects, then waits for stdin (a fifo we hold open); Redis
# drops the connection; then a line and EOF: the XADD goes to a closed unix
# socket (EPIPE), which must be a line saying so, not a SIGPIPE death.
mkfifo "$E2E_WORK/in.fifo"
exec 7<>"$E2E_WORK/in.fifo"
timeout 30 "$J" enqueue hq -r "$REDIS_URL" <"$E2E_WORK/in.fifo" 7>&- \
    >"$E2E_WORK/hq.out" 2>"$E2E_WORK/hq.err" &
enq_pid=$!
clients() { rcli CLIENT LIST | grep -vc 'cmd=client' || true; }
wait_for "jobrt enqueue to connect" 10 eval '[ "$(clients)" -ge 1 ]'
assert_eq 1 "$(rcli CLIENT KILL TYPE normal SKIPME yes)" "connections killed"
printf '%s\n' '{"job":"record","v":1,"payload":{},"id":"h-1"}' >&7
exec 7>&-
wait_for "jobrt enqueue to exit" 10 pid_gone "$enq_pid"
hq_rc=0
wait "$enq_pid" || hq_rc=$?
assert_eq 1 "$hq_rc" "exit code when Redis hangs up ($(cat "$E2E_WORK/hq.err"))"
assert_contains "$(cat "$E2E_WORK/hq.err")" \
    "lost the connection to redis: Broken pipe; 1 job(s) of lines 1-1 may\
 or may not have been enqueued" \
    "the line when Redis hangs up"

pass
