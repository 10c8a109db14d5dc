#!/usr/bin/env bash
# redis_acl.sh - the ACL rules of docs/redis-security.md are enough, and
# no more than enough: the three `ACL SETUSER` lines are read from that
# page (so the docs cannot drift from what is tested), loaded into a real
# redis-server with random passwords, and then a supervisor with two
# worker processes and --http runs as jobrt-worker with every feature in
# use (retries, delays, parking, dead letters, cancel, reload, pause,
# kill switch, limits, a per-second schedule, progress, events, the
# dashboard API's reads and its pause); every other command runs as
# jobrt-operator; `jobrt enqueue`, `jobrt status` and the Python and Node
# clients as jobrt-producer. Redis's ACL LOG must stay empty (no command
# or key was refused), every job must end as expected, and the producer
# must be refused what it should not do (read, ack or delete jobs).
. "$(dirname "$0")/lib.sh"

e2e_setup --tcp
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
DOC="$JOBRT_SOURCE_DIR/docs/redis-security.md"
e2e_require "$DOC" "the source tree"
command -v curl >/dev/null || fail "curl is not installed"
Q=acl
HP="127.0.0.1:$REDIS_PORT"

# ---- the rules, from the docs ------------------------------------------------
declare -A PW
for u in worker operator producer; do
    PW[$u]="pw-$u-$RANDOM$RANDOM$RANDOM"
    rule=$(grep -E "^ACL SETUSER jobrt-$u " "$DOC") ||
        fail "$DOC has no 'ACL SETUSER jobrt-$u' line"
    [ "$(grep -cE "^ACL SETUSER jobrt-$u " "$DOC")" = 1 ] ||
        fail "$DOC has more than one rule for jobrt-$u"
    rule=${rule//CHANGE-ME-$u/${PW[$u]}}
    # shellcheck disable=SC2086 # the rule is words, as redis-cli takes it
    out=$(rcli ${rule}) || fail "redis-cli failed on the jobrt-$u rule"
    assert_eq OK "$out" "loading the jobrt-$u rule"
done
url() { echo "redis://jobrt-$1:${PW[$1]}@$HP"; }
W=$(url worker) O=$(url operator) P=$(url producer)
rcli ACL LOG RESET >/dev/null
acl_log_empty() { [ "$(rcli ACL LOG 50 | grep -c .)" = 0 ]; }
check_acl_log() { # what: fails with the refusals when there are any
    acl_log_empty || fail "$1: Redis refused commands: $(rcli ACL LOG 10 |
        tr '\n' ' ')"
}

# ---- a worker fleet as jobrt-worker -----------------------------------------
PORT=$(free_port)
TOKEN_FILE=$E2E_WORK/http-token
printf 'acl-token-%s\n' "$RANDOM$RANDOM$RANDOM" >"$TOKEN_FILE"
chmod 0600 "$TOKEN_FILE"
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$W" -q $Q \
    --workers 2 --concurrency 4 --retry-base 50ms --retry-cap 100ms \
    --park-ttl 1h --http "127.0.0.1:$PORT" --http-token-file "$TOKEN_FILE"
wait_for "w1 to take jobs" 15 grep -q "taking jobs" "$(worker_log w1)"
OP() { "$JOBRT_BIN" "$@" -r "$O"; }
PR() { "$JOBRT_BIN" "$@" -r "$P"; }

# operator settings the workers poll
assert_exit 0 "events on (operator)" OP events on $Q --max-len 1000
assert_exit 0 "limit set (operator)" OP limit set $Q ok --rate 1000/s \
    --concurrency 50
assert_exit 0 "schedule add (operator)" OP schedule add tick $Q ok -v 1 \
    --cron '* * * * * *' --payload '{}'
assert_exit 0 "disable (operator)" OP disable versioned -q $Q
assert_exit 0 "pause (operator)" OP pause $Q --reason acl-test
assert_exit 0 "resume (operator)" OP resume $Q

# ---- jobs, from jobrt-producer ----------------------------------------------
for i in 1 2 3 4 5; do
    assert_exit 0 "enqueue ok-$i (producer)" PR enqueue $Q ok -v 1 \
        --payload '{}' --id ok-$i
