#!/usr/bin/env bash
# http_auth.sh - who may read and write on the --http endpoint: writes
# (POST /api/...) need --http-token-file's token as a Bearer header, a
# JSON body and no cross-site Origin or Sec-Fetch-Site; reads are open on
# a loopback address (to requests addressed to a loopback name, against
# DNS rebinding) and need the token beyond it, unless --http-public-read,
# judged by the bind address, not the client's; /healthz and /readyz are
# always open. A token file that is missing, short, long, not a regular
# file or not printable stops `jobrt run` with one line naming
# --http-token-file; --http-token-file or --http-public-read without
# --http is a usage error.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
command -v curl >/dev/null || fail "curl is not installed"
J=$JOBRT_BIN
T=$JOBRT_TESTKIT_DIR
Q=hauth

TOKEN=0123456789abcdefTOKENtoken-42
TOKEN_FILE="$E2E_WORK/token"
(umask 077 && printf '%s\n' "$TOKEN" >"$TOKEN_FILE")

# code METHOD URL [CURL_ARGS...]: the status code of one request.
code()
{
    local method=$1 url=$2
    shift 2
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X "$method" "$@" \
        "$url"
}
# expect WANT WHAT METHOD URL [CURL_ARGS...]
expect()
{
    local want=$1 what=$2 got
    shift 2
    got=$(code "$@")
    assert_eq "$want" "$got" "$what"
    log "$what: $got"
}
code_is() { [ "$(code "${@:2}")" = "$1" ]; }

# ---- usage and bad token files -------------------------------------------

for flag in "--http-token-file $TOKEN_FILE" --http-public-read; do
    # shellcheck disable=SC2086 # the flag and its value are two words
    run_cmd timeout 20 "$J" run -p "$T" -r "$REDIS_URL" -q $Q $flag
    assert_eq 2 "$RC" "${flag%% *} without --http: exit code ($ERR)"
    assert_contains "$ERR" "${flag%% *} needs --http" "${flag%% *} without --http"
    assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "lines for ${flag%% *} without --http"
done
run_cmd timeout 20 "$J" run -p "$T" -r "$REDIS_URL" -q $Q --http 127.0.0.1:99999
assert_eq 2 "$RC" "--http with a bad port: exit code ($ERR)"
assert_contains "$ERR" "--http" "--http with a bad port"

# bad_token NAME PATH WORKERS: jobrt run --http ... --http-token-file PATH
# exits 1 or 2 within 20 s, with exactly one line naming the flag.
bad_token()
{
    local name=$1 path=$2 workers=$3 port lines
    port=$(free_port)
    start_worker "$name" -p "$T" -r "$REDIS_URL" -q $Q --workers "$workers" \
        --http "127.0.0.1:$port" --http-token-file "$path"
    wait_worker_exit "$name" 20
    case "$WORKER_RC" in 1 | 2) ;; *) fail "$name: exit code $WORKER_RC" ;; esac
    lines=$(grep -c -- "--http-token-file" "$(worker_log "$name")" || true)
    assert_eq 1 "$lines" "$name: lines naming --http-token-file in $(worker_log "$name")"
    log "$name: exit $WORKER_RC: $(grep -- --http-token-file "$(worker_log "$name")")"
}
printf 'short\n' >"$E2E_WORK/short"
head -c 300 /dev/zero | tr '\0' a >"$E2E_WORK/long"
printf 'has a space in it, and long\n' >"$E2E_WORK/spaces"
: >"$E2E_WORK/empty"
mkfifo "$E2E_WORK/fifo"
chmod 600 "$E2E_WORK/short" "$E2E_WORK/long" "$E2E_WORK/spaces" "$E2E_WORK/empty"
bad_token missing "$E2E_WORK/nonexistent" 0
bad_token short "$E2E_WORK/short" 0
bad_token long "$E2E_WORK/long" 0
bad_token spaces "$E2E_WORK/spaces" 0
bad_token empty "$E2E_WORK/empty" 0
bad_token fifo "$E2E_WORK/fifo" 0
bad_token dir "$E2E_WORK" 0
bad_token sup-short "$E2E_WORK/short" 2
bad_token sup-missing "$E2E_WORK/nonexistent" 2

# ---- loopback with a token -----------------------------------------------

