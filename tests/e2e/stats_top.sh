#!/usr/bin/env bash
# stats_top.sh - `jobrt stats --json` against a known workload, exactly:
# 3 jobs done and 2 dead-lettered (DLQ 2), 1 parked (a version no plugin
# serves, --park-ttl), 2 delayed (--delay), 1 running (a sleep job holding
# the worker's only slot) and 4 queued behind it; the rate is above 0
# within seconds of the burst. Then `jobrt top` in a detached tmux session of a
# fixed size: the frame shows the queue's numbers and the live worker; q,
# Ctrl-C and SIGTERM each end it with exit 0 and the terminal's mode
# (stty -a) exactly as before; on a short terminal a last line counts the
# rows that did not fit. Not on a terminal: one plain frame, without "q to
# quit". -q and JOBRT_QUEUE name the queue; without one, every queue of the
# index is listed, one whose workers all died marked.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux is not installed"
e2e_setup
J=$JOBRT_BIN
Q=st
TMUX_CMD=(tmux -L "jobrt-e2e-$$" -f /dev/null)
tmux_stop() { "${TMUX_CMD[@]}" kill-server >/dev/null 2>&1 || true; }
trap 'rc=$?; tmux_stop; (exit $rc); e2e_cleanup' EXIT

enq() { "$J" enqueue $Q "$@" -r "$REDIS_URL" >/dev/null 2>&1; }
stats_json() { "$J" stats $Q --json -r "$REDIS_URL"; }
# stat NAME: one number of the queue in `jobrt stats --json`
stat() { json_get "$(stats_json)" queues 0 "$1"; }
stat_is() { [ "$(stat "$1")" = "$2" ]; }

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --consumer w1 -c 1 --park-ttl 1h --shutdown-timeout 1s

for i in 1 2 3; do enq ok -v 1 --payload '{}' --id ok-$i; done
for i in 1 2; do enq fail -v 1 --payload '{}' --id fail-$i; done
wait_for "3 done, 2 dead in w1's record" 10 \
    eval 'stat_is done 3 && stat_is dead 2'
# the rate needs two heartbeats (1 s apart) that saw the count grow
rate_up() { awk -v r="$(stat rate)" 'BEGIN { exit !(r > 0) }'; }
wait_for "a rate above 0 after 5 jobs settled" 5 rate_up

enq versioned -v 9 --payload '{}' --id parked-1
wait_for "one parked" 10 stat_is parked 1
for i in 1 2; do enq ok -v 1 --payload '{}' --delay 1h --id later-$i; done
enq sleep -v 1 --payload '{"ms":120000}' --id busy-1
wait_for "the sleep job running" 10 stat_is running 1
for i in 1 2 3 4; do enq ok -v 1 --payload '{}' --id wait-$i; done

doc=$(stats_json)
q() { json_get "$doc" queues 0 "$@"; }
assert_eq 1 "$(json_get "$doc" queues | "$E2E_PY" -c \
    'import json,sys; print(len(json.load(sys.stdin)))')" "queues listed"
assert_eq $Q "$(q queue)" "queue"
assert_eq 4 "$(q waiting)" "waiting"
assert_eq 2 "$(q delayed)" "delayed"
assert_eq 1 "$(q parked)" "parked"
assert_eq 1 "$(q running)" "running"
assert_eq 2 "$(q pending)" "pending (running + parked)"
assert_eq 2 "$(q dlq)" "dlq"
assert_eq 1 "$(q live_workers)" "live workers"
assert_eq 3 "$(q done)" "done"
assert_eq 0 "$(q retried)" "retried"
assert_eq 2 "$(q dead)" "dead"
assert_eq 0 "$(q workers_without_counters)" "workers without counters"
assert_eq '[{"job":"versioned","version":9,"count":1}]' \
    "$(q parked_pairs)" "parked pairs"
assert_ge 0 "$(q oldest_waiting_ms)" "oldest waiting age"
assert_eq "$(rcli XLEN "$(dlq_key $Q)")" "$(q dlq)" "dlq against XLEN"

assert_exit 0 "jobrt stats" "$J" stats $Q -r "$REDIS_URL"
printf '%s\n' "$OUT" | grep -Eq "^$Q +4 +2 +1 +1 +2 +[0-9.]+s +1 +[0-9.]+ +3 +0 +2$" ||
    fail "jobrt stats row: $OUT"
assert_contains "$OUT" "  $Q: parked versioned v9: 1" "jobrt stats pairs"
# without QUEUE: every live queue of the namespace (this one)
assert_exit 0 "jobrt stats (all)" "$J" stats -r "$REDIS_URL"
printf '%s\n' "$OUT" | grep -Eq "^$Q +4 +2 +1 +1 +2 " ||
    fail "jobrt stats (all queues): $OUT"

# -q and JOBRT_QUEUE name the queue as QUEUE does
assert_exit 0 "jobrt stats -q" "$J" stats -q $Q --json -r "$REDIS_URL"
assert_eq $Q "$(json_get "$OUT" queues 0 queue)" "stats -q's queue"
assert_eq 4 "$(json_get "$OUT" queues 0 waiting)" "stats -q's waiting"
assert_exit 0 "JOBRT_QUEUE=$Q jobrt stats" \
    env JOBRT_QUEUE=$Q "$J" stats --json -r "$REDIS_URL"
