#!/usr/bin/env bash
# fleet_cli.sh - the fleet commands on a registry written by hand with
# redis-cli, the way workers write it (a record under
# jobrt:{Q}:worker:CONSUMER, its heartbeat in jobrt:{Q}:workers, the queue
# in jobrt:queues): `jobrt workers` lists the live workers only (a stale
# heartbeat or an expired record is not live; an unreadable record is one
# line), `jobrt rollout` counts queued, delayed, parked and running jobs
# per schema version and flags a version nobody serves, `jobrt reload`
# prints each fake worker's answer and "no answer within" for one that
# stays silent, and `jobrt enqueue` warns about, or with --require-served
# refuses, a (job, version) no live worker serves. Exact output lines.
. "$(dirname "$0")/lib.sh"

e2e_setup
J=$JOBRT_BIN
U=$REDIS_URL

server_ms()
{
    local t
    mapfile -t t < <(rcli TIME)
    echo $((t[0] * 1000 + t[1] / 1000))
}

# put_worker QUEUE CONSUMER JSON: the record (kept a minute: the test's
# heartbeats are the zset scores, refreshed by beat).
put_worker()
{
    rcli SET "jobrt:{$1}:worker:$2" "$3" PX 60000 >/dev/null
}

# beat: a fresh heartbeat for every live fake worker and queue; w-dead's
# is 6 s old (past the 5 s TTL), w-gone has no record.
beat()
{
    local now
    now=$(server_ms)
    rcli ZADD 'jobrt:{fleet}:workers' "$now" w-v1 "$now" w-v12 "$now" w-bad \
        "$((now - 6000))" w-dead "$now" w-gone >/dev/null
    rcli ZADD 'jobrt:{other}:workers' "$now" w-mail >/dev/null
    rcli ZADD jobrt:queues "$now" fleet "$now" other "$((now - 9000))" \
        gone >/dev/null
}

# The ages and uptimes move with the clock: normalised for comparison.
norm() { sed -E 's/last heartbeat [0-9.]+s ago/last heartbeat Ns ago/'; }

SHA=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# ---- no live worker anywhere ------------------------------------------------

assert_exit 0 "workers, empty namespace" "$J" workers -r "$U"
assert_eq "no live workers in namespace jobrt" "$OUT" "workers, empty"
assert_exit 0 "workers -q fleet, empty" "$J" workers -q fleet -r "$U"
assert_eq "no live workers on queue fleet" "$OUT" "workers -q, empty"
assert_exit 1 "reload, empty namespace" "$J" reload -r "$U"
assert_eq "no live workers in namespace jobrt" "$OUT" "reload, empty"
assert_exit 1 "reload -q fleet, empty" "$J" reload -q fleet -r "$U"
assert_eq "no live workers on queue fleet" "$OUT" "reload -q, empty"
assert_exit 0 "enqueue with no live worker" "$J" enqueue fleet swap -v 1 \
    -d '{}' -r "$U"
assert_eq "jobrt enqueue: warning: no live worker of queue fleet serves swap\
 v1 (the queue has no live workers); the job will wait until one does" \
    "$ERR" "enqueue with no live worker"
assert_exit 1 "enqueue --require-served with no live worker" "$J" enqueue \
    fleet swap -v 1 -d '{}' --require-served -r "$U"
assert_eq "jobrt enqueue: not enqueued: no live worker of queue fleet serves\
 swap v1 (the queue has no live workers) and --require-served is set" \
    "$ERR" "enqueue --require-served with no live worker"
assert_eq "" "$OUT" "no job id printed when refused"
assert_eq 1 "$(xlen fleet)" "the refused job was not sent"
rcli DEL 'jobrt:{fleet}:stream' >/dev/null

# ---- the fleet ----------------------------------------------------------------

NOW=$(server_ms)
put_worker fleet w-v1 '{"v":1,"consumer":"w-v1","host":"h1","pid":41,
 "ns":"jobrt","queue":"fleet","state":"running",
 "started_ms":'$((NOW - 7230000))',"concurrency":4,"inflight":0,"reloads":0,
 "reload_failures":0,"generations_leaked":0,
 "plugins":[{"name":"swapper","version":"1.0.0","build_id":"b1",
  "sha256":"'$SHA'","file":"/opt/jobs/swapper.so","generation":1,
  "pinned":"","serves":[{"job":"swap","min":1,"max":1}]}],
 "draining":[],"running":[]}'
