#!/usr/bin/env bash
# redis_config_errors.sh - Redis errors that retrying cannot fix.
#
# At start (the worker was never fully up): a wrong password, an unknown
# ACL user, a db out of range (/99; redis has 16), a password the server
# does not want, no password where one is needed: `jobrt run` exits 1
# within a few seconds with ONE error line naming the target, the step
# and Redis's error, after a handful of connections (before this was
# fixed it reconnected every 100 ms forever with false "restored" lines).
#
# After a good start, the password changes under the worker (CONFIG SET
# requirepass + CLIENT KILL): one ERROR line per connection saying how it
# retries, reconnects that follow the backoff (100 ms doubling to 5 s), no
# line per retry; once the password is back, one "restored after N s"
# line per connection with the true outage length, and jobs run again.
. "$(dirname "$0")/lib.sh"

e2e_setup --tcp
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=cfg
HOSTPORT="127.0.0.1:$REDIS_PORT"
PW="cfg-Pw-4417"

# conns: connections redis has accepted so far (this call included).
conns()
{
    rcli INFO stats | tr -d '\r' | sed -n 's/^total_connections_received://p'
}

# start_fails NAME URL WANT: `jobrt run -r URL` must exit 1 within 5 s,
# its log holding one ERROR line that contains WANT and no other line but
# the loader's and the start line, after at most 4 connections.
start_fails()
{
    local name=$1 url=$2 want=$3 before after pid deadline L n_conns
    before=$(conns)
    start_worker "$name" --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$url" \
        --queue $Q
    pid=$(worker_pid "$name")
    L=$(worker_log "$name")
    deadline=$(($(now_ms) + 5000))
    while pid_alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
        sleep 0.05
    done
    after=$(conns)
    n_conns=$((after - before - 1)) # the two conns() calls are not its
    if pid_alive "$pid"; then
        fail "$name ($url): still running after 5 s, after $n_conns" \
            "connections and $(wc -l <"$L") log lines, e.g.:" \
            "$(grep -v ' loader: ' "$L" | sed -n '2,4p')"
    fi
    WORKER_RC=0
    wait "$pid" 2>/dev/null || WORKER_RC=$?
    assert_eq 1 "$WORKER_RC" "$name: exit code"
    local errors others
    errors=$(grep -E '^[^ ]+ (ERROR|WARN) ' "$L" || true)
    others=$(grep -v -E ' loader: |jobrt worker .*: queue ' "$L" | grep -c . ||
        true)
    assert_eq 1 "$(printf '%s\n' "$errors" | grep -c .)" \
        "$name: ERROR/WARN lines ($errors)"
    assert_contains "$errors" "ERROR worker: cannot start: redis at " \
        "$name: the line"
    assert_contains "$errors" "$want" "$name: the line"
    assert_eq 1 "$others" "$name: lines other than the loader's and the start"
    assert_not_contains "$(cat "$L")" "established" "$name: log"
    [ "$n_conns" -le 4 ] ||
        fail "$name: $n_conns connections to redis for one failed start"
    log "$name: exit 1 after $n_conns connections: $errors"
}

# ---- at start, redis without a password ---------------------------------
start_fails no_pw_wanted "redis://:$PW@$HOSTPORT" \
    "connection: AUTH failed: ERR AUTH <password> called without any password"
start_fails unknown_user "redis://nobody:$PW@$HOSTPORT" \
    "redis at nobody@$HOSTPORT: "
assert_contains "$(cat "$(worker_log unknown_user)")" \
    "AUTH as user 'nobody' failed: WRONGPASS" "unknown_user: the step"
start_fails db_99 "redis://$HOSTPORT/99" \
    "redis at $HOSTPORT/99: "
assert_contains "$(cat "$(worker_log db_99)")" \
    "connection: SELECT 99 failed: ERR DB index is out of range" \
    "db_99: the step"

