#!/usr/bin/env bash
# schedule.sh - `jobrt schedule`: a per-second schedule fired by three
# workers, one killed with kill -9 midway and restarted, for 20 s (120 s
# with E2E_LONG=1): afterwards every second in the window has exactly one
# job (a record per tick id sched-NAME-<ms>, consecutive seconds, none
# missing, and the stream got exactly as many entries as ticks: none
# twice). Then the missed policy after an outage (a due time written in
# the past): skip fires nothing and moves past now, once fires one job
# for the newest missed tick; overdue ticks under the limit are each
# fired, in batches;
# and a real outage (the only worker stopped for 6 s, the limit lowered
# to 3 s with JOBRT_SCHEDULE_MISSED_MS): one job for it, for the newest
# tick.
# And the command line: errors naming the flag (cron, zone, payload,
# name), list and list --json, replace keeping the next fire time, pause
# (no more jobs), resume, remove, and a hand-edited definition the
# workers log once and leave alone.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=sch
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
DUR=20
[ "${E2E_LONG:-}" = 1 ] && DUR=120
SCHED_KEY="jobrt:{$Q}:schedules"
DUE_KEY="jobrt:{$Q}:schedule_due"
FIRED_KEY="jobrt:{$Q}:schedule_fired"
see="(see 'jobrt schedule --help')"

usage_error() # DESC WANT CMD...: exit 2 and exactly the line WANT
{
    local desc=$1 want=$2
    shift 2
    assert_exit 2 "$desc" "$@"
    assert_eq "$want" "$ERR" "$desc: the error line"
}
worker() # NAME [QUEUE]
{
    start_worker "$1" --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
        --queue "${2:-$Q}" --concurrency 4 --lease 2s
}
fired_count() { rcli HGET "$FIRED_KEY" "$1" | awk '{ print $1 + 0 }'; }
# tick_ids QUEUE NAME: the tick times of NAME's job records, sorted
tick_ids()
{
    record_ids "$1" "sched-$2-" | sed "s/^sched-$2-//" | sort -n
}
entries_added()
{
    rcli XINFO STREAM "$(stream_key "$1")" |
        awk 'prev == "entries-added" { print; exit } { prev = $0 }'
}

# ---- command-line errors --------------------------------------------------
ADD=(schedule add)
usage_error "bad cron" \
    "jobrt schedule: --cron: cron expression '61 * * * *': minute field: '61': value out of range 0-59 $see" \
    J "${ADD[@]}" t $Q ok --cron '61 * * * *' -v 1 --payload '{}'
assert_exit 2 "bad zone" J "${ADD[@]}" t $Q ok --cron '* * * * *' \
    --tz Mars/Olympus -v 1 --payload '{}'
assert_contains "$ERR" "jobrt schedule: --tz: time zone 'Mars/Olympus'" \
    "bad zone: the error line"
assert_exit 2 "bad payload" J "${ADD[@]}" t $Q ok --cron '* * * * *' -v 1 \
    --payload '{"a":'
assert_contains "$ERR" "jobrt schedule: --payload: not valid JSON" \
    "bad payload: the error line"
usage_error "bad name" \
    "jobrt schedule: NAME 'a b' must be 1-64 characters of [A-Za-z0-9_.:-] $see" \
    J "${ADD[@]}" 'a b' $Q ok --cron '* * * * *' -v 1 --payload '{}'
usage_error "no --cron" "jobrt schedule: add needs --cron EXPR $see" \
    J "${ADD[@]}" t $Q ok -v 1 --payload '{}'
usage_error "bad --missed" \
    "jobrt schedule: --missed: expected skip or once, got 'all' $see" \
    J "${ADD[@]}" t $Q ok --cron '* * * * *' --missed all -v 1 --payload '{}'
usage_error "add-only flag on list" "jobrt schedule: --cron is for add $see" \
    J schedule list --cron '* * * * *'
usage_error "unknown subcommand" \
    "jobrt schedule: unknown subcommand 'run' (expected add, list, remove, pause or resume) $see" \
    J schedule run
assert_exit 1 "remove an unknown schedule" J schedule remove nope -q $Q
assert_eq "jobrt schedule: no schedule nope on queue $Q (see jobrt schedule list)" \
    "$ERR" "remove unknown: the error line"
