#!/usr/bin/env bash
# redis_tls.sh - the TLS recipe of docs/redis-security.md: a redis-server
# that speaks TLS only (--port 0 --tls-port, client certificates
# required), certificates from a fresh CA, and stunnel4 in client mode
# with the page's configuration (read from the page; only the ports and
# paths are this test's). A supervised worker drains jobs enqueued
# through the tunnel; the tunnel is killed and restarted while jobs flow
# and nothing is lost or run twice; jobrt pointed at the TLS port itself,
# and a tunnel with the wrong CA, fail with one line each and change
# nothing.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
DOC="$JOBRT_SOURCE_DIR/docs/redis-security.md"
e2e_require "$DOC" "the source tree"
STUNNEL=$(command -v stunnel4 || command -v stunnel) ||
    fail "stunnel4 is not installed (apt-get install stunnel4)"
command -v openssl >/dev/null || fail "openssl is not installed"
Q=tls
C=$E2E_WORK/certs
mkdir -p "$C"

# ---- a CA, the server's certificate (127.0.0.1, localhost), a client's ----
ssl() { openssl "$@" >>"$E2E_WORK/openssl.log" 2>&1 || fail "openssl $1 failed (see $E2E_WORK/openssl.log)"; }
make_ca() { # name
    ssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
        -keyout "$C/$1.key" -out "$C/$1.crt"
}
make_cert() { # name ca ext
    ssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$C/$1.key" \
        -out "$C/$1.csr"
    printf '%s\n' "$3" >"$C/$1.ext"
    ssl x509 -req -in "$C/$1.csr" -CA "$C/$2.crt" -CAkey "$C/$2.key" \
        -CAcreateserial -days 2 -extfile "$C/$1.ext" -out "$C/$1.crt"
}
make_ca ca
make_ca other-ca
make_cert server ca "subjectAltName=IP:127.0.0.1,DNS:localhost"
make_cert client ca "extendedKeyUsage=clientAuth"
chmod 0600 "$C"/*.key

# ---- redis-server with TLS only ------------------------------------------------
TLS_PORT=$(free_port)
E2E_REDIS_ARGS+=(--port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1
    --tls-cert-file "$C/server.crt" --tls-key-file "$C/server.key"
    --tls-ca-cert-file "$C/ca.crt" --tls-auth-clients yes)
E2E_REDIS_CLI=(--tls --cacert "$C/ca.crt" --cert "$C/client.crt"
    --key "$C/client.key" -h 127.0.0.1 -p "$TLS_PORT")
start_redis

# ---- the tunnel, configured as the docs say -------------------------------------
# tunnel NAME CA: starts stunnel NAME on a new port with the page's
# [redis] section, CAfile CA; sets TUNNEL_PORT and TUNNEL_PID[NAME].
declare -A TUNNEL_PID
conf_from_docs()
{
    awk '/^```ini$/ { on = 1; next } on && /^```$/ { exit } on' "$DOC"
}
[ -n "$(conf_from_docs)" ] || fail "$DOC has no \`\`\`ini block"
tunnel()
{
    local name=$1 ca=$2 port=${3:-$(free_port)}
    conf_from_docs | sed \
        -e "s|^accept = 127.0.0.1:6390$|accept = 127.0.0.1:$port|" \
        -e "s|^connect = redis.example.com:6380$|connect = 127.0.0.1:$TLS_PORT|" \
        -e "s|^CAfile = .*|CAfile = $C/$ca.crt|" \
        -e "s|^checkHost = redis.example.com$|checkHost = localhost|" \
        -e "s|^cert = .*|cert = $C/client.crt|" \
        -e "s|^key = .*|key = $C/client.key|" >"$E2E_WORK/$name.conf"
    for k in "accept = 127.0.0.1:$port" "connect = 127.0.0.1:$TLS_PORT" \
        "checkHost = localhost" "verifyChain = yes" "client = yes"; do
        grep -qxF "$k" "$E2E_WORK/$name.conf" ||
            fail "the docs' stunnel section no longer has the line the test adapts: $k"
    done
    printf 'pid =\noutput = %s\n%s\n' "$E2E_WORK/$name.stunnel.log" \
        "$(cat "$E2E_WORK/$name.conf")" >"$E2E_WORK/$name.conf"
    "$STUNNEL" "$E2E_WORK/$name.conf" >>"$E2E_WORK/$name.stunnel.log" 2>&1 &
    TUNNEL_PID[$name]=$!
    TUNNEL_PORT=$port
    wait_for "stunnel $name to listen on $port" 10 eval \
        "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
}
stop_tunnel()
{
    local pid=${TUNNEL_PID[$1]}
    kill "$pid" 2>/dev/null || true
    wait_for "stunnel $1 to stop" 10 pid_gone "$pid"
}
trap 'rc=$?; trap - ERR; for p in "${TUNNEL_PID[@]}"; do
    kill "$p" 2>/dev/null || true; done; (exit $rc); e2e_cleanup' EXIT

tunnel good ca
GOOD_PORT=$TUNNEL_PORT
REDIS_URL="redis://127.0.0.1:$GOOD_PORT" # what lib.sh's helpers use
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }

# ---- without the tunnel, and with the wrong CA: one line, exit 1 ---------------
run_cmd "$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id plain-1 \
    -r "redis://127.0.0.1:$TLS_PORT"
assert_eq 1 "$RC" "enqueue straight to the TLS port: exit code"
assert_contains "$ERR" "127.0.0.1:$TLS_PORT" "the error names the target"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c .)" "one line: $ERR"
log "straight to the TLS port: $ERR"
tunnel wrong other-ca
run_cmd "$JOBRT_BIN" enqueue $Q ok -v 1 --payload '{}' --id wrong-1 \
    -r "redis://127.0.0.1:$TUNNEL_PORT"
assert_eq 1 "$RC" "enqueue through a tunnel with the wrong CA: exit code"
assert_contains "$ERR" "127.0.0.1:$TUNNEL_PORT" "the error names the target"
log "wrong CA: $ERR"
grep -qi "certificate verify failed\|verify" "$E2E_WORK/wrong.stunnel.log" ||
    fail "stunnel did not log the failed verification"
stop_tunnel wrong
assert_eq 0 "$(rcli DBSIZE)" "nothing was written without a verified tunnel"

# ---- a worker through the tunnel; the tunnel restarted mid-run -------------------
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --workers 2 --concurrency 4
wait_for "w1 to take jobs" 15 grep -q "taking jobs" "$(worker_log w1)"
N=400
for ((i = 1; i <= N / 2; i++)); do
    printf '{"job":"sleep","v":1,"payload":{"ms":20},"id":"t-%d"}\n' "$i"
done | J enqueue $Q >/dev/null || fail "the first half did not enqueue"
wait_for "some jobs to run" 15 eval \
    "[ \"\$(record_count $Q t-)\" -ge 20 ]"
stop_tunnel good
wait_for "a worker to see Redis gone" 15 grep -q "lost\|unreachable\|closed" \
    "$(worker_log w1)"
tunnel good ca "$GOOD_PORT"
for ((i = N / 2 + 1; i <= N; i++)); do
    printf '{"job":"sleep","v":1,"payload":{"ms":20},"id":"t-%d"}\n' "$i"
done | J enqueue $Q >/dev/null || fail "the second half did not enqueue"
wait_for "every job to finish" 60 eval \
    "[ \"\$(record_count $Q t-)\" -ge $N ]"
wait_for "the queue to drain" 20 queue_idle $Q
failed=$(rcli EVAL "$RECORDS_LUA local m, rs = 0, records(ARGV[1], 't-')
    for i = 1, tonumber(ARGV[2]) do
        local r = rs['t-' .. i]
        if not r or r.status ~= 'succeeded' then m = m + 1 end
    end
    return m" 0 "jobrt:{$Q}:" $N)
assert_eq 0 "$failed" "jobs without a succeeded record"
assert_eq 0 "$(dlq_len $Q)" "dead letters"
grep -q "restored\|connected" "$(worker_log w1)" ||
    fail "the worker did not log the reconnect"
assert_exit 0 "stats through the tunnel" J stats $Q
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"
pass
