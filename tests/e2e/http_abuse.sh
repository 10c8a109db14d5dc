#!/usr/bin/env bash
# http_abuse.sh - bad HTTP clients against the --http endpoint of a real
# `jobrt run`, once as a single process (--workers 0: the endpoint shares
# the loop with the jobs) and once as a supervisor of two workers:
# oversized headers and bodies, garbage, duplicate headers, unknown
# methods and HEAD, pipelining and keep-alive, slowloris, slow bodies,
# idle and silent connections, a reader that never reads, and 10 000
# connections at once (tests/e2e/http_abuse.py; the limits come from
# runtime/http/server.h). Meanwhile a producer enqueues jobs without a
# pause: every job must run exactly once, never stalling for long, and
# afterwards /healthz answers 200 from the same process (no restart).
# Meanwhile /healthz and /readyz answer during the floods, and /healthz
# while Redis is paused under 300 GET /metrics.
. "$(dirname "$0")/lib.sh"

e2e_setup
# a failed check ends the script: the producer goes with it, then the rest
PRODUCER_PID=""
stop_producer() { [ -z "$PRODUCER_PID" ] || kill "$PRODUCER_PID" 2>/dev/null || true; }
trap 'rc=$?; stop_producer; (exit $rc); e2e_cleanup' EXIT
export HTTP_ABUSE_REDIS_CLI="${E2E_REDIS_CLI[*]}"
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
SERVER_H="$JOBRT_SOURCE_DIR/runtime/http/server.h"
e2e_require "$SERVER_H" "the source tree"
command -v curl >/dev/null || fail "curl is not installed"

# 10 000 client sockets in the python client, plus some.
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 10300 ]; then
    fail "ulimit -Hn is $(ulimit -Hn); the flood needs 10300 descriptors"
fi
ulimit -n 10300

Q=habuse
export JOBRT_TESTKIT_RECORD="$E2E_WORK/record"
: >"$JOBRT_TESTKIT_RECORD"

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
http_is() { [ "$(http_code "${@:2}")" = "$1" ]; }
records() { wc -l <"$JOBRT_TESTKIT_RECORD" | tr -d ' '; }

# producer NAME: enqueues batches of 10 record jobs (ids NAME-N) until
# $E2E_WORK/stop-NAME exists; each batch appends "ms records" to
# $E2E_WORK/progress-NAME and the count enqueued to enqueued-NAME.
producer()
{
    local name=$1 i=0 b
    : >"$E2E_WORK/progress-$name"
    while [ ! -e "$E2E_WORK/stop-$name" ] && [ "$i" -lt 20000 ]; do
        for b in $(seq $((i + 1)) $((i + 10))); do
            printf '{"job":"record","v":1,"payload":{},"id":"%s-%d"}\n' \
                "$name" "$b"
        done | "$JOBRT_BIN" enqueue "$Q" -r "$REDIS_URL" >/dev/null 2>&1 ||
            return 1
        i=$((i + 10))
        echo "$i" >"$E2E_WORK/enqueued-$name"
        echo "$(now_ms) $(records)" >>"$E2E_WORK/progress-$name"
        sleep 0.1 # pacing the producer, not a check
    done
}

