# shellcheck shell=bash
# tests/e2e/lib.sh - helpers sourced by every end-to-end test.
#
# Each test runs the real jobrt binary against its own redis-server in a
# fresh temporary directory, polls for conditions with deadlines (never a
# fixed sleep standing in for a condition), and stops everything it started
# when it exits, however it exits. A failed test keeps its directory and
# prints the worker and redis logs.
#
# E2E_KEEP=1 keeps the work dir of a passing test too.
#
# Paths come from the environment ctest sets (tests/CMakeLists.txt); run
# standalone, they default to the build tree beside the source tree:
#   JOBRT_BIN JOBRT_ZOO_DIR JOBRT_TESTKIT_DIR JOBRT_RELOAD_DIR JOBRT_HAZARD_DIR
#   JOBRT_PLUGINS_DIR JOBRT_EXAMPLES_DIR JOBRT_SOURCE_DIR JOBRT_BUILD_DIR
#
# Usage in a test:
#   . "$(dirname "$0")/lib.sh"
#   e2e_setup                 # work dir + private redis; REDIS_URL set
#   start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q q
#   wait_for "job done" 10 job_has_status q id-1 succeeded
#   stop_worker w1            # SIGTERM; sets WORKER_RC
#   pass

set -euo pipefail

E2E_NAME=$(basename "$0" .sh)
E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_DEFAULT_BUILD=$(cd "$(dirname "$0")/../.." && pwd)/build

: "${JOBRT_SOURCE_DIR:=$(cd "$E2E_LIB_DIR/../.." && pwd)}"
: "${JOBRT_BIN:=$E2E_DEFAULT_BUILD/jobrt}"
: "${JOBRT_ZOO_DIR:=$E2E_DEFAULT_BUILD/tests/zoo}"
: "${JOBRT_TESTKIT_DIR:=$E2E_DEFAULT_BUILD/tests/plugins}"
: "${JOBRT_RELOAD_DIR:=$E2E_DEFAULT_BUILD/tests/plugins/reload}"
: "${JOBRT_HAZARD_DIR:=$E2E_DEFAULT_BUILD/tests/plugins/hazard}"
: "${JOBRT_PLUGINS_DIR:=$E2E_DEFAULT_BUILD/plugins}"
: "${JOBRT_EXAMPLES_DIR:=$E2E_DEFAULT_BUILD/examples}"
: "${JOBRT_BUILD_DIR:=$E2E_DEFAULT_BUILD}"
export JOBRT_BIN JOBRT_ZOO_DIR JOBRT_TESTKIT_DIR JOBRT_RELOAD_DIR JOBRT_HAZARD_DIR \
    JOBRT_PLUGINS_DIR JOBRT_EXAMPLES_DIR JOBRT_SOURCE_DIR JOBRT_BUILD_DIR

# Nothing from the caller's environment may change how jobrt behaves here:
# every JOBRT_* variable but the paths above is dropped.
for _v in $(compgen -e | grep '^JOBRT_' || true); do
    case "$_v" in
        JOBRT_BIN | JOBRT_ZOO_DIR | JOBRT_TESTKIT_DIR | JOBRT_RELOAD_DIR | \
            JOBRT_HAZARD_DIR | \
            JOBRT_PLUGINS_DIR | JOBRT_EXAMPLES_DIR | JOBRT_SOURCE_DIR | \
            JOBRT_BUILD_DIR) ;;
        *) unset "$_v" ;;
    esac
done
unset _v

# The system python (its startup is fast; a version manager's shim is not).
if [ -x /usr/bin/python3 ]; then E2E_PY=/usr/bin/python3; else E2E_PY=python3; fi

E2E_WORK=""
E2E_FAILED=0
E2E_PASSED=0
declare -A E2E_WORKER_PID=()
E2E_WORKERS=()
E2E_REDIS_ARGS=()
E2E_REDIS_CLI=()
E2E_REDIS_PORT=""
WORKER_RC=""

# ---- reporting ----------------------------------------------------------