put_worker fleet w-v12 '{"v":1,"consumer":"w-v12","host":"h2","pid":42,
 "ns":"jobrt","queue":"fleet","state":"draining",
 "started_ms":'$((NOW - 3630000))',"concurrency":8,"inflight":3,
 "reloads":4,"reload_failures":1,"generations_leaked":0,
 "plugins":[{"name":"swapper","version":"2.0.0","build_id":"b2",
  "sha256":"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
  "file":"/opt/jobs/swapper.so","generation":3,"pinned":"",
  "serves":[{"job":"swap","min":1,"max":2}]},
 {"name":"legacy","version":"0.9","build_id":"old\u0007","sha256":"abc",
  "file":"/opt/jobs/legacy.so","generation":1,
  "pinned":"STB_GNU_UNIQUE symbol _ZN5cache4poolE",
  "serves":[{"job":"report","min":0,"max":0},
            {"job":"report2","min":3,"max":9}]}],
 "draining":[{"name":"swapper","build_id":"b1","generation":2,
  "inflight":1}],
 "running":[{"job":"swap","version":2,"count":2},
            {"job":"report","version":0,"count":1}]}'
put_worker fleet w-bad '{"v":1,"consumer":"w-bad"}'
put_worker fleet w-dead '{"v":1,"consumer":"w-dead","host":"h9","pid":9,
 "queue":"fleet","state":"running","plugins":[]}'
put_worker other w-mail '{"v":1,"consumer":"w-mail","host":"h3","pid":50,
 "ns":"jobrt","queue":"other","state":"running","concurrency":2,
 "inflight":0,"plugins":[{"name":"mailer","version":"1.2","build_id":"m1",
  "sha256":"'$SHA'","file":"/opt/jobs/mailer.so","generation":1,
  "pinned":"","serves":[{"job":"mail","min":1,"max":1}]}],"draining":[],
 "running":[]}'

# ---- jobrt workers --------------------------------------------------------------

beat
assert_exit 0 "workers" "$J" workers -r "$U"
want="queue fleet: 3 live workers
w-bad: record unreadable: host is missing (last heartbeat Ns ago)
w-v1 (host h1, pid 41): running, 0/4 in flight, last heartbeat Ns ago, up 2h 0m
  plugin swapper 1.0.0, build b1, sha256 0123456789ab, generation 1: serves swap v1
w-v12 (host h2, pid 42): draining, 3/8 in flight, last heartbeat Ns ago, up 1h 0m
  plugin swapper 2.0.0, build b2, sha256 fedcba987654, generation 3: serves swap v1..2
  plugin legacy 0.9, build old\\x07, sha256 abc, generation 1: serves report v0, report2 v3..9 (needs restart to reload: STB_GNU_UNIQUE symbol _ZN5cache4poolE)
  draining swapper, build b1, generation 2: 1 in flight
  reloads 4, failed 1; generations leaked (still mapped after unload) 0

queue other: 1 live worker
w-mail (host h3, pid 50): running, 0/2 in flight, last heartbeat Ns ago
  plugin mailer 1.2, build m1, sha256 0123456789ab, generation 1: serves mail v1"
assert_eq "$want" "$(printf '%s\n' "$OUT" | norm)" "jobrt workers"
assert_eq "" "$ERR" "workers stderr"

beat
assert_exit 0 "workers -q other" "$J" workers -q other -r "$U"
assert_eq "queue other: 1 live worker
w-mail (host h3, pid 50): running, 0/2 in flight, last heartbeat Ns ago
  plugin mailer 1.2, build m1, sha256 0123456789ab, generation 1: serves mail v1" \
    "$(printf '%s\n' "$OUT" | norm)" "jobrt workers -q other"

