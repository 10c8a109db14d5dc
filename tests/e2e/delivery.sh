#!/usr/bin/env bash
# delivery.sh - retry and scheduling guarantees against a real worker:
# backoff spacing within the policy, "retry after" honoured, permanent
# failures not retried, delayed jobs on time, expired jobs never run,
# idempotent enqueue, and a second SIGTERM exits at once without loss.
. "$(dirname "$0")/lib.sh"
e2e_setup

Q=dq
REC="$E2E_WORK/record"
export JOBRT_TESTKIT_RECORD="$REC"
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q "$Q" -c 4
wait_for "consumer group" 10 group_exists "$Q"
enq() { "$JOBRT_BIN" enqueue "$Q" -r "$REDIS_URL" "$@"; }

# --- backoff: retry_log has 4 attempts, base 400 ms, cap 1000 ms, full
# jitter: the wait before attempt n+1 is in [0, min(1000, 400*2^(n-1))],
# plus the promoter's tick (100 ms) and scheduling slack.
enq retry_log -v 1 --payload '{}' --id bo-1 >/dev/null
enq retry_after -v 1 --payload '{"ms":700}' --id ra-1 >/dev/null
enq fail -v 1 --payload '{}' --id pf-1 >/dev/null
wait_for "retry_log dead after 4 attempts" 20 job_has_status "$Q" bo-1 dead
rec=$(job_status "$Q" bo-1)
assert_eq retries_exhausted "$(json_get "$rec" reason)" "bo-1 reason"
assert_eq 4 "$(json_get "$rec" attempts)" "bo-1 attempts"
mapfile -t times < <(awk '$1 == "bo-1" {print $3}' "$REC")
assert_eq 4 "${#times[@]}" "bo-1 attempts logged"
for n in 1 2 3; do
    gap=$((times[n] - times[n - 1]))
    ceiling=$((400 << (n - 1)))
    [ "$ceiling" -gt 1000 ] && ceiling=1000
    log "wait before attempt $((n + 1)): ${gap} ms (policy: 0..${ceiling} ms)"
    [ "$gap" -ge 0 ] && [ "$gap" -le $((ceiling + 400)) ] ||
        fail "attempt $((n + 1)) came ${gap} ms after the previous one; the policy allows 0..${ceiling} ms"
done

# --- retry after: attempt 2 no sooner than 700 ms after attempt 1.
wait_for "retry_after job succeeds" 10 job_has_status "$Q" ra-1 succeeded
mapfile -t times < <(awk '$1 == "ra-1" {print $3}' "$REC")
assert_eq 2 "${#times[@]}" "ra-1 attempts"
gap=$((times[1] - times[0]))
log "retry_after 700 ms: second attempt after ${gap} ms"
[ "$gap" -ge 700 ] && [ "$gap" -le 1700 ] ||
    fail "retry after 700 ms came after ${gap} ms"

# --- permanent failure: dead at once, one attempt.
wait_for "fail job dead" 10 job_has_status "$Q" pf-1 dead
rec=$(job_status "$Q" pf-1)
assert_eq permanent_failure "$(json_get "$rec" reason)" "pf-1 reason"
assert_eq 1 "$(json_get "$rec" attempts)" "pf-1 attempts"

# --- delayed: starts no sooner than asked, and within 1 s of it.
t0=$(now_ms)
enq ok -v 1 --payload '{}' --id dl-1 --delay 1500ms >/dev/null
assert_eq 1 "$(rcli ZCARD "jobrt:{$Q}:delayed")" "delayed set holds the job"
wait_for "delayed job runs" 10 job_has_status "$Q" dl-1 succeeded
started=$(json_get "$(job_status "$Q" dl-1)" started_at)
late=$((started - t0 - 1500))
log "delayed 1500 ms: started ${late} ms after its due time"
[ "$late" -ge -20 ] && [ "$late" -le 1000 ] ||
    fail "delayed job started ${late} ms off its due time"
at=$(($(now_ms) + 1200))
enq ok -v 1 --payload '{}' --id at-1 --at "$at" >/dev/null
wait_for "--at job runs" 10 job_has_status "$Q" at-1 succeeded
started=$(json_get "$(job_status "$Q" at-1)" started_at)
[ "$started" -ge $((at - 20)) ] || fail "--at job ran $((at - started)) ms early"

# --- expired: never runs, dead-lettered as expired.
enq record -v 1 --payload '{}' --id ex-1 --expires-in 1s --delay 2s >/dev/null
rcli XADD "$(stream_key "$Q")" '*' job record v 1 payload '{}' id ex-2 \
    expires_at $(($(now_ms) - 1)) >/dev/null
wait_for "ex-1 expired" 10 job_has_status "$Q" ex-1 dead
wait_for "ex-2 expired" 10 job_has_status "$Q" ex-2 dead
assert_eq expired "$(json_get "$(job_status "$Q" ex-1)" reason)" "ex-1 reason"
assert_eq expired "$(json_get "$(job_status "$Q" ex-2)" reason)" "ex-2 reason"
if grep -q '^ex-' "$REC"; then fail "an expired job ran"; fi

# --- idempotency: the second enqueue with the key returns the first id.
first=$(enq ok -v 1 --payload '{}' --id idem-1 --key order-42 --dedupe-window 1h)
second=$(enq ok -v 1 --payload '{}' --id idem-2 --key order-42 --dedupe-window 1h 2>/dev/null)
assert_eq idem-1 "$first" "first id"
assert_eq idem-1 "$second" "duplicate returns the first id"
wait_for "idem-1 runs" 10 job_has_status "$Q" idem-1 succeeded
run_cmd job_status "$Q" idem-2
assert_ne 0 "$RC" "the duplicate never ran"

# --- a second SIGTERM: exit at once, the running job is handed back.
enq sleep -v 1 --payload '{"ms":60000}' --id long-1 >/dev/null
wait_for "long job running" 10 eval '[ "$(xpending_count "$Q")" = 1 ]'
pid=$(worker_pid w1)
kill -TERM "$pid"
wait_for "first SIGTERM logged" 5 grep -q "SIGTERM: stopping" "$(worker_log w1)"
t0=$(now_ms)
kill -TERM "$pid"
wait_worker_exit w1 10
log "exited $(($(now_ms) - t0)) ms after the second SIGTERM"
assert_eq 0 "$WORKER_RC" "exit code after two SIGTERMs"
assert_eq 0 "$(xpending_count "$Q")" "nothing left pending"
entry=$(find_entry "$(stream_key "$Q")" id long-1) ||
    fail "the running job was not handed back to the stream"
pass
