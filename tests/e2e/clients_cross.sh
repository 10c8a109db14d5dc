#!/usr/bin/env bash
# clients_cross.sh - the two producer clients speak one wire format: jobs
# that the Python client enqueues (plain, delayed, keyed, expiring, in
# bulk) are run by a real worker and their outcome records read back by
# the Node client, and the other way round; a dead letter listed by one is
# retried by the other, and a duplicate key sent by one is refused by the
# other's dedupe.
. "$(dirname "$0")/lib.sh"
e2e_setup

NODE_DIR="$JOBRT_SOURCE_DIR/clients/node"
command -v node >/dev/null || fail "node is not installed (apt-get install nodejs npm)"
[ -d "$NODE_DIR/node_modules/ioredis" ] ||
    fail "clients/node/node_modules is missing: npm ci --prefix clients/node"
"$E2E_PY" -c 'import redis' 2>/dev/null ||
    fail "python3-redis is not installed (apt-get install python3-redis)"

Q=cross
start_worker w1 --workers 0 --park-ttl 0 --plugin-dir "$JOBRT_PLUGINS_DIR" \
    -r "$REDIS_URL" -q "$Q"
wait_for "consumer group" 10 group_exists "$Q"

py() { PYTHONPATH="$JOBRT_SOURCE_DIR/clients/python" PYTHONDONTWRITEBYTECODE=1 \
    "$E2E_PY" - "$REDIS_URL" "$Q" "$@"; }
js() { (cd "$NODE_DIR" && node - "$REDIS_URL" "$Q" "$@"); }

log "Python enqueues, the worker runs, Node reads the records"
run_cmd py <<'PY'
import sys, time
from jobrt import Client
url, q = sys.argv[1], sys.argv[2]
with Client(url) as c:
    ids = [c.enqueue(q, "echo", 1, {"n": 1, "from": "py"}, id="py-1",
                     correlation_id="corr-py").id,
           c.enqueue(q, "echo", 2, {"n": 2}, delay=0.3, key="py-key").id,
           c.enqueue(q, "echo", 1, {"n": 3}, expires_in=600, max_attempts=2,
                     timeout=5).id]
    ids += [r.id for r in c.enqueue_many(q, [
        {"job": "echo", "v": 1, "payload": {"n": 10 + i}, "id": f"py-bulk-{i}"}
        for i in range(50)])]
    ids.append(c.enqueue(q, "nosuch", 1, {}, id="py-dead").id)
print("\n".join(ids))
PY
assert_eq 0 "$RC" "the Python client's enqueue ($ERR)"
PY_IDS=$OUT
assert_eq 54 "$(wc -l <<<"$PY_IDS")" "ids the Python client printed"