beat
assert_exit 0 "workers --json" "$J" workers --json -r "$U"
got=$("$E2E_PY" -c 'import json, sys
d = json.load(sys.stdin)
for q in d["queues"]:
    for w in q["workers"]:
        r = w.get("record")
        print(q["queue"], w["consumer"],
              r["plugins"][0]["build_id"] if r else "error: " + w["error"])
' <<<"$OUT")
assert_eq "fleet w-bad error: host is missing
fleet w-v1 b1
fleet w-v12 b2
other w-mail m1" "$got" "workers --json"

# ---- jobrt enqueue: served or not ----------------------------------------------

beat
assert_exit 0 "enqueue a served job" "$J" enqueue other mail -v 1 -d '{}' \
    --id mail-1 -r "$U"
assert_eq "mail-1" "$OUT" "enqueue a served job: its id"
assert_eq "" "$ERR" "no warning for a served (job, version)"
beat
assert_exit 0 "enqueue mail v2" "$J" enqueue other mail -v 2 -d '{}' \
    --id mail-2 -r "$U"
assert_eq "mail-2" "$OUT" "enqueue mail v2: still sent"
assert_eq "jobrt enqueue: warning: no live worker of queue other serves mail\
 v2 (live workers serve v1); the job will park until one does" "$ERR" \
    "enqueue mail v2: the warning"
beat
assert_exit 0 "enqueue an unknown job" "$J" enqueue other nojob -v 1 \
    -d '{}' -r "$U"
assert_eq "jobrt enqueue: warning: no live worker of queue other serves\
 nojob v1 (live workers serve no version of nojob); the job will park until\
 one does" "$ERR" "enqueue an unknown job: the warning"
beat
before=$(xlen other)
assert_exit 1 "enqueue mail v2 --require-served" "$J" enqueue other mail \
    -v 2 -d '{}' --require-served -r "$U"
assert_eq "jobrt enqueue: not enqueued: no live worker of queue other serves\
 mail v2 (live workers serve v1) and --require-served is set" "$ERR" \
    "--require-served refusal"
assert_eq "" "$OUT" "--require-served: no id"
assert_eq "$before" "$(xlen other)" "--require-served: nothing sent"
beat
assert_exit 0 "enqueue mail v1 --require-served" "$J" enqueue other mail \
    -v 1 -d '{}' --require-served -r "$U"
assert_eq "" "$ERR" "--require-served, served: no line"

# NDJSON: one warning per distinct (job, version), all lines sent.
ndjson='{"job":"mail","v":1,"payload":{}}
{"job":"mail","v":3,"payload":{}}
{"job":"mail","v":3,"payload":{}}
{"job":"mail","v":4,"payload":{}}
{"job":"mail","v":1,"payload":{}}'
beat
before=$(xlen other)
run_cmd "$J" enqueue other -r "$U" <<<"$ndjson"
assert_eq 0 "$RC" "NDJSON with unserved versions: exit code ($ERR)"
assert_eq "jobrt enqueue: warning: no live worker of queue other serves mail\
 v3 (live workers serve v1); such jobs will park until one does (first:\
 stdin line 2)
jobrt enqueue: warning: no live worker of queue other serves mail v4 (live\
 workers serve v1); such jobs will park until one does (first: stdin line 4)
jobrt enqueue: 5 job(s) enqueued to other" "$ERR" "NDJSON warnings"
assert_eq $((before + 5)) "$(xlen other)" "NDJSON: every line sent"
beat
before=$(xlen other)
run_cmd "$J" enqueue other --require-served -r "$U" <<<"$ndjson"
assert_eq 1 "$RC" "NDJSON --require-served: exit code ($ERR)"
assert_eq "stdin:2: not enqueued: no live worker of queue other serves mail\
 v3 (live workers serve v1) and --require-served is set
stdin:3: not enqueued: no live worker of queue other serves mail v3 (live\
 workers serve v1) and --require-served is set
stdin:4: not enqueued: no live worker of queue other serves mail v4 (live\
 workers serve v1) and --require-served is set
jobrt enqueue: 2 job(s) enqueued to other, 3 line(s) rejected or failed" \
    "$ERR" "NDJSON --require-served lines"
assert_eq $((before + 2)) "$(xlen other)" "NDJSON --require-served: served sent"

# ---- jobrt rollout ---------------------------------------------------------------

S='jobrt:{fleet}:stream'
rcli XGROUP CREATE "$S" jobrt '$' MKSTREAM >/dev/null
# a v2 job delivered and parked: pending to parked:swap:v2
beat
assert_exit 0 "enqueue the parked job" "$J" enqueue fleet swap -v 2 -d '{}' \
    --id p-1 -r "$U"
entry=$(rcli XREADGROUP GROUP jobrt c1 COUNT 1 STREAMS "$S" '>' |
    sed -n 2p)
assert_ne "" "$entry" "the parked job's entry id"
rcli XCLAIM "$S" jobrt parked:swap:v2 0 "$entry" >/dev/null
# queued: v1 x2, v2, v3; delayed: v2; another job that is not counted
for v in 1 1 2 3; do
    beat
    assert_exit 0 "enqueue swap v$v" "$J" enqueue fleet swap -v "$v" \
        -d '{}' -r "$U"
done
beat
assert_exit 0 "enqueue a delayed v2" "$J" enqueue fleet swap -v 2 -d '{}' \
    --delay 1h -r "$U"
assert_exit 0 "enqueue another job" "$J" enqueue fleet other_job -v 1 -d '{}' \
    -r "$U"
assert_eq 1 "$(delayed_len fleet)" "the delayed job"

want="swap on queue fleet: 3 live workers, 2 serve it
VERSION  WORKERS  BUILDS          QUEUED  DELAYED  PARKED  RUNNING
v1       2        b1 (1), b2 (1)  2       0        0       0
v2       1        b2 (1)          1       1        1       2
v3       0        -               1       0        0       0
v3: not served by any live worker: these jobs park
note: 1 live worker record could not be read (see jobrt workers)"
beat
assert_exit 0 "rollout swap -q fleet" "$J" rollout swap -q fleet -r "$U"
assert_eq "$want" "$OUT" "rollout swap -q fleet"
# without --queue: every queue with live workers; `other` has no swap row
beat
assert_exit 0 "rollout swap" "$J" rollout swap -r "$U"
assert_eq "$want" "$OUT" "rollout swap (every queue)"
beat
assert_exit 0 "rollout swap --json" "$J" rollout swap --json -r "$U"
got=$("$E2E_PY" -c 'import json, sys
d = json.load(sys.stdin)
for q in d["queues"]:
    for v in q["versions"]:
        print(q["queue"], v["version"], v["workers"],
              ",".join(b["build_id"] for b in v["builds"]),
              v["queued"], v["delayed"], v["parked"], v["running"])
' <<<"$OUT")
assert_eq "fleet 1 2 b1,b2 2 0 0 0
fleet 2 1 b2 1 1 1 2
fleet 3 0  1 0 0 0" "$got" "rollout --json"
beat
assert_exit 0 "rollout of a job nobody has" "$J" rollout nothing -r "$U"
assert_eq "nothing: no live worker serves it and no job of it is queued,\
 delayed, parked or running on the 2 queues with live workers" "$OUT" \
    "rollout of a job nobody has"
beat
assert_exit 0 "rollout -q fleet of a job nobody has" "$J" rollout nothing \
    -q fleet -r "$U"
assert_eq "nothing on queue fleet: no live worker serves it and no job of it\
 is queued, delayed, parked or running" "$OUT" "rollout -q of a job nobody has"
# a version only running (a draining generation's job) is a row, not flagged
beat
assert_exit 0 "rollout report" "$J" rollout report -q fleet -r "$U"
assert_eq "report on queue fleet: 3 live workers, 1 serves it
VERSION  WORKERS  BUILDS       QUEUED  DELAYED  PARKED  RUNNING
v0       1        old\\x07 (1)  0       0        0       1
note: 1 live worker record could not be read (see jobrt workers)" "$OUT" \
    "rollout report"

# ---- jobrt reload -----------------------------------------------------------------

# answer QUEUE CONSUMER JSON...: in the background, waits for the next
# request id of QUEUE (INCR of jobrt:{QUEUE}:reload) and writes each
# consumer's answer, as a worker does. Gives up after 10 s.
answer()
{
    local q=$1 before id i
    shift
    before=$(rcli GET "jobrt:{$q}:reload")
    (
        for ((i = 0; i < 200; i++)); do
            id=$(rcli GET "jobrt:{$q}:reload")
            if [ -n "$id" ] && [ "$id" != "$before" ]; then
                while [ $# -ge 2 ]; do
                    rcli HSET "jobrt:{$q}:reload:$id" "$1" "$2" >/dev/null
                    shift 2
                done
                exit 0
            fi
            sleep 0.05
        done
    ) &
    ANSWER_PID=$!
}

beat
answer fleet \
    w-v1 '{"v":1,"consumer":"w-v1","host":"h1","pid":41,"status":"reloaded",
 "changes":[{"file":"/opt/jobs/swapper.so","plugin":"swapper",
 "action":"reloaded","from_build":"b1","to_build":"b2","generation":2}]}' \
    w-v12 '{"v":1,"consumer":"w-v12","host":"h2","pid":42,"status":"partial",
 "changes":[{"file":"/opt/jobs/swapper.so","plugin":"swapper",
 "action":"unchanged","from_build":"b2","to_build":"b2","generation":3},
 {"file":"/opt/jobs/new.so","plugin":"newbie","action":"loaded",
 "to_build":"n1","generation":1},
 {"file":"/opt/jobs/legacy.so","plugin":"legacy","action":"refused",
 "reason":"needs a restart: STB_GNU_UNIQUE symbol _ZN5cache4poolE"},
 {"file":"/opt/jobs/broken.so","action":"rejected",
 "reason":"ABI major 2, this runtime loads 1"}]}'
assert_exit 1 "reload -q fleet" "$J" reload -q fleet --timeout 1s -r "$U"
wait "$ANSWER_PID"
assert_eq "w-bad (queue fleet): no answer within 1s
w-v1 (pid 41, queue fleet): reloaded
  reloaded: swapper build b1 -> b2 (generation 2)
w-v12 (pid 42, queue fleet): partial
  loaded: newbie build n1 (generation 1)
  refused: /opt/jobs/legacy.so: needs a restart: STB_GNU_UNIQUE symbol _ZN5cache4poolE
  rejected: /opt/jobs/broken.so: ABI major 2, this runtime loads 1" "$OUT" \
    "reload -q fleet"
assert_eq "" "$ERR" "reload -q fleet: stderr"
assert_eq 2 "$(rcli HLEN "jobrt:{fleet}:reload:$(rcli GET 'jobrt:{fleet}:reload')")" \
    "the answers are in the request's hash"

# every worker answers, nothing rejected: exit 0
beat
answer other w-mail '{"v":1,"consumer":"w-mail","host":"h3","pid":50,
 "status":"unchanged","changes":[{"file":"/opt/jobs/mailer.so",
 "plugin":"mailer","action":"unchanged","to_build":"m1","generation":1}]}'
assert_exit 0 "reload -q other" "$J" reload -q other -r "$U"
wait "$ANSWER_PID"
assert_eq "w-mail (pid 50, queue other): unchanged" "$OUT" "reload -q other"

# an unreadable answer is a failure too
beat
answer other w-mail '{"v":1,"consumer":"w-mail","status":"fine","changes":[]}'
assert_exit 1 "reload -q other, bad answer" "$J" reload -q other --json \
    -r "$U"
wait "$ANSWER_PID"
assert_eq '{"ok":false,"queues":[{"queue":"other","request":"2","workers":[{"consumer":"w-mail","answered":true,"ok":false,"error":"answer unreadable: status is not reloaded, unchanged, rejected or partial"}]}]}' \
    "$OUT" "reload --json with an unreadable answer"

# ---- liveness by the server's clock ----------------------------------------------

# once the heartbeats are more than 5 s old, nobody is live
old=$(($(server_ms) - 5001))
rcli ZADD 'jobrt:{fleet}:workers' "$old" w-v1 "$old" w-v12 "$old" w-bad \
    >/dev/null
rcli ZADD 'jobrt:{other}:workers' "$old" w-mail >/dev/null
assert_exit 0 "workers -q fleet, all stale" "$J" workers -q fleet -r "$U"
assert_eq "no live workers on queue fleet" "$OUT" "stale heartbeats"
# a record that expired: not live though its heartbeat is recent
beat
rcli DEL 'jobrt:{other}:worker:w-mail' >/dev/null
assert_exit 0 "workers -q other, record gone" "$J" workers -q other -r "$U"
assert_eq "no live workers on queue other" "$OUT" "expired record"

pass