log() { printf '[%s %s] %s\n' "$E2E_NAME" "$(date +%H:%M:%S.%3N)" "$*" >&2; }

fail()
{
    E2E_FAILED=1
    printf 'FAIL: %s: %s\n' "$E2E_NAME" "$*" >&2
    exit 1
}

pass()
{
    E2E_PASSED=1
    printf 'PASS: %s\n' "$E2E_NAME"
}

# An unexpected failing command (set -e) is a test failure too: say where.
e2e_on_err()
{
    local rc=$1 line=$2 cmd=$3
    E2E_FAILED=1
    printf 'FAIL: %s: line %s: command exited %s: %s\n' "$E2E_NAME" "$line" \
        "$rc" "$cmd" >&2
}
trap 'e2e_on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---- assertions ---------------------------------------------------------

# assert_eq EXPECTED ACTUAL WHAT
assert_eq()
{
    [ "$1" == "$2" ] ||
        fail "$3: expected '$1', got '$2'"
}

# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne()
{
    [ "$1" != "$2" ] || fail "$3: got '$2', which it must not be"
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains()
{
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: expected to contain '$2', got: $1" ;;
    esac
}

# assert_not_contains HAYSTACK NEEDLE WHAT
assert_not_contains()
{
    case "$1" in
        *"$2"*) fail "$3: must not contain '$2', got: $1" ;;
        *) ;;
    esac
}

# assert_ge MIN ACTUAL WHAT (integers)
assert_ge()
{
    [ "$2" -ge "$1" ] 2>/dev/null || fail "$3: expected >= $1, got '$2'"
}

# run_cmd CMD...: runs CMD (stdin is the caller's) and sets OUT (stdout),
# ERR (stderr) and RC (exit code), without tripping set -e.
OUT="" ERR="" RC=0
run_cmd()
{
    local o e
    o=$(mktemp "$E2E_TMP/out.XXXXXX") e=$(mktemp "$E2E_TMP/err.XXXXXX")
    RC=0
    "$@" >"$o" 2>"$e" || RC=$?
    OUT=$(cat "$o") ERR=$(cat "$e")
    rm -f "$o" "$e"
}

# assert_exit CODE WHAT CMD...: runs CMD (run_cmd) and checks its exit code.
assert_exit()
{
    local want=$1 what=$2
    shift 2
    run_cmd "$@"
    [ "$RC" -eq "$want" ] ||
        fail "$what: '$*' exited $RC, expected $want; stdout: $OUT; stderr: $ERR"
}

# ---- time and polling ---------------------------------------------------

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# wait_for DESC TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds;
# fails the test after TIMEOUT_S seconds (may be fractional, e.g. 0.5).
wait_for()
{
    local desc=$1 timeout=$2
    shift 2
    local deadline
    deadline=$(($(now_ms) + $(awk -v t="$timeout" 'BEGIN{printf "%d", t*1000}')))
    while :; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [ "$(now_ms)" -ge "$deadline" ]; then
            fail "timed out after ${timeout}s waiting for: $desc"
        fi
        sleep 0.05
    done
}

# ---- processes ----------------------------------------------------------