run_cmd js $PY_IDS <<'JS'
const { Client } = require('./');
const [url, q, ...ids] = process.argv.slice(2);
(async () => {
  const c = new Client({ redis: url });
  const out = [];
  for (const id of ids.filter((i) => i !== 'py-dead')) {
    const r = await c.wait(q, id, 20000);
    if (r.status !== 'succeeded') throw new Error(`${id}: ${JSON.stringify(r)}`);
    out.push(`${id} ${r.job} v${r.v} ${JSON.stringify(r.result)}`);
  }
  // the job no plugin serves: dead, listed, retried from Node
  const dead = await c.wait(q, 'py-dead', 20000);
  out.push(`py-dead ${dead.status} ${dead.reason}`);
  const listed = await c.dlqList(q, { job: 'nosuch' });
  out.push(`listed ${listed.map((d) => d.jobId).join(',')}`);
  const { moved } = await c.dlqRetry(q, listed.map((d) => d.entryId));
  out.push(`moved ${moved}`);
  // the key the Python client used is still held
  const dup = await c.enqueue(q, 'echo', 1, {}, { key: 'py-key' });
  out.push(`dup created=${dup.created} first=${dup.id === ids[1]}`);
  await c.close();
  console.log(out.join('\n'));
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
JS
assert_eq 0 "$RC" "the Node client's reads ($ERR)"
assert_contains "$OUT" 'py-1 echo v1 {"n":1,"from":"py"}' "py-1's record, read by Node"
assert_contains "$OUT" 'echo v2 {"n":2}' "the delayed, keyed job's record"
assert_contains "$OUT" 'echo v1 {"n":3}' "the expiring job's record"
assert_contains "$OUT" 'py-bulk-49 echo v1 {"n":59}' "the last bulk job's record"
assert_eq 53 "$(grep -c ' succeeded\| echo v' <<<"$OUT")" "records Node read"
assert_contains "$OUT" "py-dead dead no_handler" "the unserved job's record"
assert_contains "$OUT" "listed py-dead" "Node's dlqList of Python's dead letter"
assert_contains "$OUT" "moved 1" "Node's dlqRetry"
assert_contains "$OUT" "dup created=false first=true" "dedupe across clients"

log "Node enqueues, the worker runs, Python reads the records"
run_cmd js <<'JS'
const { Client } = require('./');
const [url, q] = process.argv.slice(2);
(async () => {
  const c = new Client({ redis: url });
  const ids = [
    (await c.enqueue(q, 'echo', 1, { n: 1, from: 'js' }, { id: 'js-1', correlationId: 'corr-js' })).id,
    (await c.enqueue(q, 'echo', 3, { n: 2 }, { at: Date.now() + 300, key: 'js-key' })).id,
  ];
  // enqueueMany takes enqueue()'s option names and values (ms), not
  // NDJSON's: a job with delay 300 is due in 300 ms, not 300 s
  for (const r of await c.enqueueMany(q, Array.from({ length: 50 }, (_, i) =>
    ({ job: 'echo', v: 1, payload: { n: 10 + i }, id: `js-bulk-${i}`,
       maxAttempts: 2, expiresIn: 600000, timeout: 5000,
       ...(i % 10 === 0 ? { delay: 300, key: `js-bulk-key-${i}` } : {}) }))))
    ids.push(r.id);
  let refused = 'not refused';
  try {
    await c.enqueueMany(q, [{ job: 'echo', v: 1, payload: {}, expires_in: 600 }]);
  } catch (e) { refused = e.message; }
  console.error(refused);
  await c.close();
  console.log(ids.join('\n'));
})().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
JS
assert_eq 0 "$RC" "the Node client's enqueue ($ERR)"
assert_contains "$ERR" "jobs[0]: 'expires_in' is an NDJSON key" \
    "Node's enqueueMany refuses an NDJSON duration key"
JS_IDS=$OUT
assert_eq 52 "$(wc -l <<<"$JS_IDS")" "ids the Node client printed"

run_cmd py $JS_IDS <<'PY'
import json, sys
from jobrt import Client
url, q, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
with Client(url) as c:
    for i in ids:
        r = c.wait(q, i, timeout=20)
        assert r["status"] == "succeeded", r
        print(i, r["job"], "v%d" % r["v"], json.dumps(r["result"], separators=(",", ":")))
    # the Python dead letter Node re-drove is dead again (nothing serves it)
    import time
    deadline = time.monotonic() + 20
    while not c.dlq_list(q, job="nosuch") and time.monotonic() < deadline:
        time.sleep(0.05)
    print("redriven", c.wait(q, "py-dead", timeout=20)["reason"],
          len(c.dlq_list(q, job="nosuch")))
    print("dup", c.enqueue(q, "echo", 1, {}, key="js-key").created)
PY
assert_eq 0 "$RC" "the Python client's reads ($ERR)"
assert_contains "$OUT" 'js-1 echo v1 {"n":1,"from":"js"}' "js-1's record, read by Python"
assert_contains "$OUT" 'echo v3 {"n":2}' "the scheduled, keyed job's record"
assert_contains "$OUT" 'js-bulk-49 echo v1 {"n":59}' "the last bulk job's record"
assert_eq 52 "$(grep -c ' echo v' <<<"$OUT")" "records Python read"
assert_contains "$OUT" "redriven no_handler 1" "the re-driven dead letter"
assert_contains "$OUT" "dup False" "dedupe across clients"

stop_worker w1
assert_eq 0 "$WORKER_RC" "worker exit code"
pass