P=$(free_port)
B="http://127.0.0.1:$P"
start_worker tok -p "$T" -r "$REDIS_URL" -q $Q --http "127.0.0.1:$P" \
    --http-token-file "$TOKEN_FILE"
wait_for "/readyz 200" 30 code_is 200 GET "$B/readyz"
expect 200 "GET /healthz, no token" GET "$B/healthz"
expect 200 "GET /metrics on loopback, no token" GET "$B/metrics"
expect 200 "GET /metrics, Host: localhost" GET "$B/metrics" -H "Host: localhost:$P"
expect 200 "GET /metrics, Host: [::1]" GET "$B/metrics" -H "Host: [::1]:$P"
expect 403 "GET /metrics, Host: a rebound name, no token" GET "$B/metrics" \
    -H "Host: evil.example:$P"
expect 403 "GET /api/x, Host: a rebound name, no token" GET "$B/api/x" \
    -H "Host: evil.example:$P"
expect 403 "GET /metrics, Host: 127.0.0.1.evil.example" GET "$B/metrics" \
    -H "Host: 127.0.0.1.evil.example:$P"
expect 200 "GET /metrics, Host: a rebound name, with the token" GET \
    "$B/metrics" -H "Host: evil.example:$P" -H "Authorization: Bearer $TOKEN"
expect 200 "GET /healthz, Host: a rebound name" GET "$B/healthz" \
    -H "Host: evil.example:$P"

JSON=(-H 'Content-Type: application/json' --data '{}')
AUTH=(-H "Authorization: Bearer $TOKEN")
SAME=(-H "Origin: http://127.0.0.1:$P")
expect 401 "POST without a token" POST "$B/api/anything" "${JSON[@]}" "${SAME[@]}"
expect 401 "POST with a wrong token" POST "$B/api/anything" "${JSON[@]}" \
    "${SAME[@]}" -H "Authorization: Bearer ${TOKEN}x"
expect 401 "POST with a prefix of the token" POST "$B/api/anything" \
    "${JSON[@]}" "${SAME[@]}" -H "Authorization: Bearer ${TOKEN%?}"
expect 401 "POST with the token, not as Bearer" POST "$B/api/anything" \
    "${JSON[@]}" "${SAME[@]}" -H "Authorization: Basic $TOKEN"
expect 401 "POST with an empty Bearer" POST "$B/api/anything" "${JSON[@]}" \
    "${SAME[@]}" -H "Authorization: Bearer "
expect 403 "POST with the token from Origin: http://evil.example" POST \
    "$B/api/anything" "${JSON[@]}" "${AUTH[@]}" -H "Origin: http://evil.example"
expect 403 "POST with the token, Origin: null" POST "$B/api/anything" \
    "${JSON[@]}" "${AUTH[@]}" -H "Origin: null"
expect 403 "POST with the token, Sec-Fetch-Site: cross-site" POST \
    "$B/api/anything" "${JSON[@]}" "${AUTH[@]}" -H "Sec-Fetch-Site: cross-site"
expect 403 "POST with the token as text/plain" POST "$B/api/anything" \
    "${AUTH[@]}" "${SAME[@]}" -H 'Content-Type: text/plain' --data '{}'
expect 403 "POST with the token as application/jsonp" POST "$B/api/anything" \
    "${AUTH[@]}" "${SAME[@]}" -H 'Content-Type: application/jsonp' --data '{}'
expect 403 "POST with the token as a form" POST "$B/api/anything" \
    "${AUTH[@]}" "${SAME[@]}" --data 'a=b'
# past the rules, the API answers: 404 for an endpoint it has not, and a
# real write (a retry of a dead letter that is not there) 200
expect 404 "POST /api/anything with the token, same origin, JSON" POST \
    "$B/api/anything" "${JSON[@]}" "${AUTH[@]}" "${SAME[@]}"
expect 404 "POST /api/anything, JSON with a charset" POST "$B/api/anything" \
    "${AUTH[@]}" "${SAME[@]}" -H 'Content-Type: application/json; charset=utf-8' \
    --data '{}'
expect 404 "POST /api/anything, no Origin, same-origin fetch" POST \
    "$B/api/anything" "${JSON[@]}" "${AUTH[@]}" -H "Sec-Fetch-Site: same-origin"
