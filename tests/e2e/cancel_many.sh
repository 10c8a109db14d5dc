#!/usr/bin/env bash
# cancel_many.sh - `jobrt cancel` of 1 500 ids in one call does not stall
# the workers' cancellation cursor: a later cancel is still seen, and jobs
# with the later id or any of the 1 500 are dead-lettered as cancelled and
# never run. A fresh worker also reads past what an older version wrote
# (1 200 ids with one score, in ms).
. "$(dirname "$0")/lib.sh"

e2e_setup
Q=cm
D=$(dlq_key $Q)
C="jobrt:{$Q}:cancelled"
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"

jobrt_q() { "$JOBRT_BIN" "$@" -q $Q -r "$REDIS_URL"; }
recorded() { grep -qx -- "$1" "$JOBRT_TESTKIT_RECORD"; }
# enqueue JOB ID [PAYLOAD]
enqueue()
{
    local payload=${3:-'{}'}
    "$JOBRT_BIN" enqueue $Q "$1" -v 1 --payload "$payload" --id "$2" \
        -r "$REDIS_URL" >/dev/null || fail "enqueue of $2 failed"
}

# finished ID: ran (recorded) or has a dead-letter record.
finished() { recorded "$1" || job_has_status $Q "$1" cancelled; }

# saw_cancel_of_running WORKER ID: the worker flagged running job ID.
saw_cancel_of_running()
{
    grep -q "job $2: cancel requested while running" "$(worker_log "$1")"
}

# witness WORKER ID: runs a long sleep job ID, cancels it, and waits until
# the worker flags it: proof the worker read the cancelled set up to that
# call. Prints nothing; returns 1 if the worker never did (within 10 s).
witness()
{
    local w=$1 id=$2
    enqueue sleep "$id" '{"ms":30000}'
    wait_for "$id to run" 10 eval '[ "$(xpending_count $Q)" -ge 1 ]'
    shift 2
    assert_exit 0 "cancel $* $id" jobrt_q cancel "$@" "$id"
    local deadline=$(($(now_ms) + 10000))
    until saw_cancel_of_running "$w" "$id"; do
        [ "$(now_ms)" -lt $deadline ] || return 1
        sleep 0.05
    done
}

# ---- one call with 1 500 ids, then one more ----------------------------------

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4
wait_for "w1 to create its consumer group" 10 group_exists $Q

mapfile -t MANY < <(seq -f 'cm-%04g' 0 1499)
assert_exit 0 "cancel of 1 500 ids" jobrt_q cancel "${MANY[@]}"
assert_contains "$OUT" "cancel requested for 1500 job(s)" "cancel output"
assert_eq 1500 "$(rcli ZCARD "$C")" "ids in the cancelled set"

# The later call cancels cm-later and a running job, whose flag shows that
# w1 has read the set up to this call.
saw=1
witness w1 cm-witness-1 cm-later || saw=0
log "w1 saw the later cancel: $saw"

IDS=(cm-later cm-0000 cm-0999 cm-1000 cm-1499)
for id in "${IDS[@]}" cm-control; do enqueue record $id; done
for id in "${IDS[@]}" cm-control; do
    wait_for "$id to be cancelled or run" 10 finished $id
done
for id in "${IDS[@]}"; do
    ! recorded $id || fail "$id ran although cancelled (w1 saw the later cancel: $saw)"
    e=$(find_entry "$D" id $id) || fail "no dead letter of $id"
    assert_eq cancelled "$(entry_field "$e" dlq_reason)" "dlq_reason of $id"
done
recorded cm-control || fail "cm-control, never cancelled, did not run"
[ $saw = 1 ] || fail "w1 never flagged the running cm-witness-1"
stop_worker w1 15
assert_eq 0 "$WORKER_RC" "w1 exit code after SIGTERM"

# ---- a fresh worker and what an older version wrote ---------------------------

# An older `jobrt cancel` gave every id of one call the same score, in ms.
old_ms=$(($(now_ms) - 60000))
mapfile -t OLD < <(seq -f 'old-%04g' 0 1199)
ARGS=()
for id in "${OLD[@]}"; do ARGS+=("$old_ms" "$id"); done
assert_eq 1200 "$(rcli ZADD "$C" "${ARGS[@]}")" "old-format ids added"

start_worker w2 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --concurrency 4
saw=1
witness w2 cm-witness-2 || saw=0
log "w2 saw the newest cancel: $saw"
IDS=(old-0000 old-1199 cm-0500 cm-1400)
for id in "${IDS[@]}" cm-control-2; do enqueue record $id; done
for id in "${IDS[@]}" cm-control-2; do
    wait_for "$id to be cancelled or run" 10 finished $id
done
for id in "${IDS[@]}"; do
    ! recorded $id || fail "$id ran although cancelled (w2 saw the newest cancel: $saw)"
done
recorded cm-control-2 || fail "cm-control-2, never cancelled, did not run"
[ $saw = 1 ] || fail "w2 never flagged the running cm-witness-2"
stop_worker w2 15
assert_eq 0 "$WORKER_RC" "w2 exit code after SIGTERM"

# ---- more than a worker remembers ----------------------------------------------
# Workers keep the newest 65 536 cancellations; past that jobrt cancel says
# so (the set above holds 2 700 + 2 witnesses + cm-later).
mapfile -t HUGE < <(seq -f 'huge-%06g' 1 65000)
assert_exit 0 "cancel of 65 000 more ids" jobrt_q cancel "${HUGE[@]}"
assert_contains "$ERR" "workers remember the newest 65536" \
    "the warning past what a worker remembers"
pass
