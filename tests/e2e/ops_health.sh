#!/usr/bin/env bash
# ops_health.sh - readiness tells the truth: /readyz (and the health file,
# and systemd through sd_notify) goes red within 5 s when Redis is
# stopped, when Redis stops answering (CLIENT PAUSE) and when the worker's
# loop is wedged (SIGSTOP), and green again once each recovers; /healthz
# stays green throughout (the supervisor's loop turns). systemd's messages
# are read from a notify socket the test listens on: READY=1 once,
# WATCHDOG=1 pings, STOPPING=1 on SIGTERM, all from the supervisor (its
# worker processes never get NOTIFY_SOCKET).
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=opsh
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
HF="$E2E_WORK/healthy"
NS="$E2E_WORK/notify.sock"
NOTES="$E2E_WORK/notify.log"

# The notify socket: one line per datagram, "<sender pid> <message>".
"$E2E_PY" - "$NS" "$NOTES" <<'EOF' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = -1
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        for line in msg.decode().split("\n"):
            out.write("%d %s\n" % (pid, line))
EOF
LISTENER=$!
trap 'rc=$?; kill $LISTENER 2>/dev/null; (exit $rc); e2e_cleanup' EXIT # keep lib.sh's cleanup
wait_for "the notify socket" 5 test -S "$NS"

NOTIFY_SOCKET=$NS WATCHDOG_USEC=1000000 start_worker w1 \
    --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" --queue $Q \
    --workers 1 --http "127.0.0.1:$PORT" --health-file "$HF"
SUP=$(worker_pid w1)

ready() { curl -fsS "$URL/readyz" >/dev/null; }
not_ready() { ! ready && curl -sS "$URL/readyz" | grep -q '^not ready'; }
alive() { curl -fsS "$URL/healthz" | grep -q '^ok'; }
job_runs() { # a job enqueued now finishes
    local id
    id=$("$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' -r "$REDIS_URL") &&
        wait_for "job $id to succeed" 10 job_has_status $Q "$id" succeeded
}
green() { # DESC: ready, file present, a job runs
    wait_for "/readyz green ($1)" 10 ready
    wait_for "health file present ($1)" 2 test -f "$HF"
    job_runs
}
# red DESC: red within 5 s of the cause, the file gone, the loop alive.
red() {
    wait_for "/readyz red within 5 s ($1)" 5 not_ready
    wait_for "health file removed ($1)" 1 test ! -e "$HF"
    alive || fail "/healthz went red too ($1)"
    log "not ready: $(curl -sS "$URL/readyz" | tr '\n' '|')"
}

green "start"
grep -q "^$SUP READY=1" "$NOTES" || fail "no READY=1 from the supervisor: $(cat "$NOTES")"
assert_contains "$(cat "$HF")" "$SUP ready" "the health file"

# 1. Redis stopped
stop_redis
red "Redis stopped"
assert_contains "$(curl -sS "$URL/readyz")" "not connected to Redis" "why"
start_redis
green "Redis back"

# 2. Redis connected but answering nothing
rcli CLIENT PAUSE 7000 ALL >/dev/null
red "Redis paused"
green "Redis unpaused"
# ... and stays green: a read held up by the pause blocks its full 5 s
# after it, which is no stalled fetch loop
stays_green() {
    local until=$(($(now_ms) + 7000))
    while [ "$(now_ms)" -lt "$until" ]; do
        ready || return 1
        sleep 0.2
    done
}
stays_green || fail "/readyz went red again after the pause: $(curl -sS "$URL/readyz" | tr '\n' '|')"

# 3. the worker's loop wedged (the supervisor kills a wedged worker only
#    after 15 s; resumed before that)
wpid=$(curl -fsS "$URL/readyz" | sed -n 's/^worker 1 pid \([0-9]*\):.*/\1/p')
[ -n "$wpid" ] || fail "no worker pid in /readyz"
kill -STOP "$wpid"
red "worker loop stopped"
assert_contains "$(curl -sS "$URL/readyz")" "loop has not turned" "why"
kill -CONT "$wpid"
green "worker loop resumed"
assert_eq "$wpid" "$(curl -fsS "$URL/readyz" | sed -n 's/^worker 1 pid \([0-9]*\):.*/\1/p')" \
    "the same worker process serves (it was not replaced)"

pings=$(grep -c "^$SUP WATCHDOG=1$" "$NOTES" || true)
assert_ge 5 "$pings" "watchdog pings from the supervisor"
stop_worker w1 20
assert_eq 0 "$WORKER_RC" "exit code"
wait_for "STOPPING=1" 2 grep -q "^$SUP STOPPING=1" "$NOTES"
test ! -e "$HF" || fail "the health file outlived the process"
others=$(grep -v -c "^$SUP " "$NOTES" || true)
assert_eq 0 "$others" "notify messages not from the supervisor: $(grep -v "^$SUP " "$NOTES")"
pass
