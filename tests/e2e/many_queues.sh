#!/usr/bin/env bash
# many_queues.sh - one worker fleet serving several queues. Weighted
# (--queue critical:10 --queue default:3 --queue low:1, under a supervisor
# with two worker processes): while every queue has a backlog, the
# entries each queue's group has delivered follow the weights within
# 15 %, and low is not starved. Strict (--strict-priority): the low queue
# gets nothing but its idle probe until the high queue is empty. Then
# everything drains: every job has a succeeded record, nothing is dead,
# and a job enqueued on any queue later is still picked up at once. Also:
# a queue name ending in :digits is refused, and so are duplicates and
# weights with --strict-priority. /metrics counts each queue's jobs. A job
# id on two queues is cancelled on the one named only, and a paused queue
# holds the worker's other queues back in no way.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
# done_counts Q...: the outcome records of each queue, read in one script
# so that the counts are of one moment. (A group's entries-read is no
# count once the stream has been trimmed: Redis estimates it then.)
done_counts()
{
    rcli EVAL "$RECORDS_LUA local r = {} for _, q in ipairs(ARGV) do
        r[#r + 1] = n_of(records('jobrt:{' .. q .. '}:', '')) end
        return r" 0 "$@" | tr '\n' ' '
}
done_count() { done_counts "$1" | tr -d ' '; }
backlog() # QUEUE PREFIX N MS
{
    local i
    for ((i = 1; i <= $3; i++)); do
        printf '{"job":"sleep","v":1,"payload":{"ms":%d},"id":"%s-%d"}\n' \
            "$4" "$2" $i
    done | J enqueue "$1" >/dev/null || fail "enqueue on $1 failed"
}
all_succeeded() # QUEUE N: N outcome records (one per job id), all
{                 # succeeded, and no dead letter
    assert_eq "$2" "$(done_count "$1")" "outcome records on $1"
    local bad
    bad=$(($(record_count "$1") - $(record_count "$1" "" succeeded)))
    assert_eq 0 "$bad" "records on $1 that are not succeeded"
    assert_eq 0 "$(dlq_len "$1")" "dead letters on $1"
}

# ---- usage ------------------------------------------------------------------
assert_exit 2 "a weight out of range" "$JOBRT_BIN" run -p /nonexistent \
    -q a:0
assert_contains "$ERR" "--queue a:0: the weight after the last ':' must be" \
    "weight 0"
assert_exit 2 "a queue twice" "$JOBRT_BIN" run -p /nonexistent -q a -q a:2
assert_contains "$ERR" "queue a is given twice" "duplicate queue"
assert_exit 2 "weights and strict" "$JOBRT_BIN" run -p /nonexistent \
    -q a:2 -q b --strict-priority
assert_contains "$ERR" "--strict-priority takes the queues in the order" \
    "weights with --strict-priority"
assert_exit 2 "a name that ends like a weight" J enqueue report:2026 ok -v 1 --payload '{}'
assert_contains "$ERR" "must not end in ':' and digits" "report:2026"

# ---- weighted ---------------------------------------------------------------
N=6000
backlog critical c $N 2
backlog default d $N 2
backlog low l $N 2
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
start_worker fleet --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --workers 2 --concurrency 8 --http "127.0.0.1:$PORT" \
    --queue critical:10 --queue default:3 --queue low:1
half() { [ "$(done_count critical)" -ge $((N / 2)) ]; }
wait_for "half of critical to be done" 60 half
read -r c d l <<<"$(done_counts critical default low)"
log "done with critical half done: critical $c, default $d, low $l"
[ "$c" -lt "$N" ] || fail "critical drained before the snapshot"
total=$((c + d + l))
# each share within 15 % of weight / 14
for pair in "critical $c 10" "default $d 3" "low $l 1"; do
    set -- $pair
    want=$((total * $3 * 1000 / 14)) # in thousandths of a job
    got=$(($2 * 1000))
    lo=$((want * 85 / 100)) hi=$((want * 115 / 100))
    [ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ] ||
        fail "$1 ran $2 of $total jobs; its weight wants $((want / 1000))"
done
assert_exit 0 "jobrt stats" J stats
for q in critical default low; do
    assert_contains "$OUT" "$q" "stats lists $q"
done
wait_for "the three queues to drain" 120 eval \
    'queue_idle critical && queue_idle default && queue_idle low'
all_succeeded critical $N
all_succeeded default $N
all_succeeded low $N
# /metrics: each queue's own jobs and gauges
for q in critical default low; do
    expect_metric "$URL" $N jobrt_jobs_total queue=$q job=sleep version=1 \
        outcome=succeeded
    expect_metric "$URL" 0 jobrt_queue_waiting queue=$q
done
metrics_ok=$(grep -c "queues critical:10, default:3, low:1" \
    "$(worker_log fleet)")
[ "$metrics_ok" -ge 1 ] || fail "the start line does not list the queues"
stop_worker fleet

# ---- strict priority --------------------------------------------------------
M=300
backlog high h $M 5
backlog lower o $M 5
start_worker strict --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --concurrency 4 --strict-priority --queue high --queue lower
wait_for "high to drain" 60 queue_idle high
wait_for "lower to drain" 60 queue_idle lower
# From the records: lower jobs handed to a handler before the last high
# one was. Only the lower queue's idle probe at the start may bring one
# (and one handed back and read again).
early=$(rcli EVAL "$RECORDS_LUA
    local last = 0
    for _, r in pairs(records('jobrt:{high}:', '')) do
        local t = r.dispatched_at if t > last then last = t end end
    local n = 0
    for _, r in pairs(records('jobrt:{lower}:', '')) do
        if r.dispatched_at < last then n = n + 1 end end
    return n" 0)
log "lower jobs dispatched before the last high one: $early"
[ "$early" -le 2 ] || fail "lower ran $early jobs while high had work"
wait_for "lower to drain" 60 queue_idle lower
all_succeeded high $M
all_succeeded lower $M
# an idle queue of several still picks a new job up at once
t0=$(now_ms)
J enqueue lower ok -v 1 --payload '{}' --id late-1 >/dev/null
wait_for "late-1 to run" 5 job_has_status lower late-1 succeeded
log "late-1 on the idle queue ran $(($(now_ms) - t0)) ms after its enqueue"
stop_worker strict

# ---- each queue on its own: cancel and pause ---------------------------------
start_worker pair --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --concurrency 4 --queue qa:1 --queue qb:1
# the same job id on two queues: cancelling it on qa leaves qb's alone
for q in qa qb; do
    J enqueue $q sleep -v 1 --payload '{"ms":1500}' --id same >/dev/null
done
running_both() { [ "$(xpending_count qa)" = 1 ] && [ "$(xpending_count qb)" = 1 ]; }
wait_for "both 'same' jobs to run" 10 running_both
assert_exit 0 "cancel on qa" J cancel same -q qa
wait_for "qa's 'same' cancelled" 10 job_has_status qa same cancelled
wait_for "qb's 'same' to succeed" 10 job_has_status qb same succeeded
# a paused qa holds qb back in no way
assert_exit 0 "pause qa" J pause qa
wait_for "the worker to see the pause" 5 grep -q "queue qa is paused" \
    "$(worker_log pair)"
for i in $(seq 1 20); do
    J enqueue qa ok -v 1 --payload '{}' --id "pa-$i" >/dev/null
    J enqueue qb ok -v 1 --payload '{}' --id "pb-$i" >/dev/null
done
wait_for "qb's 20 jobs while qa is paused" 10 eval \
    '[ "$(done_count qb)" -ge 21 ]'
assert_eq 1 "$(done_count qa)" "qa records while paused (the cancelled one)"
assert_exit 0 "resume qa" J resume qa
wait_for "qa's jobs after the resume" 10 eval '[ "$(done_count qa)" -ge 21 ]'
stop_worker pair
pass
