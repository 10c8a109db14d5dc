#!/usr/bin/env bash
# events.sh - job lifecycle events (`jobrt events`, docs/events.md): off
# by default (no events stream after jobs ran); switched on, a job that
# runs for 100 ms or more yields enqueued, started, completed in that
# order (a quick one: enqueued, completed, however the ticks fall), one
# that fails once yields retried then completed, a permanent failure
# dead_lettered with its reason, a job no plugin serves parked; the
# stream stays bounded near --max-len; `jobrt events tail` prints the
# events and --follow prints new ones as they come; `jobrt events off`
# stops new events within 1 s while jobs keep running.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=ev
EV="jobrt:{$Q}:events"
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 2 --retry-base 50ms --retry-cap 100ms

# ---- off by default ----------------------------------------------------------
assert_exit 0 "enqueue with events off" J enqueue $Q ok -v 1 \
    --payload '{}' --id off-1
wait_for "off-1 to succeed" 10 job_has_status $Q off-1 succeeded
assert_eq 0 "$(rcli EXISTS "$EV")" "the events stream with events off"
assert_exit 0 "events status (off)" J events status $Q
assert_contains "$OUT" "lifecycle events off" "status while off"

# ---- on ----------------------------------------------------------------------
assert_exit 0 "events on" J events on $Q --max-len 50
assert_contains "$OUT" "lifecycle events on for queue $Q" "events on output"
assert_eq 50 "$(rcli HGET "jobrt:{$Q}:events:config" max_len)" "the setting"
wait_for "w1 to switch events on" 5 grep -q \
    "lifecycle events are on for queue $Q" "$(worker_log w1)"
assert_exit 0 "events status (on)" J events status $Q
assert_contains "$OUT" "lifecycle events on, max len ~50" "status while on"

# types_of ID: the event types of job ID, oldest first, one line, as
# `jobrt events tail --json` prints them (a line per job, also of a
# worker's batch entry).
types_of()
{
    J events tail $Q --json -n 10000 | "$E2E_PY" -c '
import json, sys
print("".join(e["type"] + " " for e in map(json.loads, sys.stdin)
              if e.get("id") == sys.argv[1]))' "$1"
}
types_are() { [ "$(types_of "$1")" = "$2" ]; }

# a job that runs for 100 ms or more has a started event; one done sooner
# has none, even when a tick falls while it runs (one event per job in a fast drain)
assert_exit 0 "enqueue sl-1" J enqueue $Q sleep -v 1 --payload '{"ms":400}' \
    --id sl-1
wait_for "sl-1's events" 10 types_are sl-1 "enqueued started completed "
# a handler's progress report (ABI 1.2) is an event too
assert_exit 0 "enqueue pr-1" J enqueue $Q progress -v 1 \
    --payload '{"ms":600,"message":"half way"}' --id pr-1
wait_for "pr-1's events" 10 types_are pr-1 \
    "enqueued started progress completed "
assert_exit 0 "enqueue ok-1" J enqueue $Q ok -v 1 --payload '{}' --id ok-1
wait_for "ok-1's events" 10 types_are ok-1 "enqueued completed "
# six 60 ms jobs: a tick falls inside most of them, and none has a
# started event (one would have for most under "running at a tick")
for i in 1 2 3 4 5 6; do
    J enqueue $Q sleep -v 1 --payload '{"ms":60}' --id q6-$i >/dev/null ||
        fail "enqueue q6-$i"
    wait_for "q6-$i's events" 10 types_are q6-$i "enqueued completed "
done

assert_exit 0 "enqueue fl-1" J enqueue $Q flaky -v 1 \
    --payload '{"succeed_on":2}' --id fl-1
wait_for "fl-1's events" 10 types_are fl-1 \
    "enqueued retried completed "

assert_exit 0 "enqueue dead-1" J enqueue $Q fail -v 1 --payload '{}' \
    --id dead-1
wait_for "dead-1's events" 10 types_are dead-1 \
    "enqueued dead_lettered "

assert_exit 0 "enqueue park-1" J enqueue $Q no_such_job -v 1 \
    --payload '{}' --id park-1
wait_for "park-1's events" 10 types_are park-1 "enqueued parked "