assert_eq 1 "$(json_get "$OUT" queues | "$E2E_PY" -c \
    'import json,sys; print(len(json.load(sys.stdin)))')" \
    "queues listed with JOBRT_QUEUE"
assert_exit 2 "jobrt stats QUEUE -q OTHER" "$J" stats $Q -q other \
    -r "$REDIS_URL"

# a queue whose workers all died (its index score an hour old) is listed
# without QUEUE, marked as having no live worker
rcli ZADD jobrt:queues $(( $(date +%s) * 1000 - 3600000 )) gone >/dev/null
"$J" enqueue gone ok -v 1 --payload '{}' -r "$REDIS_URL" >/dev/null 2>&1
assert_exit 0 "jobrt stats --json (all)" "$J" stats --json -r "$REDIS_URL"
assert_eq "gone $Q" "$(json_get "$OUT" queues | "$E2E_PY" -c \
    'import json,sys; print(" ".join(q["queue"] for q in json.load(sys.stdin)))')" \
    "every queue of the index, by name"
assert_eq 0 "$(json_get "$OUT" queues 0 live_workers)" "gone's live workers"
assert_eq 1 "$(json_get "$OUT" queues 0 waiting)" "gone's waiting job"
assert_exit 0 "jobrt stats (all, with gone)" "$J" stats -r "$REDIS_URL"
assert_contains "$OUT" "  gone: no live worker (the last heartbeat was 1h" \
    "gone marked"
assert_not_contains "$OUT" "  $Q: no live worker" "$Q not marked"

# ---- top, not on a terminal: one plain frame
assert_exit 0 "jobrt top, not a terminal" "$J" top $Q -r "$REDIS_URL"
assert_contains "$OUT" "QUEUE" "top's plain frame"
assert_not_contains "$OUT" "q to quit" "top's plain frame: no keys to press"
assert_contains "$OUT" " w1 " "top's plain frame lists w1"
assert_not_contains "$OUT" $'\x1b' "top's plain frame has no escapes"
assert_contains "$ERR" "not a terminal: printed one frame" "top, no tty"

# ---- top on a terminal (tmux, 160x40)
"${TMUX_CMD[@]}" new-session -d -s top -x 160 -y 40 \
    "env -i PATH=$PATH TERM=xterm HOME=$E2E_WORK bash --norc --noprofile" ||
    fail "tmux new-session"
pane() { "${TMUX_CMD[@]}" capture-pane -p -t top; }
pane_has() { pane | grep -Eq "$1"; }
# run_top N: starts top in the pane; its exit code and the terminal mode
# after it go to the pane and to files
run_top()
{
    "${TMUX_CMD[@]}" send-keys -t top "stty -a > $E2E_WORK/stty.before.$1; \
$J top $Q -r $REDIS_URL --interval 200ms; echo TOP_EXIT_$1=\$?; \
stty -a > $E2E_WORK/stty.after.$1" Enter
    wait_for "top $1 shows the queue's numbers" 15 \
        pane_has "^$Q +4 +2 +1 +1 +2 "
    wait_for "top $1 shows worker w1" 5 pane_has " w1 +[^ ]+ +[0-9]+ running +1/1 "
    pane_has "^jobrt top - namespace jobrt, group jobrt, every 200ms" ||
        fail "top $1 title: $(pane)"
}
# ended N: top exited 0 and left the terminal's mode as it found it
ended()
{
    wait_for "top $1 to exit" 10 pane_has "^TOP_EXIT_$1=0$"
    wait_for "stty after top $1" 5 test -s "$E2E_WORK/stty.after.$1"
    diff "$E2E_WORK/stty.before.$1" "$E2E_WORK/stty.after.$1" ||
        fail "top $1 left the terminal in another mode"
    grep -q -- ' icanon ' "$E2E_WORK/stty.after.$1" ||
        fail "no icanon after top $1"
}

run_top 1
"${TMUX_CMD[@]}" send-keys -t top q
ended 1

run_top 2
"${TMUX_CMD[@]}" send-keys -t top C-c
ended 2

run_top 3
shell=$("${TMUX_CMD[@]}" display -p -t top '#{pane_pid}')
top_pid=$(pgrep -P "$shell" -f "top $Q") || fail "no top process under $shell"
kill -TERM "$top_pid"
ended 3

# ---- a terminal too short for the workers: a last line says how many
# more there are
"${TMUX_CMD[@]}" new-session -d -s short -x 160 -y 8 \
    "$J top -r $REDIS_URL --interval 200ms" || fail "tmux new-session short"
short_pane() { "${TMUX_CMD[@]}" capture-pane -p -t short; }
short_has_more() { short_pane | grep -Eq '^\.\.\. and [0-9]+ more'; }
wait_for "top on 8 rows says what did not fit" 15 short_has_more
short_pane | grep -q "q to quit" || fail "live top's title: $(short_pane)"
"${TMUX_CMD[@]}" kill-session -t short

tmux_stop
# the sleep job is handed back at the stop (its cancel flag ends it)
stop_worker w1
pass