RETRY=(-H 'Content-Type: application/json' --data '{"ids":["1-1"]}')
expect 200 "POST /api/dlq/retry with the token, same origin, JSON" POST \
    "$B/api/dlq/retry" "${RETRY[@]}" "${AUTH[@]}" "${SAME[@]}"
body=$(curl -s --max-time 5 -X POST "${RETRY[@]}" "${AUTH[@]}" "${SAME[@]}" \
    "$B/api/dlq/retry")
assert_contains "$body" '"not_found":["1-1"]' "POST /api/dlq/retry's answer"
expect 401 "POST /api/dlq/retry without the token" POST "$B/api/dlq/retry" \
    "${RETRY[@]}" "${SAME[@]}"
expect 405 "POST /metrics with the token" POST "$B/metrics" "${JSON[@]}" "${AUTH[@]}"
expect 405 "DELETE /api/x with the token" DELETE "$B/api/x" "${AUTH[@]}"
# a second jobrt run on the same address: one line naming --http, exit 1
start_worker busy -p "$T" -r "$REDIS_URL" -q $Q --http "127.0.0.1:$P"
wait_worker_exit busy 20
assert_eq 1 "$WORKER_RC" "jobrt run on an address in use: exit code"
assert_eq 1 "$(grep -c -- "--http 127.0.0.1:$P: cannot listen" "$(worker_log busy)")" \
    "jobrt run on an address in use: the line naming --http"
expect 200 "the first one still answers" GET "$B/healthz"
stop_worker tok
assert_eq 0 "$WORKER_RC" "exit code of the loopback worker"

# ---- beyond loopback ------------------------------------------------------

# beyond NAME ARGS...: a worker on 0.0.0.0 (reached here from 127.0.0.1:
# the rule goes by the bind address); sets B.
beyond()
{
    local name=$1
    shift
    P=$(free_port)
    B="http://127.0.0.1:$P"
    start_worker "$name" -p "$T" -r "$REDIS_URL" -q $Q --http "0.0.0.0:$P" "$@"
    wait_for "$name: /healthz 200" 30 code_is 200 GET "$B/healthz"
}

beyond open
expect 401 "0.0.0.0, no token file: GET /metrics from 127.0.0.1" GET "$B/metrics"
expect 401 "0.0.0.0, no token file: GET /api/x" GET "$B/api/x"
expect 200 "0.0.0.0, no token file: /healthz" GET "$B/healthz"
wait_for "0.0.0.0: /readyz 200" 30 code_is 200 GET "$B/readyz"
expect 403 "0.0.0.0, no token file: writes are off" POST "$B/api/x" \
    "${JSON[@]}" -H "Origin: http://127.0.0.1:$P" -H "Authorization: Bearer x"
assert_contains "$(cat "$(worker_log open)")" "has no --http-token-file" \
    "the warning for 0.0.0.0 without a token"
stop_worker open
assert_eq 0 "$WORKER_RC" "exit code (0.0.0.0, no token file)"

beyond public --http-public-read
expect 200 "0.0.0.0 --http-public-read: GET /metrics" GET "$B/metrics"
expect 403 "0.0.0.0 --http-public-read: writes are still off" POST \
    "$B/api/x" "${JSON[@]}"
stop_worker public
assert_eq 0 "$WORKER_RC" "exit code (0.0.0.0, --http-public-read)"

beyond token --http-token-file "$TOKEN_FILE" --workers 2
expect 401 "0.0.0.0 with a token file: GET /metrics, no token" GET "$B/metrics"
expect 401 "0.0.0.0 with a token file: GET /metrics, wrong token" GET \
    "$B/metrics" -H "Authorization: Bearer nope-nope-nope-nope"
expect 200 "0.0.0.0 with a token file: GET /metrics with it" GET "$B/metrics" \
    "${AUTH[@]}"
expect 200 "0.0.0.0 with a token file: /healthz" GET "$B/healthz"
wait_for "0.0.0.0 with a token file: /readyz 200" 30 code_is 200 GET "$B/readyz"
expect 401 "0.0.0.0 with a token file: POST, no token" POST "$B/api/x" "${JSON[@]}"
stop_worker token
assert_eq 0 "$WORKER_RC" "exit code of the supervisor"
pass