# the fields, as `jobrt events tail --json` prints them
assert_exit 0 "events tail --json" J events tail $Q --json -n 50
tail_json=$OUT
line_of() { grep "\"id\":\"$1\"" <<<"$tail_json" | grep "\"type\":\"$2\""; }
l=$(line_of fl-1 retried) || fail "no retried event of fl-1 in: $tail_json"
assert_eq 2 "$(json_get "$l" attempt)" "fl-1 retried: the next attempt"
assert_eq flaky "$(json_get "$l" job)" "fl-1 retried: job"
assert_eq 1 "$(json_get "$l" v)" "fl-1 retried: v"
assert_contains "$(json_get "$l" error)" "attempt 1" "fl-1 retried: error"
assert_contains "$(json_get "$l" worker)" "-$(worker_pid w1)" \
    "fl-1 retried: worker (the consumer)"
l=$(line_of dead-1 dead_lettered) || fail "no dead_lettered event of dead-1"
assert_eq permanent_failure "$(json_get "$l" reason)" "dead-1: reason"
assert_eq "permanent: bad input" "$(json_get "$l" error)" "dead-1: error"
l=$(line_of park-1 parked) || fail "no parked event of park-1"
assert_eq no_handler "$(json_get "$l" reason)" "park-1: reason"
l=$(line_of sl-1 started) || fail "no started event of sl-1"
assert_eq 1 "$(json_get "$l" attempt)" "sl-1 started: attempt"
at=$(json_get "$l" at)
[ "$at" -gt $(($(now_ms) - 60000)) ] || fail "sl-1 started: at $at"

# the text form
assert_exit 0 "events tail" J events tail $Q -n 50
assert_contains "$OUT" " completed ok-1 ok v1 " "tail prints the events"
assert_contains "$OUT" " dead_lettered dead-1 fail v1 " "tail: dead_lettered"

# ---- tail --follow -----------------------------------------------------------
F=$E2E_WORK/follow.out
"$JOBRT_BIN" events tail $Q --follow -n 0 -r "$REDIS_URL" >"$F" 2>&1 &
TAIL_PID=$! # a failure below leaves it: it ends when redis-server does
wait_for "tail to start" 5 eval "rcli CLIENT LIST | grep -q 'cmd=xread'"
assert_exit 0 "enqueue fo-1" J enqueue $Q ok -v 1 --payload '{}' --id fo-1
wait_for "tail --follow to print fo-1 completed" 10 grep -q \
    " completed fo-1 ok v1 " "$F"
grep -q " ok-1 " "$F" && fail "--follow -n 0 printed an old event"
kill "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null || true

# ---- bounded -----------------------------------------------------------------
for ((i = 1; i <= 300; i++)); do
    printf '{"job":"ok","v":1,"payload":{},"id":"b-%d"}\n' $i
done | J enqueue $Q >/dev/null || fail "enqueue of the batch failed"
wait_for "the batch to run" 30 job_has_status $Q b-300 succeeded
wait_for "b-300's completed event" 5 eval \
    "rcli --raw XREVRANGE '$EV' + - COUNT 20 | grep -q '\"id\":\"b-300\"'"
n=$(rcli XLEN "$EV")
log "events stream length after 300 enqueued and 300 completed events with --max-len 50: $n"
# MAXLEN ~ trims whole stream nodes (stream-node-max-entries 100)
[ "$n" -ge 50 ] && [ "$n" -le 160 ] || fail "events stream length $n"

# ---- off ---------------------------------------------------------------------
for ((i = 1; i <= 300; i++)); do
    printf '{"job":"sleep","v":1,"payload":{"ms":20},"id":"s-%d"}\n' $i
done | J enqueue $Q >/dev/null || fail "enqueue of the sleepers failed"
busy() { [ "$(xpending_count $Q)" -gt 0 ]; }
wait_for "the sleepers to run" 10 busy
assert_exit 0 "events off" J events off $Q
t0=$(now_ms)
assert_contains "$OUT" "lifecycle events off for queue $Q" "off output"
wait_for "1 s to pass" 3 eval '[ $(($(now_ms) - t0)) -ge 1000 ]'
last() { rcli XREVRANGE "$EV" + - COUNT 1 | head -1; }
l1=$(last)
done1=$(record_count "$Q" s-)
wait_for "1 more second" 3 eval '[ $(($(now_ms) - t0)) -ge 2000 ]'
done2=$(record_count "$Q" s-)
log "sleepers done 1 s after off: $done1, 2 s after: $done2"
[ "$done2" -gt "$done1" ] || fail "no sleeper finished between 1 s and 2 s"
assert_eq "$l1" "$(last)" "the newest event between 1 s and 2 s after off"
wait_for "w1 to log events off" 2 grep -q \
    "lifecycle events are off for queue $Q" "$(worker_log w1)"
assert_exit 0 "events off again" J events off $Q
assert_contains "$OUT" "were not on" "off twice"
pass