assert_exit 1 "pause an unknown schedule" J schedule pause nope -q $Q
assert_eq 0 "$(rcli HLEN "$SCHED_KEY")" "definitions written by failed adds"

# ---- exactly once across a fleet, one worker killed midway ----------------
for w in w1 w2 w3; do worker $w; done
wait_for "the workers to create the group" 10 group_exists $Q
assert_exit 0 "add tick" J "${ADD[@]}" tick $Q ok --cron '* * * * * *' -v 1 \
    --payload '{"every":"second"}'
assert_contains "$OUT" "schedule tick added on queue $Q: ok v1" "add output"
t0=$(now_ms)
wait_for "the first tick" 5 eval '[ "$(fired_count tick)" -ge 1 ]'
wait_for "half the window" $((DUR / 2 + 2)) \
    eval '[ $(($(now_ms) - t0)) -ge $((DUR * 500)) ]'
log "kill -9 of w2 after $(fired_count tick) ticks"
kill -KILL "$(worker_pid w2)"
wait_worker_exit w2 5
worker w2b
wait_for "the whole window" $((DUR / 2 + 5)) \
    eval '[ $(($(now_ms) - t0)) -ge $((DUR * 1000)) ]'
assert_exit 0 "pause tick" J schedule pause tick -q $Q
assert_contains "$OUT" "schedule tick on queue $Q paused" "pause output"
n_paused=$(fired_count tick)
# a FIRE in flight when the pause was written loses its compare-and-set
wait_for "the queue to drain" 30 queue_idle $Q
ticks=$(tick_ids $Q tick)
n=$(wc -l <<<"$ticks")
first=$(head -n 1 <<<"$ticks")
lastt=$(tail -n 1 <<<"$ticks")
log "$n ticks fired from $first to $lastt over ${DUR}s"
assert_ge $((DUR - 2)) "$n" "ticks fired in ${DUR}s"
assert_eq $(((lastt - first) / 1000 + 1)) "$n" \
    "jobs for the seconds from the first tick to the last (none missing)"
gaps=$(awk 'NR > 1 && $1 - prev != 1000 { print prev "->" $1 } { prev = $1 }' \
    <<<"$ticks")
assert_eq "" "$gaps" "gaps between ticks"
assert_eq "$n" "$(entries_added $Q)" "stream entries added (none twice)"
assert_eq "$n" "$(fired_count tick)" "the fired count"
assert_eq "$n_paused" "$n" "ticks fired after the pause"
assert_eq 0 "$(dlq_len $Q)" "dead letters"
missing=0
for t in $ticks; do
    job_has_status $Q "sched-tick-$t" succeeded || missing=$((missing + 1))
done
assert_eq 0 "$missing" "tick jobs that did not succeed"

# ---- list, replace, resume, remove ----------------------------------------
assert_exit 0 "list" J schedule list
assert_contains "$OUT" "tick " "list shows tick"
assert_contains "$OUT" "ok@1" "list shows job@version"
assert_contains "$OUT" "1 schedule(s)" "list count"
assert_exit 0 "list --json" J schedule list -q $Q --json
assert_contains "$OUT" '"name":"tick","queue":"sch","cron":"* * * * * *","tz":"UTC"' \
    "list --json"
assert_contains "$OUT" '"paused":true' "list --json while paused"
assert_contains "$OUT" "\"fired\":$n" "list --json fired count"
assert_exit 0 "pause again" J schedule pause tick -q $Q
assert_contains "$OUT" "was already paused" "pausing twice"
assert_exit 0 "replace while paused" J "${ADD[@]}" tick $Q ok \
    --cron '* * * * * *' -v 1 --payload '{"every":"second","v":2}'