# pid_alive PID: running (a zombie, exited but not yet reaped, is not).
pid_alive()
{
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

pid_gone() { ! pid_alive "$1"; }

# ---- redis --------------------------------------------------------------

# rcli ARGS...: redis-cli against the test's redis.
rcli() { redis-cli "${E2E_REDIS_CLI[@]}" "$@"; }

redis_ping() { [ "$(rcli PING 2>/dev/null)" = PONG ]; }

redis_pid() { cat "$E2E_WORK/redis.pid" 2>/dev/null; }

# free_port: a TCP port on 127.0.0.1 (and 0.0.0.0) nobody listens on
# right now, picked at random below the kernel's ephemeral range: a port
# the kernel hands out (bind to port 0) is also what it gives the next
# outgoing connection, and a test flooding the machine with connections
# (http_abuse) takes thousands of those while other tests run.
free_port()
{
    "$E2E_PY" -c 'import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(10000, max(lo, 10001))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free port below the ephemeral range")'
}

# start_redis: (re)starts the test's redis-server with the arguments that
# e2e_setup chose and waits until it answers PING.
start_redis()
{
    rm -f "$E2E_WORK/redis.pid"
    redis-server "${E2E_REDIS_ARGS[@]}" ||
        fail "redis-server did not start (see $E2E_WORK/redis.log)"
    wait_for "redis-server to answer PING" 10 redis_ping
    wait_for "redis-server pid file" 5 test -s "$E2E_WORK/redis.pid"
}

# stop_redis [SIGNAL]: stops the test's redis-server (SIGTERM by default;
# KILL simulates a crash) and waits until it is gone.
stop_redis()
{
    local sig=${1:-TERM} pid
    pid=$(redis_pid) || return 0
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    # pid_alive, not kill -0: the daemonized server is not our child, and
    # what reaps it (if anything) is outside this test.
    local deadline=$(($(now_ms) + 10000)) killed=0
    while pid_alive "$pid"; do
        if [ "$(now_ms)" -ge "$deadline" ]; then
            [ "$killed" = 1 ] && fail "redis-server $pid does not die"
            kill -KILL "$pid" 2>/dev/null || true
            killed=1
            deadline=$(($(now_ms) + 5000))
        fi
        sleep 0.05
    done
    rm -f "$E2E_WORK/redis.pid"
}

# e2e_setup [--tcp] [--aof] [--no-redis]: work dir, private redis-server,
# EXIT trap.
#   default: unix socket only (--port 0); REDIS_URL=unix://DIR/redis.sock
#   --tcp:   a free TCP port on 127.0.0.1 (kept across restarts, so a test
#            can restart redis where the worker expects it); REDIS_URL
#            redis://127.0.0.1:PORT, REDIS_PORT set
#   --aof:   appendonly yes, appendfsync always: data survives a restart
#   --no-redis: the redis arguments are prepared but no server is started
#            (start_redis starts it)
e2e_setup()
{
    local tcp=0 aof=0 redis=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --tcp) tcp=1 ;;
            --aof) aof=1 ;;
            --no-redis) redis=0 ;;
            *) fail "e2e_setup: unknown option $1" ;;
        esac
        shift
    done
    command -v redis-server >/dev/null || fail "redis-server is not installed"
    command -v redis-cli >/dev/null || fail "redis-cli is not installed"
    [ -x "$JOBRT_BIN" ] || fail "no jobrt binary at $JOBRT_BIN (build first)"

    E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobrt-e2e-$E2E_NAME.XXXXXX")
    E2E_TMP="$E2E_WORK/tmp"
    mkdir -p "$E2E_TMP"
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    E2E_REDIS_ARGS=(--daemonize yes --pidfile "$E2E_WORK/redis.pid"
        --logfile "$E2E_WORK/redis.log" --dir "$E2E_WORK" --save '')
    if [ "$aof" = 1 ]; then
        E2E_REDIS_ARGS+=(--appendonly yes --appendfsync always)
    else
        E2E_REDIS_ARGS+=(--appendonly no)
    fi
    if [ "$tcp" = 1 ]; then
        E2E_REDIS_PORT=$(free_port)
        E2E_REDIS_ARGS+=(--port "$E2E_REDIS_PORT" --bind 127.0.0.1)
        E2E_REDIS_CLI=(-h 127.0.0.1 -p "$E2E_REDIS_PORT")
        REDIS_URL="redis://127.0.0.1:$E2E_REDIS_PORT"
        REDIS_PORT=$E2E_REDIS_PORT
        export REDIS_PORT
    else
        E2E_REDIS_ARGS+=(--port 0 --unixsocket "$E2E_WORK/redis.sock"
            --unixsocketperm 700)
        E2E_REDIS_CLI=(-s "$E2E_WORK/redis.sock")
        REDIS_URL="unix://$E2E_WORK/redis.sock"
    fi
    export REDIS_URL
    [ "$redis" = 0 ] || start_redis
    log "work dir $E2E_WORK, redis at $REDIS_URL"
}

