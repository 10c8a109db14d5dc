#!/usr/bin/env bash
# retry.sh - a retry re-adds the entry (after its backoff in the delayed
# set) with attempt+1 and last_error, until the handler's max_attempts
# (lowered, never raised, by the envelope's max_attempts; the worker's
# --max-attempts for handlers that set none); then it is dead-lettered as
# retries_exhausted with its fields intact. A job that succeeds on a later
# attempt records how many it took. (Backoff timing itself: delivery.sh.)
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=rt
S=$(stream_key $Q)
D=$(dlq_key $Q)
# "record" jobs RETRY when they cannot open this file: a handler without
# its own max_attempts, so --max-attempts applies.
export JOBRT_TESTKIT_RECORD="$E2E_WORK/no-such-dir/record"

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4 --max-attempts 2 \
    --retry-base 50ms --retry-cap 200ms
wait_for "worker to create its consumer group" 10 group_exists $Q

rcli XADD "$S" '*' job retry v 1 payload '{"n":1}' id rt-1 trace keep-me \
    >/dev/null
rcli XADD "$S" '*' job retry v 1 payload '{}' id rt-2 max_attempts 2 >/dev/null
rcli XADD "$S" '*' job retry v 1 payload '{}' id rt-3 max_attempts 10 \
    >/dev/null
anon=$(rcli XADD "$S" '*' job retry v 1 payload '{}')
rcli XADD "$S" '*' job flaky v 1 payload '{"succeed_on":3}' id fl-1 >/dev/null
rcli XADD "$S" '*' job flaky v 1 payload '{"succeed_on":9}' id fl-9 >/dev/null
rcli XADD "$S" '*' job record v 1 payload '{}' id rec-1 >/dev/null

for id in rt-1 rt-2 rt-3 "$anon" fl-9 rec-1; do
    wait_for "$id to be dead" 20 job_has_status $Q "$id" dead
done
wait_for "fl-1 to succeed" 20 job_has_status $Q fl-1 succeeded
wait_for "stream $S to drain, nothing pending or delayed" 10 queue_idle $Q
log "all jobs finished"

# check_dead ID ATTEMPTS LAST_ERROR: the record and the dead letter of a
# job whose every attempt asked for a retry.
check_dead()
{
    local id=$1 attempts=$2 last_error=$3 rec e
    rec=$(job_status $Q "$id")
    assert_eq dead "$(json_get "$rec" status)" "status of $id"
    assert_eq retries_exhausted "$(json_get "$rec" reason)" "reason of $id"
    assert_eq "$attempts" "$(json_get "$rec" attempts)" "attempts of $id"
    e=$(find_entry "$D" id "$id") || fail "no dead letter with id $id"
    assert_eq retries_exhausted "$(entry_field "$e" dlq_reason)" \
        "dlq_reason of $id"
    assert_eq "$attempts" "$(entry_field "$e" attempt)" \
        "attempt field of $id's dead letter"
    if [ -n "$last_error" ]; then
        assert_eq "$last_error" "$(entry_field "$e" last_error)" \
            "last_error of $id's dead letter"
    fi
}

check_dead rt-1 3 "transient 2"
e=$(find_entry "$D" id rt-1)
assert_eq "transient 3" "$(entry_field "$e" dlq_error)" "dlq_error of rt-1"
assert_eq '[["job", "retry"], ["v", "1"], ["payload", "{\"n\":1}"], ["id", "rt-1"], ["trace", "keep-me"]]' \
    "$(entry_fields_before "$e" attempt)" \
    "rt-1's original fields after two re-adds"
check_dead rt-2 2 "transient 1"
check_dead rt-3 3 "transient 2"  # the envelope cannot raise the handler's 3
# Without an id field the job keeps its first stream id as its id.
check_dead "$anon" 3 "transient 2"
check_dead fl-9 5 "flaky: attempt 4 of 9"
check_dead rec-1 2 ""
assert_eq 6 "$(dlq_len $Q)" "dead letters"

rec=$(job_status $Q fl-1)
assert_eq 3 "$(json_get "$rec" attempts)" "attempts of fl-1"
assert_eq '{"attempt":3}' "$(json_get "$rec" result)" "result of fl-1"

# Each retry is logged at INFO with attempt/max; each dead letter once.
L=$(worker_log w1)
for a in 1 2; do
    grep -q "INFO  worker: job rt-1 (retry v1) attempt $a/3 failed" "$L" ||
        fail "no log line for rt-1's attempt $a/3"
done
assert_eq 1 "$(grep -c 'job rt-1 .*dead-lettered: retries_exhausted' "$L")" \
    "dead-letter lines for rt-1"

stop_worker w1 15
assert_eq 0 "$WORKER_RC" "worker exit code after SIGTERM"
pass