assert_contains "$OUT" "schedule tick on queue $Q replaced" "replace output"
assert_contains "$OUT" "it stays paused" "a replaced paused schedule"
assert_eq 0 "$(rcli ZCARD "$DUE_KEY")" "due entries while paused"
assert_exit 0 "resume" J schedule resume tick -q $Q
assert_contains "$OUT" "schedule tick on queue $Q resumed" "resume output"
wait_for "tick to fire again" 5 eval '[ "$(fired_count tick)" -gt "$n" ]'
assert_exit 0 "remove" J schedule remove tick -q $Q
assert_contains "$OUT" "schedule tick removed from queue $Q" "remove output"
n_removed=$(fired_count tick)
assert_eq 0 "$n_removed" "fired count after remove (cleared)"
after=$(entries_added $Q)
t1=$(now_ms)
wait_for "1.5 s to pass" 3 eval '[ $(($(now_ms) - t1)) -ge 1500 ]'
assert_eq "$after" "$(entries_added $Q)" "entries added after remove"
assert_exit 0 "list after remove" J schedule list -q $Q
assert_contains "$OUT" "0 schedule(s)" "list after remove"

# replace keeps the next fire time when cron and zone are unchanged
assert_exit 0 "add yearly" J "${ADD[@]}" yearly $Q ok --cron '0 0 1 1 *' \
    --tz Europe/Berlin -v 1 --payload '{}'
due1=$(rcli ZSCORE "$DUE_KEY" yearly)
assert_exit 0 "replace yearly" J "${ADD[@]}" yearly $Q ok \
    --cron '0 0 1 1 *' --tz Europe/Berlin -v 1 --payload '{"x":1}'
assert_contains "$OUT" "next fire time stays" "replace, same cron"
assert_eq "$due1" "$(rcli ZSCORE "$DUE_KEY" yearly)" "kept next fire time"
assert_exit 0 "replace yearly, other cron" J "${ADD[@]}" yearly $Q ok \
    --cron '0 12 1 1 *' --tz Europe/Berlin -v 1 --payload '{"x":1}'
assert_contains "$OUT" "next fire: " "replace, other cron"
assert_eq $((due1 + 12 * 3600000)) "$(rcli ZSCORE "$DUE_KEY" yearly)" \
    "next fire time of the new cron"

# ---- missed ticks: a due time written in the past -------------------------
# Both yearly (Jan 1, 00:00 UTC) and due on 2025-01-01: overdue by far more
# than 60 s, as if no worker had run since.
y2025=1735689600000 y2026=1767225600000 y2027=1798761600000
now=$(now_ms)
[ "$now" -gt "$y2026" ] && [ "$now" -lt "$y2027" ] ||
    fail "this part of the test assumes a date in 2026"
Q2=missed
W=(w1 w3 w2b)
for w in "${W[@]}"; do stop_worker "$w"; done
J "${ADD[@]}" skipper $Q2 ok --cron '0 0 1 1 *' -v 1 --payload '{}' >/dev/null
J "${ADD[@]}" oncer $Q2 ok --cron '0 0 1 1 *' --missed once -v 1 \
    --payload '{}' >/dev/null
# and one overdue by 80 s, under the limit (raised to 100 s for these
# workers): every tick fires, in more than one batch of 64
J "${ADD[@]}" recent $Q2 ok --cron '* * * * * *' -v 1 --payload '{}' \
    >/dev/null || fail "add recent"
recent_due=$((now / 1000 * 1000 - 80000))
rcli ZADD "jobrt:{$Q2}:schedule_due" $y2025 skipper $y2025 oncer \
    "$recent_due" recent >/dev/null
# a definition that is not one (hand-edited): logged once, left alone
rcli HSET "jobrt:{$Q2}:schedules" broken 'not json' >/dev/null
rcli ZADD "jobrt:{$Q2}:schedule_due" 1000 broken >/dev/null
JOBRT_SCHEDULE_MISSED_MS=100000 worker m1 $Q2
JOBRT_SCHEDULE_MISSED_MS=100000 worker m2 $Q2
F2="jobrt:{$Q2}:schedule_fired"
wait_for "oncer to fire" 10 eval '[ -n "$(rcli HGET "$F2" oncer)" ]'
wait_for "skipper to move on" 10 \
    eval '[ "$(rcli ZSCORE "jobrt:{$Q2}:schedule_due" skipper)" = $y2027 ]'
assert_eq "$y2027" "$(rcli ZSCORE "jobrt:{$Q2}:schedule_due" oncer)" \
    "oncer's next fire time"
assert_eq "1 $y2026" "$(rcli HGET "$F2" oncer)" \
    "once: one job, for the newest missed tick"