# e2e_require PATH HINT: fails the test at once, with HINT, when PATH (a
# built artifact the test needs) does not exist.
e2e_require()
{
    [ -e "$1" ] || fail "missing $1 ($2)"
}

# start_worker NAME ARGS...: runs `jobrt run ARGS...` in the background,
# logging to $E2E_WORK/NAME.log. Its TMPDIR (private plugin copies) is
# inside the work dir. One process (--workers 0) unless ARGS say --workers:
# most tests are about what one worker does; the isolation tests start a
# supervisor.
start_worker()
{
    local name=$1 a one=(--workers 0)
    shift
    for a in "$@"; do
        case "$a" in --workers | --workers=* | -w) one=() ;; esac
    done
    mkdir -p "$E2E_WORK/tmp-$name"
    TMPDIR="$E2E_WORK/tmp-$name" "$JOBRT_BIN" run "${one[@]}" "$@" \
        >"$E2E_WORK/$name.log" 2>&1 </dev/null &
    E2E_WORKER_PID[$name]=$!
    E2E_WORKERS+=("$name")
    log "started worker $name (pid ${E2E_WORKER_PID[$name]}): jobrt run $*"
}

worker_pid() { echo "${E2E_WORKER_PID[$1]}"; }
worker_log() { echo "$E2E_WORK/$1.log"; }
worker_alive() { pid_alive "${E2E_WORKER_PID[$1]}"; }

# wait_worker_exit NAME TIMEOUT_S: waits for the worker to exit by itself
# and sets WORKER_RC; fails the test if it is still running at the deadline.
wait_worker_exit()
{
    local name=$1 timeout=$2 pid=${E2E_WORKER_PID[$1]}
    wait_for "worker $name (pid $pid) to exit" "$timeout" pid_gone "$pid"
    WORKER_RC=0
    wait "$pid" 2>/dev/null || WORKER_RC=$?
    log "worker $name exited with $WORKER_RC"
}

# stop_worker NAME [TIMEOUT_S]: SIGTERM, then wait_worker_exit (sets
# WORKER_RC).
stop_worker()
{
    local name=$1 timeout=${2:-15}
    log "SIGTERM to worker $name"
    kill -TERM "${E2E_WORKER_PID[$name]}" 2>/dev/null || true
    wait_worker_exit "$name" "$timeout"
}