# abuse NAME WORKER_ARGS...: one jobrt run, abused while jobs flow.
abuse()
{
    local name=$1 port pid
    shift
    port=$(free_port)
    start_worker "$name" --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" \
        -q "$Q" -c 4 --http "127.0.0.1:$port" "$@"
    pid=$(worker_pid "$name")
    wait_for "$name: /readyz 200" 30 http_is 200 "http://127.0.0.1:$port/readyz"
    local before_ready
    before_ready=$(curl -s --max-time 5 "http://127.0.0.1:$port/readyz")
    log "$name: $before_ready"

    producer "$name" &
    PRODUCER_PID=$!
    wait_for "$name: the producer's first batch" 10 \
        test -s "$E2E_WORK/enqueued-$name"

    local rc=0
    HTTP_ABUSE_PAUSE_FILE=$E2E_WORK/redis-paused-$name \
        "$E2E_PY" "$E2E_LIB_DIR/http_abuse.py" "$port" "$SERVER_H" "$pid" \
        >"$E2E_WORK/abuse-$name.log" 2>&1 || rc=$?
    cat "$E2E_WORK/abuse-$name.log" >&2
    touch "$E2E_WORK/stop-$name"
    wait "$PRODUCER_PID" || fail "$name: the producer failed (enqueue)"
    PRODUCER_PID=""
    [ "$rc" = 0 ] || fail "$name: http_abuse.py failed (exit $rc)"

    worker_alive "$name" || fail "$name: jobrt run (pid $pid) died"
    assert_eq "$pid" "$(worker_pid "$name")" "$name: pid"
    local n
    n=$(cat "$E2E_WORK/enqueued-$name")
    log "$name: $n jobs enqueued during the abuse"
    assert_ge 100 "$n" "$name: jobs enqueued during the abuse"
    wait_for "$name: all $n jobs run" 60 \
        eval "[ \"\$(grep -c '^$name-' \"\$JOBRT_TESTKIT_RECORD\")\" -ge $n ]"
    assert_eq "" "$(grep "^$name-" "$JOBRT_TESTKIT_RECORD" | sort | uniq -d)" \
        "$name: jobs run more than once"
    wait_for "$name: the queue drains" 20 queue_idle "$Q"

    # The jobs never stood still for long: between any two producer
    # batches at most 5 s passed without a job finishing, not counting
    # the 4 s for which http_abuse.py paused Redis itself.
    local stall ps pe
    read -r ps pe <"$E2E_WORK/redis-paused-$name" ||
        fail "$name: http_abuse.py did not say when it paused Redis"
    stall=$(awk -v ps="$ps" -v pe="$pe" '
        function idle(a, b,   lo, hi, o) { # a..b less its overlap with the pause
            lo = a > ps ? a : ps; hi = b < pe ? b : pe
            o = hi > lo ? hi - lo : 0
            return b - a - o
        }
        NR > 1 && $2 == last_n { d = idle(since, $1); if (d > m) m = d }
        $2 != last_n { last_n = $2; since = $1 }
        END { print m + 0 }' "$E2E_WORK/progress-$name")
    log "$name: longest time without a finished job while producing (less Redis's pause): ${stall} ms"
    [ "$stall" -le 5000 ] || fail "$name: jobs stalled for $stall ms"

    wait_for "$name: /healthz 200 after the abuse" 10 \
        http_is 200 "http://127.0.0.1:$port/healthz"
    wait_for "$name: /readyz 200 after the abuse" 10 \
        http_is 200 "http://127.0.0.1:$port/readyz"
    local after_ready
    after_ready=$(curl -s --max-time 5 "http://127.0.0.1:$port/readyz")
    assert_eq "$(echo "$before_ready" | grep -o 'worker [0-9]* pid [0-9]*')" \
        "$(echo "$after_ready" | grep -o 'worker [0-9]* pid [0-9]*')" \
        "$name: the worker processes (from /readyz) before and after"
    local metrics
    metrics=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics")
    assert_contains "$metrics" \
        "jobrt_jobs_total{queue=\"$Q\",job=\"record\",version=\"1\",outcome=\"succeeded\"} $n" \
        "$name: /metrics counts the $n jobs"
    echo "$metrics" >"$E2E_WORK/metrics-$name.txt"
    stop_worker "$name"
    assert_eq 0 "$WORKER_RC" "$name: exit code after SIGTERM"
}

abuse single
abuse supervised --workers 2

# In the supervised run no worker was replaced, and the workers serving
# before the abuse are the ones that served after it.
m=$(cat "$E2E_WORK/metrics-supervised.txt")
assert_contains "$m" "jobrt_worker_restarts_total" "restarts in /metrics"
restarts=$(echo "$m" | awk '/^jobrt_worker_restarts_total/ { s += $2 }
                            END { print s + 0 }')
assert_eq 0 "$restarts" "worker restarts during the abuse"
pass