done
assert_exit 0 "enqueue flaky (producer)" PR enqueue $Q flaky -v 1 \
    --payload '{"succeed_on":2}' --id fl-1
assert_exit 0 "enqueue fail (producer)" PR enqueue $Q fail -v 1 \
    --payload '{}' --id dead-1
assert_exit 0 "enqueue delayed (producer)" PR enqueue $Q ok -v 1 \
    --payload '{}' --id later-1 --delay 1s
assert_exit 0 "enqueue unserved (producer)" PR enqueue $Q no_such_job -v 1 \
    --payload '{}' --id park-1
assert_exit 0 "enqueue disabled (producer)" PR enqueue $Q versioned -v 1 \
    --payload '{}' --id off-1
assert_exit 0 "enqueue progress (producer)" PR enqueue $Q progress -v 1 \
    --payload '{"ms":800}' --id pr-1
assert_exit 0 "enqueue stoppable (producer)" PR enqueue $Q stoppable -v 1 \
    --payload '{}' --id stop-1
# WAIT is allowed (this server has no replica: exit 3, "0 of 1")
assert_exit 3 "enqueue --wait-replicas 1 (producer)" PR enqueue $Q ok -v 1 \
    --payload '{}' --id ok-w --wait-replicas 1 --wait-timeout 100ms

done_ok() { job_has_status $Q "$1" succeeded; }
for id in ok-1 ok-2 ok-3 ok-4 ok-5 ok-w fl-1 later-1 pr-1; do
    wait_for "$id to succeed" 15 done_ok $id
done
wait_for "dead-1 dead-lettered" 15 eval '[ "$(dlq_len $Q)" -ge 1 ]'
wait_for "stop-1 to run" 10 eval \
    "OP status stop-1 -q $Q | grep -q running"
assert_exit 0 "cancel (operator)" OP cancel stop-1 -q $Q
wait_for "stop-1 cancelled" 15 eval \
    "OP status stop-1 -q $Q | grep -qv running"
assert_exit 0 "status (producer)" PR status pr-1 -q $Q
assert_contains "$OUT" succeeded "pr-1's status for the producer"
check_acl_log "the workers and the producer"

# ---- the operator's commands ------------------------------------------------
for c in "stats" "stats --json" "workers -q $Q" "rollout ok -q $Q" \
    "dlq list -q $Q" "limit list -q $Q" "schedule list -q $Q" "events status $Q" \
    "events tail $Q -n 5"; do
    # shellcheck disable=SC2086 # c is words
    assert_exit 0 "jobrt $c (operator)" OP $c
done
assert_exit 0 "reload (operator)" OP reload -q $Q
entry=$(rcli XRANGE "$(dlq_key $Q)" - + COUNT 1 | head -1)
assert_exit 0 "dlq retry (operator)" OP dlq retry "$entry" -q $Q
wait_for "dead-1 dead-lettered again" 15 eval '[ "$(dlq_len $Q)" -ge 1 ]'
assert_exit 0 "enable (operator)" OP enable versioned -q $Q
wait_for "off-1 to run once enabled" 15 done_ok off-1
wait_for "the schedule to fire" 10 eval \
    "[ \"\$(record_count $Q sched-tick-)\" -ge 2 ]"
assert_exit 0 "schedule remove (operator)" OP schedule remove tick -q $Q
assert_exit 0 "limit clear (operator)" OP limit clear $Q ok
assert_exit 0 "events off (operator)" OP events off $Q
check_acl_log "the operator's commands"