# ---- at start, redis with a password ------------------------------------
rcli CONFIG SET requirepass "$PW" >/dev/null
E2E_REDIS_CLI+=(--no-auth-warning -a "$PW")
REDIS_URL="redis://:$PW@$HOSTPORT"
assert_eq PONG "$(rcli PING)" "redis-cli with the password"
start_fails wrong_pw "redis://:not-$PW@$HOSTPORT" \
    "connection: AUTH failed: WRONGPASS"
start_fails no_pw "redis://$HOSTPORT" "connection: PING failed: NOAUTH"
for name in no_pw_wanted unknown_user db_99 wrong_pw no_pw; do
    assert_not_contains "$(cat "$(worker_log $name)")" "$PW" \
        "$name: log shows the password"
done

# ---- after a good start: the password changes under the worker ----------
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

NEW_PW="new-$PW"
rcli CONFIG SET requirepass "$NEW_PW" >/dev/null
E2E_REDIS_CLI=(-h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a "$NEW_PW")
before=$(conns)
rcli CLIENT KILL TYPE normal SKIPME yes >/dev/null
down_at=$(now_ms)
log "password changed and the worker's connections killed"
wait_for "one ERROR line per connection" 5 log_has 2 \
    "ERROR redis: (reader|writer) connection .*AUTH failed: WRONGPASS"
# Nothing to wait for here but time: the worker keeps retrying with its
# backoff, and must neither flood redis nor log per retry.
while [ $(($(now_ms) - down_at)) -lt 6000 ]; do sleep 0.1; done
after=$(conns)
n_conns=$((after - before - 2)) # this call and the CLIENT KILL one
worker_alive w1 || fail "the worker exited after a good start"
# 100+200+400+800+1600+3200 ms: about 5 attempts per connection in 6 s.
[ "$n_conns" -ge 6 ] && [ "$n_conns" -le 16 ] ||
    fail "$n_conns reconnects in 6 s with a wrong password (the backoff" \
        "gives about 10)"
for conn in reader writer; do
    assert_eq 1 "$(count_log "ERROR redis: $conn connection .*AUTH failed")" \
        "ERROR lines of the $conn connection"
done
err_line=$(grep -m1 'ERROR redis: ' "$L")
grep -qE 'retrying in [0-9]+ ms, then with backoff doubling up to 5 s' \
    <<<"$err_line" || fail "the ERROR line does not say how it retries:" \
    "$err_line"
assert_eq 2 "$(count_log '^[^ ]+ ERROR ')" "ERROR lines while misconfigured"
assert_eq 0 "$(count_log ' (restored|established)')" \
    "restored lines while the password is wrong"
log "$n_conns reconnects in 6 s; $(grep -c . "$L") log lines"

rcli CONFIG SET requirepass "$PW" >/dev/null
E2E_REDIS_CLI=(-h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a "$PW")
wait_for "both connections restored" 10 log_has 2 \
    "INFO  redis: (reader|writer) connection to .* restored after"
for conn in reader writer; do
    line=$(grep "INFO  redis: $conn connection to .* restored after" "$L")
    secs=$(sed -n 's/.* restored after \([0-9]*\)\.[0-9] s.*/\1/p' <<<"$line")
    [ -n "$secs" ] && [ "$secs" -ge 6 ] ||
        fail "$conn: the outage lasted over 6 s, the log says: $line"
done
assert_exit 0 "enqueue after" "$JOBRT_BIN" enqueue $Q ok -v 1 -d '{}' \
    --id after -r "$REDIS_URL"
wait_for "a job after the password is back" 10 \
    job_has_status $Q after succeeded
assert_eq 2 "$(count_log '^[^ ]+ ERROR ')" "ERROR lines in all"
assert_not_contains "$(cat "$L")" "$PW" "worker log shows the password"
stop_worker w1
assert_eq 0 "$WORKER_RC" "exit code after SIGTERM"
pass