wait_for "job sched-oncer-$y2026 to run" 10 \
    job_has_status $Q2 "sched-oncer-$y2026" succeeded
assert_eq "" "$(rcli HGET "$F2" skipper)" "skip: no job"
assert_eq "" "$(tick_ids $Q2 skipper)" "skip: no job record"
fired_count_q2() { rcli HGET "$F2" "$1" | awk '{ print $1 + 0 }'; }
wait_for "recent to catch up" 10 eval '[ "$(fired_count_q2 recent)" -ge 81 ]'
wait_for "the queue to drain" 20 queue_idle $Q2
rt=$(tick_ids $Q2 recent)
assert_eq "$recent_due" "$(head -n 1 <<<"$rt")" \
    "under the limit: the oldest overdue tick fired"
gaps=$(awk 'NR > 1 && $1 - prev != 1000 { print prev "->" $1 } { prev = $1 }' \
    <<<"$rt")
assert_eq "" "$gaps" "under the limit: every overdue tick fired"
# the worker whose fire won says so (the other one's changed nothing)
grep -q "schedule skipper on queue $Q2: ticks from 2025-01-01 00:00:00+00:00 on were missed.*--missed skip: none fired" \
    "$(worker_log m1)" "$(worker_log m2)" ||
    fail "no worker logged the skip policy's missed ticks"
assert_contains "$(cat "$(worker_log m1)" "$(worker_log m2)")" \
    "overdue more than 100s" "the limit the workers read"
grep -q "one job for the newest, sched-oncer-$y2026" "$(worker_log m1)" \
    "$(worker_log m2)" || fail "no worker logged the once policy's job"
t2=$(now_ms)
wait_for "1 s to pass" 3 eval '[ $(($(now_ms) - t2)) -ge 1000 ]'
for w in m1 m2; do
    assert_eq 1 "$(grep -c "schedule broken in .* cannot be used" \
        "$(worker_log $w)")" "$w: lines about the broken definition"
done
assert_eq 1000 "$(rcli ZSCORE "jobrt:{$Q2}:schedule_due" broken)" \
    "the broken schedule is left as it is"
assert_exit 0 "list with a broken definition" J schedule list -q $Q2
assert_contains "$OUT" "cannot be used" "list shows the broken definition"
# ---- a live outage: every worker down longer than the limit ---------------
# (the limit lowered to 3 s for the test: JOBRT_SCHEDULE_MISSED_MS)
Q3=outage
F3="jobrt:{$Q3}:schedule_fired"
fired3() { rcli HGET "$F3" live | awk '{ print $1 + 0 }'; }
J "${ADD[@]}" live $Q3 ok --cron '* * * * * *' --missed once -v 1 \
    --payload '{}' >/dev/null || fail "add live"
JOBRT_SCHEDULE_MISSED_MS=3000 worker o1 $Q3
wait_for "live to fire" 10 eval '[ "$(fired3)" -ge 3 ]'
stop_worker o1
down=$(now_ms)
wait_for "6 s to pass" 8 eval '[ $(($(now_ms) - down)) -ge 6000 ]'
n3=$(fired3)
JOBRT_SCHEDULE_MISSED_MS=3000 worker o2 $Q3
up=$(now_ms)
wait_for "live to fire after the outage" 10 \
    eval '[ "$(fired3)" -ge $((n3 + 3)) ]'
wait_for "the queue to drain" 20 queue_idle $Q3
lt=$(tick_ids $Q3 live)
gaps=$(awk 'NR > 1 && $1 - prev != 1000 { print prev, $1 } { prev = $1 }' \
    <<<"$lt")
log "live: the gap of the outage: $gaps (down at $down, up at $up)"
assert_eq 1 "$(grep -c . <<<"$gaps")" "gaps in live's ticks (one: the outage)"
read -r before catchup <<<"$gaps"
assert_ge $((down - 2000)) "$before" "the last tick before the outage"
assert_ge $((up - 1000)) "$catchup" \
    "the one job of the outage is for the newest tick, not an old one"
grep -q "schedule live on queue $Q3: ticks from .* were missed .*--missed once: one job for the newest, sched-live-$catchup" \
    "$(worker_log o2)" || fail "o2 did not log the outage's one job"
pass