# ---- the dashboard's API, served by the workers as jobrt-worker -------------
TOKEN=$(head -1 "$TOKEN_FILE")
api() { curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$@"; }
wait_for "/api/overview" 10 eval \
    "api http://127.0.0.1:$PORT/api/overview | grep -q '\"queue\":\"$Q\"'"
api -X POST -H 'Content-Type: application/json' -d '{"reason":"acl"}' \
    "http://127.0.0.1:$PORT/api/queue/pause" | grep -q '"paused":true' ||
    fail "the dashboard API did not pause the queue"
api -X POST -H 'Content-Type: application/json' -d '{}' \
    "http://127.0.0.1:$PORT/api/queue/resume" >/dev/null
api "http://127.0.0.1:$PORT/api/dlq" | grep -q dead-1 ||
    fail "the dashboard API did not list the dead letter"
check_acl_log "the dashboard API"

# ---- the producer clients as jobrt-producer ---------------------------------
PYTHONPATH="$JOBRT_SOURCE_DIR/clients/python" PYTHONDONTWRITEBYTECODE=1 \
    "$E2E_PY" - "$P" "$Q" <<'EOF' || fail "the Python client as jobrt-producer"
import sys
from jobrt import Client
with Client(sys.argv[1]) as c:
    q = sys.argv[2]
    c.enqueue(q, "ok", 1, {}, id="py-1", key="py-key", dedupe_window=60)
    c.enqueue_many(q, [{"job": "ok", "v": 1, "payload": {}},
                       {"job": "ok", "v": 1, "payload": {}, "delay": 1}])
    assert c.wait(q, "py-1", timeout=15)["status"] == "succeeded"
    dead = c.dlq_list(q, job="fail")
    assert dead, "no dead letter listed"
    c.dlq_retry(q, [dead[0].entry_id])
EOF
if [ -d "$JOBRT_SOURCE_DIR/clients/node/node_modules/ioredis" ]; then
    (cd "$JOBRT_SOURCE_DIR/clients/node" && node - "$P" "$Q" <<'EOF') ||
const { Client } = require('./index.js');
(async () => {
  const c = new Client({ redis: process.argv[2] });
  const q = process.argv[3];
  await c.enqueue(q, 'ok', 1, {}, { id: 'js-1' });
  const s = await c.wait(q, 'js-1', 15000);
  if (!s || s.status !== 'succeeded') throw new Error('js-1: ' + JSON.stringify(s));
  const dead = await c.dlqList(q, { job: 'fail' });
  if (!dead.length) throw new Error('no dead letter listed');
  await c.close();
})().catch((e) => { console.error(e); process.exit(1); });
EOF
        fail "the Node client as jobrt-producer"
else
    log "clients/node has no node_modules (npm ci --prefix clients/node): its part is skipped here; client_node tests it"
fi
check_acl_log "the producer clients"

# ---- and no more than that -----------------------------------------------------
refused() { # user command...: ACL DRYRUN refuses it
    local u=$1
    shift
    rcli ACL DRYRUN "jobrt-$u" "$@" | grep -q "no permissions" ||
        fail "jobrt-$u may run: $*"
}
S="jobrt:{$Q}:stream"
refused producer XREADGROUP GROUP jobrt x STREAMS "$S" '>'
refused producer XACK "$S" jobrt 1-0
refused producer DEL "$S"
refused producer XTRIM "$S" MAXLEN 0
refused producer HSET "jobrt:{$Q}:limits" ok '{}'
refused worker FLUSHALL
refused worker CONFIG SET appendonly no
refused worker GET other:key
refused operator KEYS '*'
refused operator SET other:key x
acl_log_empty || fail "ACL DRYRUN wrote to ACL LOG"

stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"
grep -q NOPERM "$(worker_log w1)" && fail "a worker logged NOPERM"

# ---- a worker rule from before completions were MULTI/EXEC --------------------
# (without +multi the commands of a transaction would run one by one): the
# worker stops at start with the refusal, before it takes any job
old=$(grep -E "^ACL SETUSER jobrt-worker " "$DOC")
old=${old//CHANGE-ME-worker/pw-old}
old=${old/ +multi +exec +discard/}
old=${old/ +unlink/}
old=${old/jobrt-worker/jobrt-old-worker}
# shellcheck disable=SC2086 # the rule is words, as redis-cli takes it
assert_eq OK "$(rcli ${old})" "loading the old rule"
rcli XADD "$S" '*' job ok v 1 payload '{}' id old-1 >/dev/null
assert_exit 1 "a worker under the old rule" timeout 20 "$JOBRT_BIN" run \
    --plugin-dir "$JOBRT_TESTKIT_DIR" -q $Q \
    -r "redis://jobrt-old-worker:pw-old@$HP"
assert_contains "$ERR" "NOPERM" "the old rule's refusal"
assert_contains "$ERR" "'multi'" "the command it names"
has_record $Q old-1 && fail "old-1 ran under the old rule"
pass