# Any still-running worker: SIGTERM, a grace period, then SIGKILL.
e2e_kill_workers()
{
    local name pid deadline
    for name in "${E2E_WORKERS[@]}"; do
        pid=${E2E_WORKER_PID[$name]}
        pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
    done
    deadline=$(($(now_ms) + 5000))
    for name in "${E2E_WORKERS[@]}"; do
        pid=${E2E_WORKER_PID[$name]}
        while pid_alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
            sleep 0.05
        done
        if pid_alive "$pid"; then
            echo "worker $name (pid $pid) ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

e2e_cleanup()
{
    local rc=$? f
    trap - ERR
    set +e
    if [ "$rc" -ne 0 ] || [ "$E2E_FAILED" = 1 ] || [ "$E2E_PASSED" != 1 ]; then
        E2E_FAILED=1
    fi
    e2e_kill_workers
    stop_redis TERM
    if [ "$E2E_FAILED" = 1 ]; then
        [ "$rc" -ne 0 ] || rc=1
        {
            echo "---- $E2E_NAME failed; work dir kept: $E2E_WORK"
            for f in "$E2E_WORK"/*.log; do
                [ -f "$f" ] || continue
                echo "---- $f (last 60 lines)"
                tail -n 60 "$f"
            done
        } >&2
    elif [ -n "${E2E_KEEP:-}" ]; then
        echo "---- E2E_KEEP is set; work dir kept: $E2E_WORK" >&2
    else
        rm -rf "$E2E_WORK"
    fi
    exit "$rc"
}

# ---- queue inspection ---------------------------------------------------

stream_key() { echo "jobrt:{$1}:stream"; }
dlq_key() { echo "jobrt:{$1}:dlq"; }
job_key() { echo "jobrt:{$1}:job:$2"; }

# RECORDS_LUA: a Lua prelude for EVAL that defines records(base, prefix),
# the outcome records of the queue whose keys start with base
# ("jobrt:{QUEUE}:") for job ids starting with prefix, as a table id ->
# {status, attempts, dispatched_at, started_at, finished_at}: each job's
# own record key (dead, cancelled) and the succeeded records of the record
# buckets (docs/protocol.md, "Outcome records"), the later one winning.
# Then n_of(t) counts a table's entries. Job names in tests hold no ']'.
RECORDS_LUA="local function n_of(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
local function records(base, prefix)
  local out = {}
  local function put(id, r)
    local o = out[id]
    if o == nil or (r.finished_at or 0) >= (o.finished_at or 0) then out[id] = r end
  end
  local function num(v) if type(v) == 'number' then return v end end
  for _, k in ipairs(redis.call('KEYS', base .. 'job:' .. prefix .. '*')) do
    local v = cjson.decode(redis.call('GET', k))
    put(string.sub(k, #base + 5), {status = v.status, attempts = num(v.attempts),
      dispatched_at = num(v.dispatched_at), started_at = num(v.started_at),
      finished_at = num(v.finished_at)})
  end
  local idx = redis.call('KEYS', base .. 'done') -- none on another cluster node
  for _, s in ipairs(#idx > 0 and redis.call('ZRANGE', base .. 'done', 0, -1) or {}) do
    local h = redis.call('HGETALL', base .. 'done:' .. s)
    for i = 1, #h, 2 do
      if string.sub(h[i], 1, #prefix) == prefix then
        local v = h[i + 1]
        local a = cjson.decode(string.sub(v, 1, string.find(v, ']', 1, true)))
        local fin = num(a[7])
        local function at(d) if fin and num(d) then return fin - d end end
        put(h[i], {status = 'succeeded', attempts = num(a[5]),
          dispatched_at = at(a[9]), started_at = at(a[10]), finished_at = fin})
      end
    end
  end
  return out
end
"
# SUCCEEDED_LUA: with ARGV base, prefix, n: how many of the jobs
# <prefix>1..<prefix>n have a succeeded record (EVAL_RO it on a replica).
SUCCEEDED_LUA="$RECORDS_LUA
local m, rs = 0, records(ARGV[1], ARGV[2])
for i = 1, tonumber(ARGV[3]) do
  local r = rs[ARGV[2] .. i]
  if r and r.status == 'succeeded' then m = m + 1 end
end
return m"
# record_count QUEUE [PREFIX] [STATUS]: how many jobs (ids starting with
# PREFIX) have an outcome record (of STATUS).
record_count()
{
    rcli EVAL "$RECORDS_LUA
        local n = 0
        for _, r in pairs(records(ARGV[1], ARGV[2])) do
            if ARGV[3] == '' or r.status == ARGV[3] then n = n + 1 end
        end
        return n" 0 "jobrt:{$1}:" "${2:-}" "${3:-}"
}
# record_ids QUEUE [PREFIX]: the ids with an outcome record, sorted.
record_ids()
{
    rcli --raw EVAL "$RECORDS_LUA
        local ids = {}
        for id in pairs(records(ARGV[1], ARGV[2])) do ids[#ids + 1] = id end
        return ids" 0 "jobrt:{$1}:" "${2:-}" | sort
}
# has_record QUEUE ID: 0 if job ID has an outcome record.
has_record() { record_ids "$1" "$2" | grep -qxF "$2"; }

xlen() { rcli XLEN "$(stream_key "$1")"; }
dlq_len() { rcli XLEN "$(dlq_key "$1")"; }

# xpending_count QUEUE: entries delivered to the group and not acked (0 when
# the group does not exist yet).
xpending_count()
{
    local out
    out=$(rcli XPENDING "$(stream_key "$1")" jobrt 2>/dev/null | head -n 1)
    case "$out" in
        '' | *ERR* | *NOGROUP*) echo 0 ;;
        *) echo "$out" ;;
    esac
}

# group_exists QUEUE: a worker has created the consumer group.
group_exists()
{
    rcli XINFO GROUPS "$(stream_key "$1")" 2>/dev/null | grep -qx jobrt
}

stream_empty() { [ "$(xlen "$1")" = 0 ] && [ "$(xpending_count "$1")" = 0 ]; }

delayed_key() { echo "jobrt:{$1}:delayed"; }
# delayed_len QUEUE: jobs waiting in the delayed set (retry backoff, --delay).
delayed_len() { rcli ZCARD "$(delayed_key "$1")"; }
# queue_idle QUEUE: nothing in the stream, pending, or waiting to be due.
queue_idle() { stream_empty "$1" && [ "$(delayed_len "$1")" = 0 ]; }

# job_status QUEUE ID: the record as `jobrt status` prints it.
job_status() { "$JOBRT_BIN" status "$2" -q "$1" -r "$REDIS_URL"; }

# job_has_status QUEUE ID STATUS
job_has_status()
{
    local rec
    rec=$(job_status "$1" "$2" 2>/dev/null) || return 1
    case "$rec" in *"\"status\":\"$3\""*) return 0 ;; esac
    return 1
}

# json_get JSON PATH...: prints a member of a JSON document (keys or list
# indexes), as compact JSON for objects/arrays, bare for strings/numbers.
json_get()
{
    "$E2E_PY" - "$@" <<'PY'
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
if isinstance(v, str):
    print(v)
else:
    print(json.dumps(v, separators=(",", ":")))
PY
}

# ---- byte-exact stream contents (resp.py) ---------------------------------

E2E_RESP="$E2E_LIB_DIR/resp.py"

# stream_entries KEY: one JSON line per entry, {"id":..,"fields":[[k,v],..]}
# with every string escaped (resp.py: printable ASCII as is, else \xNN).
stream_entries() { "$E2E_PY" "$E2E_RESP" "$REDIS_URL" xrange "$1"; }

# find_entry KEY FIELD VALUE: the first entry having FIELD = VALUE.
find_entry() { "$E2E_PY" "$E2E_RESP" "$REDIS_URL" find "$1" "$2" "$3"; }

# enc_pairs K V K V...: the pairs as the same escaped JSON as entries show.
enc_pairs() { "$E2E_PY" "$E2E_RESP" enc "$@"; }

# entry_field ENTRY NAME: the (first) value of field NAME; exit 1 if absent.
entry_field()
{
    "$E2E_PY" - "$1" "$2" <<'PY'
import json, sys
for k, v in json.loads(sys.argv[1])["fields"]:
    if k == sys.argv[2]:
        print(v)
        sys.exit(0)
sys.exit(1)
PY
}

# esc_has_byte ESCAPED HEX: whether the string (escaped as resp.py shows
# it) contains the byte 0xHEX, e.g. esc_has_byte "$v" 0a for a newline.
esc_has_byte()
{
    "$E2E_PY" - "$1" "$2" <<'PY'
import codecs, sys
raw = codecs.escape_decode(sys.argv[1].encode())[0]
sys.exit(0 if bytes([int(sys.argv[2], 16)]) in raw else 1)
PY
}

# entry_fields_before ENTRY NAME: the fields before the first field NAME
# (all of them if absent), as enc_pairs prints them.
entry_fields_before()
{
    "$E2E_PY" - "$1" "$2" <<'PY'
import json, sys
out = []
for k, v in json.loads(sys.argv[1])["fields"]:
    if k == sys.argv[2]:
        break
    out.append([k, v])
print(json.dumps(out))
PY
}

# ---- Prometheus metrics (the --http endpoint) -----------------------------

# metric_total URL NAME [LABEL=VALUE...]: the sum of NAME's samples on
# URL/metrics whose labels match (a label the sample lacks matches ""),
# read with python3-prometheus-client's text parser.
metric_total()
{
    "$E2E_PY" - "$@" <<'EOF'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
url, name = sys.argv[1], sys.argv[2]
want = dict(a.split("=", 1) for a in sys.argv[3:])
text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
n = 0
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        if s.name == name and all(s.labels.get(k, "") == v for k, v in want.items()):
            n += s.value
print(int(n) if n == int(n) else n)
EOF
}

# expect_metric URL WANT NAME [LABEL=VALUE...]: waits (20 s) until
# metric_total says WANT.
_metric_is() { local want=$1; shift; [ "$(metric_total "$@" | tail -1)" = "$want" ]; }
expect_metric()
{
    local url=$1 want=$2
    shift 2
    wait_for "$* = $want" 20 _metric_is "$want" "$url" "$@"
}

# readme_block NAME: the fenced block of README.md that follows the line
# `<!-- sdk-test: NAME -->`, so tests run the README's plugin section
# verbatim (fails if there is no such block).
readme_block()
{
    awk -v tag="<!-- sdk-test: $1 -->" '
        $0 == tag { armed = 1; next }
        armed && /^```/ { if (inside) exit; inside = 1; next }
        inside { print; found = 1 }
        END { if (!found) exit 1 }' "$JOBRT_SOURCE_DIR/README.md" ||
        fail "README.md has no block tagged 'sdk-test: $1'"
}

# sdk_build_readme_plugin ROOT DIR: builds the README's greeter plugin in
# the empty directory DIR against the SDK installed under prefix ROOT (its
# bin/jobrt, share/cmake, share/pkgconfig and nothing else), twice: with
# CMake (find_package) into DIR/cmake and with make and pkg-config into
# DIR/make, each running the README's own commands; checks that
# `jobrt plugins` accepts it, that it exports only its descriptor and that
# `jobrt exec` runs a job through it.
sdk_build_readme_plugin()
{
    local root=$1 dir=$2 how
    for how in cmake make; do
        mkdir -p "$dir/$how"
        readme_block greeter.c >"$dir/$how/greeter.c"
        if [ "$how" = cmake ]; then
            readme_block CMakeLists.txt >"$dir/$how/CMakeLists.txt"
        else
            readme_block Makefile >"$dir/$how/Makefile"
        fi
        readme_block "$how-build.sh" >"$dir/$how-build.sh"
        log "building the README's plugin with $how against $root"
        run_cmd env -u CMAKE_PREFIX_PATH -u PKG_CONFIG_PATH -u CFLAGS \
            -u LDFLAGS -u LDLIBS \
            PATH="$root/bin:/usr/bin:/bin" CMAKE_PREFIX_PATH="$root" \
            PKG_CONFIG_PATH="$root/share/pkgconfig" \
            bash -ec "cd '$dir/$how' && . '$dir/$how-build.sh'"
        assert_eq 0 "$RC" "the README's $how build and commands ($OUT $ERR)"
        assert_contains "$OUT" "plugin greeter 1.0.0" "jobrt plugins ($how)"
        assert_contains "$OUT" "greet v1" "jobrt plugins ($how)"
        assert_contains "$OUT" "1 loaded, 0 rejected" "jobrt plugins ($how)"
        local so
        so=$(find "$dir/$how" -name greeter.so | head -1)
        [ -n "$so" ] || fail "the $how build made no greeter.so"
        assert_eq "jobrt_plugin" \
            "$(nm -D --defined-only "$so" | awk '{print $3}' | tr '\n' ' ' |
                sed 's/ $//')" "symbols $how's greeter.so exports"
        run_cmd "$root/bin/jobrt" exec --plugin-dir "$(dirname "$so")" \
            greet -v 1 --payload '"world"'
        assert_eq 0 "$RC" "jobrt exec through the $how build ($ERR)"
        assert_eq '{"greeted":"world"}' "$OUT" "the job's result ($how)"
    done
}
