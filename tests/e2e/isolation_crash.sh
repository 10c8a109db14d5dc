#!/usr/bin/env bash
# isolation_crash.sh - crash containment under a supervisor (--workers 2).
# 5000 normal jobs (`work`, each appends its id to $JOBRT_HAZARD_RECORD)
# are mixed with jobs whose handler segfaults, aborts or calls exit().
# Then: every normal job succeeded, its record says delivered once (a job
# running beside a crash is released, not charged: it comes back as a new
# entry); every crashing job is dead-lettered as poison after exactly
# --max-deliveries deliveries, its record naming the signal (or exit), the
# plugin and its build id; the worker count is back to 2; the crashes,
# each blamed on its job by the crash report, never trip the crash-loop
# guard (5 unexplained deaths a minute would stop the supervisor).
#
# Sizes: 5000 jobs; E2E_ISOLATION_JOBS sets it.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_HAZARD_DIR/hazard.so" "build the hazard test plugin"
N=${E2E_ISOLATION_JOBS:-5000}
Q=crash
export JOBRT_HAZARD_RECORD=$E2E_WORK/ran
: >"$JOBRT_HAZARD_RECORD"

start_worker sup --workers 2 --plugin-dir "$JOBRT_HAZARD_DIR" \
    -r "$REDIS_URL" -q $Q --concurrency 8 --max-deliveries 3 --lease 2s \
    --result-ttl 1h
L=$(worker_log sup)
taking() { [ "$(grep -c 'taking jobs from queue' "$L")" -ge "$1" ]; }
wait_for "both workers to take jobs" 15 taking 2

# The crashers are spread through the normal jobs.
"$E2E_PY" - "$N" >"$E2E_WORK/jobs.ndjson" <<'PY'
import json, sys
n = int(sys.argv[1])
crash = {n // 6: "segv", n // 3: "abort", n // 2: "segv", 2 * n // 3: "exit",
         5 * n // 6: "segv"}
for i in range(n):
    print(json.dumps({"job": "work", "v": 1, "id": "n%d" % i,
                      "payload": {"ms": i % 3}}, separators=(",", ":")))
    if i in crash:
        print(json.dumps({"job": "work", "v": 1, "id": "c%d-%s" % (i, crash[i]),
                          "payload": {"crash": crash[i]}},
                         separators=(",", ":")))
PY
"$JOBRT_BIN" enqueue $Q -r "$REDIS_URL" <"$E2E_WORK/jobs.ndjson" >/dev/null

all_ran() { [ "$(awk '{print $1}' "$JOBRT_HAZARD_RECORD" | sort -u | wc -l)" -ge "$N" ]; }
wait_for "all $N normal jobs to run" 180 all_ran
dlq_is() { [ "$(dlq_len $Q)" = "$1" ]; }
wait_for "the 5 crashing jobs to be dead-lettered" 60 dlq_is 5
wait_for "the queue to drain" 30 queue_idle $Q

# Every record, checked in one pass.
"$E2E_PY" - "$REDIS_URL" "$Q" "$N" <<'PY' || fail "records (see above)"
import json, os, sys, redis
sys.path.insert(0, os.path.join(os.environ["JOBRT_SOURCE_DIR"], "tests/e2e"))
from e2e_records import all_records
r = redis.Redis.from_url(sys.argv[1], decode_responses=True)
q, n = sys.argv[2], int(sys.argv[3])
bad = []
records = all_records(r, q)
for k in ["n%d" % i for i in range(n)]:
    rec = records.get(k)
    if not rec or rec["status"] != "succeeded" or rec["deliveries"] != 1:
        bad.append((k, rec))
if bad:
    print("normal jobs not succeeded once-delivered: %d, first %s"
          % (len(bad), bad[:3]))
    sys.exit(1)
dlq = r.xrange("jobrt:{%s}:dlq" % q)
for _, f in dlq:
    rec = records[f["id"]]
    how = f["id"].split("-")[1]
    want = {"segv": "SIGSEGV", "abort": "SIGABRT"}.get(how)
    ok = (f["dlq_reason"] == "poison" and rec["reason"] == "poison"
          and rec["deliveries"] == 3 and rec["plugin"] == "hazard"
          and rec["build_id"] == "hazard-1"
          and (rec.get("signal") == want if want else
               "exit(7)" in rec["error"]))
    if not ok:
        print("crashing job %s: dlq %s record %s" % (f["id"], f, rec))
        sys.exit(1)
print("checked %d normal and %d crashing jobs" % (n, len(dlq)))
PY

dups=$(awk '{print $1}' "$JOBRT_HAZARD_RECORD" | sort | uniq -d | wc -l)
log "normal jobs run more than once (in flight beside a crash): $dups"
crashes=$(grep -c 'supervisor: worker [0-9]* (pid [0-9]*) died: ' "$L" || true)
# every delivery of a crasher is counted, wherever it went meanwhile (a
# job handed back beside someone else's crash, or by a worker with no free
# slot, keeps the deliveries it earned)
assert_eq 15 "$crashes" "worker deaths blamed on a job (5 jobs x 3 deliveries)"
assert_not_contains "$(cat "$L")" "crash loop" "the crash-loop guard"
live() {
    "$JOBRT_BIN" workers -q $Q -r "$REDIS_URL" --json |
        "$E2E_PY" -c 'import json,sys; print(len(json.load(sys.stdin)["queues"][0]["workers"]))'
}
live_is() { [ "$(live)" = "$1" ]; }
wait_for "2 live workers again" 15 live_is 2
worker_alive sup || fail "the supervisor died"
stop_worker sup 40
assert_eq 0 "$WORKER_RC" "supervisor exit code after SIGTERM"
pass
