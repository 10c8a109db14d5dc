#!/usr/bin/env bash
# logs.sh - the log formats (docs/logging.md): with --log-format json every
# stderr line of a supervisor and its workers is one JSON object, each job
# line carries the job's fields (id, job, v, queue, attempt, plugin,
# build_id, correlation_id), plugin lines their plugin; the --log-summary
# lines add up to the workload exactly; a handler error and a plugin
# message with a newline and an ANSI escape, and an entry whose job name
# has them, cannot forge a line in either format; payloads show only with
# --log-payloads.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=lg
S=$(stream_key $Q)
enq() { "$JOBRT_BIN" enqueue "$Q" -r "$REDIS_URL" "$@" >/dev/null; }

# The hostile strings: a newline followed by what would be a whole log
# line of each format, and an ANSI colour escape.
FORGED_TEXT='2099-01-01T00:00:00.000Z ERROR forged: pwned'
FORGED_JSON='{"ts":"2099-01-01T00:00:00.000Z","level":"error","msg":"forged"}'
# as JSON text inside a payload: \n and \u001b are decoded by the plugin
EVIL_ERR="boom\\n$FORGED_TEXT\\n${FORGED_JSON//\"/\\\"}\\u001b[31m red"
SECRET=payload-secret-4711

# hostile_jobs: a handler error and plugin lines with control characters,
# and an entry whose (invalid) job name has a newline and an escape.
hostile_jobs()
{
    enq fail_with -v 1 --id "$1-evil" --correlation-id "c-$1-evil" \
        --payload "{\"error\":\"$EVIL_ERR\",\"s\":\"$SECRET\"}"
    rcli XADD "$S" '*' job $'bad\nname\x1b[31m' v 1 \
        payload "{\"s\":\"$SECRET\"}" id "$1-badname" >/dev/null
}

# ---- 1. json at debug, a supervisor with two workers --------------------
start_worker w1 --workers 2 --plugin-dir "$JOBRT_TESTKIT_DIR" \
    -r "$REDIS_URL" -q $Q --log-format json --log-level debug \
    --log-summary 0
L1=$(worker_log w1)
# taking_jobs LOG TAG: that worker process is connected and fetching
taking_jobs() { grep '"msg":"connected to ' "$1" | grep -q "\"worker\":\"$2\""; }
wait_for "worker 1 of w1 to take jobs" 10 taking_jobs "$L1" w1
wait_for "worker 2 of w1 to take jobs" 10 taking_jobs "$L1" w2
for i in 1 2 3; do
    enq ok -v 1 --id "a-ok-$i" --correlation-id "c-a-ok-$i" --payload '{}'
done
hostile_jobs a
for i in 1 2 3; do
    wait_for "a-ok-$i to succeed" 10 job_has_status $Q "a-ok-$i" succeeded
done
wait_for "a-evil to be dead" 10 job_has_status $Q a-evil dead
wait_for "a-badname to be dead" 10 job_has_status $Q a-badname dead
stop_worker w1
"$E2E_PY" - "$L1" "$Q" "$SECRET" <<'EOF' || fail "json log checks (above)"
import json, re, sys
path, queue, secret = sys.argv[1:4]
raw = open(path, 'rb').read()
assert b'\x1b' not in raw, 'a raw ESC byte in the log'
assert secret.encode() not in raw, 'a payload in the log without --log-payloads'
lines = raw.split(b'\n')
assert lines[-1] == b'', 'the log does not end with a newline'
objs = []
for n, line in enumerate(lines[:-1], 1):
    try:
        o = json.loads(line.decode('utf-8'))
    except Exception as e:
        sys.exit(f'line {n} is not JSON ({e}): {line!r}')
    assert isinstance(o, dict), f'line {n} is not an object'
    for k in ('ts', 'level', 'module', 'msg'):
        assert k in o, f'line {n} has no {k}: {o}'
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', o['ts']), o
    assert o['level'] in ('error', 'warn', 'info', 'debug'), o
    assert not o['msg'].startswith('forged'), f'line {n} forged: {o}'
    objs.append(o)
workers = {o.get('worker') for o in objs if o['module'] == 'worker'}
assert {'w1', 'w2'} <= workers, f'worker tags: {workers}'
assert any(o['module'] == 'supervisor' and 'worker' not in o for o in objs)
def job_lines(i):
    return [o for o in objs if o.get('id') == i]
want = dict(queue=queue, v=1, attempt=1, plugin='testkit', build_id='test')
for i in ('a-ok-1', 'a-ok-2', 'a-ok-3'):
    full = [o for o in job_lines(i) if o.get('job') == 'ok' and
            o.get('correlation_id') == 'c-' + i and
            all(o.get(k) == v for k, v in want.items())]
    assert full, f'no line of {i} with all its fields: {job_lines(i)}'
    assert any('succeeded' in o['msg'] and o['level'] == 'debug'
               for o in full), f'{i}: no succeeded line: {full}'
evil = job_lines('a-evil')
dead = [o for o in evil if 'dead-lettered' in o['msg']]
assert dead and all(o.get('job') == 'fail_with' and
                    o.get('correlation_id') == 'c-a-evil' and
                    o.get('plugin') == 'testkit' for o in dead), evil
# the error comes through whole, decoded back from its escapes
assert '\n2099-01-01T00:00:00.000Z ERROR forged: pwned\n' in dead[0]['msg']
assert '\x1b[31m red' in dead[0]['msg'], dead[0]
plug = [o for o in evil if o['module'] == 'plugin testkit']
assert plug and plug[0]['msg'].startswith('fail_with: boom\n'), evil
assert plug[0].get('plugin') == 'testkit' and plug[0].get('job') == 'fail_with'
level = [o for o in objs if o['module'] == 'plugin testkit' and
         o['msg'].startswith('plugin-level: boom\n')]
assert level and level[0].get('plugin') == 'testkit' and \
    'id' not in level[0], f'the plugin-level line: {level}'
bad = [o for o in job_lines('a-badname') if 'invalid_envelope' in o['msg']]
assert bad and bad[0].get('job') == 'bad\nname\x1b[31m', job_lines('a-badname')
print(f'{len(objs)} json lines checked')
EOF
log "json at debug: every line parses, job lines carry their fields"

# ---- 2. the summary lines add up to the workload ------------------------
start_worker w2 --workers 2 --plugin-dir "$JOBRT_TESTKIT_DIR" \
    -r "$REDIS_URL" -q $Q --log-format json --log-level info \
    --log-summary 1s --retry-base 20ms --retry-cap 50ms --park-ttl 1h
L2=$(worker_log w2)
has_summary() { grep '"summary: ' "$L2" | grep -q "\"worker\":\"$1\""; }
wait_for "the first summary of w1" 10 has_summary w1
wait_for "the first summary of w2" 10 has_summary w2
for i in 1 2 3 4 5; do enq ok -v 1 --id "b-ok-$i" --payload '{}'; done
enq retry -v 1 --id b-retry-1 --payload '{}'  # 3 attempts: 2 retries, dead
enq retry -v 1 --id b-retry-2 --payload '{}'
enq fail -v 1 --id b-fail --payload '{}'
enq nobody -v 1 --id b-park --payload '{}'    # no plugin serves it: parked
for i in 1 2 3 4 5; do
    wait_for "b-ok-$i" 10 job_has_status $Q "b-ok-$i" succeeded
done
for id in b-retry-1 b-retry-2 b-fail; do
    wait_for "$id to be dead" 10 job_has_status $Q "$id" dead
done
# every count is in a summary once each worker printed one after this
after=$(wc -l <"$L2")
summary_after()
{
    tail -n +$((after + 1)) "$L2" | grep '"summary: ' |
        grep -q "\"worker\":\"$1\""
}
wait_for "a later summary of w1" 10 summary_after w1
wait_for "a later summary of w2" 10 summary_after w2
stop_worker w2
"$E2E_PY" - "$L2" <<'EOF' || fail "summary checks (above)"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
sums = [o for o in objs if o['msg'].startswith('summary: ')]
keys = ('succeeded', 'retried', 'dead_lettered', 'parked', 'in_flight')
for o in sums:
    assert o['level'] == 'info' and o['worker'] in ('w1', 'w2'), o
    for k in keys + ('rate', 'interval_s'):
        assert type(o[k]) in (int, float) and o[k] >= 0, (k, o)
    for k in keys:
        assert type(o[k]) is int, (k, o)
    assert 0.5 < o['interval_s'] < 3, o
    done = o['succeeded'] + o['retried'] + o['dead_lettered']
    assert abs(o['rate'] - done / o['interval_s']) < 0.02, o
    assert (f"{o['succeeded']} succeeded, {o['retried']} retried, "
            f"{o['dead_lettered']} dead-lettered, {o['parked']} parked") \
        in o['msg'], o
total = {k: sum(o[k] for o in sums) for k in keys}
want = dict(succeeded=5, retried=4, dead_lettered=3, parked=1)
got = {k: total[k] for k in want}
assert got == want, f'summaries add up to {got}, the workload is {want}'
assert sums[-1]['in_flight'] == 0, sums[-1]
print(f'{len(sums)} summaries add up to {got}')
EOF
log "the summaries add up to the workload"

# ---- 3. text: nothing raw, no forged line --------------------------------
start_worker w3 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --log-level debug
hostile_jobs c
wait_for "c-evil to be dead" 10 job_has_status $Q c-evil dead
wait_for "c-badname to be dead" 10 job_has_status $Q c-badname dead
stop_worker w3
L3=$(worker_log w3)
"$E2E_PY" - "$L3" "$SECRET" <<'EOF' || fail "text log checks (above)"
import re, sys
raw = open(sys.argv[1], 'rb').read()
assert b'\x1b' not in raw, 'a raw ESC byte in the text log'
assert sys.argv[2].encode() not in raw, 'a payload in the text log'
lines = raw.decode('utf-8').split('\n')
assert lines[-1] == ''
for n, line in enumerate(lines[:-1], 1):
    assert re.match(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN |'
                    r'INFO |DEBUG) ', line), f'line {n} forged: {line!r}'
    assert not line.startswith('2099-') and not line.startswith('{'), line
    assert all(c >= ' ' and c != '\x7f' for c in line), f'line {n}: {line!r}'
dead = [l for l in lines if 'job c-evil (fail_with v1, attempt 1) '
        'dead-lettered' in l]
assert dead, 'no dead-letter line of c-evil'
assert '\\n2099-01-01T00:00:00.000Z ERROR forged: pwned\\n' in dead[0], dead
assert '\\x1b[31m red' in dead[0], dead[0]
assert re.search(r' \[id=c-evil stream_id=\d+-\d+ job=fail_with v=1 '
                 r'queue=lg attempt=1 plugin=testkit build_id=test '
                 r'correlation_id=c-c-evil\]$', dead[0]), dead[0]
bad = [l for l in lines if 'job c-badname' in l and 'invalid_envelope' in l]
assert bad and 'job=bad\\nname\\x1b[31m' in bad[0], bad
print(f'{len(lines) - 1} text lines checked')
EOF
log "text: control characters escaped, no forged line"

# ---- 4. --log-payloads shows them, escaped and bounded -------------------
start_worker w4 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --log-format json --log-payloads
hostile_jobs d
big=$(head -c 5000 /dev/zero | tr '\0' x)
enq fail -v 1 --id d-big --payload "{\"big\":\"$big\"}"
wait_for "d-evil to be dead" 10 job_has_status $Q d-evil dead
wait_for "d-badname to be dead" 10 job_has_status $Q d-badname dead
wait_for "d-big to be dead" 10 job_has_status $Q d-big dead
stop_worker w4
"$E2E_PY" - "$(worker_log w4)" "$SECRET" <<'EOF' || fail "payload checks"
import json, sys
secret = sys.argv[2]
objs = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
for i in ('d-evil', 'd-badname'):
    dead = [o for o in objs if o.get('id') == i and 'dead-lettered' in o['msg']]
    assert dead and secret in dead[0].get('payload', ''), (i, dead)
big = [o for o in objs if o.get('id') == 'd-big' and 'payload' in o]
assert big and big[0]['payload'].endswith('...[cut]'), big
assert len(big[0]['payload']) <= 1024 + 8, len(big[0]['payload'])
assert all(len(json.dumps(o)) < 8192 for o in objs)
print('payloads shown with --log-payloads, cut to 1 KiB')
EOF
log "--log-payloads: payloads in the dead-letter lines, cut"

# ---- 5. a crash report is a json line too --------------------------------
start_worker w5 --workers 1 --plugin-dir "$JOBRT_TESTKIT_DIR" \
    -r "$REDIS_URL" -q $Q --log-format json --max-deliveries 1
L5=$(worker_log w5)
wait_for "w5's worker to take jobs" 10 taking_jobs "$L5" w1
enq crash -v 1 --id e-crash --correlation-id c-e-crash --payload '{}'
wait_for "e-crash to be dead" 15 job_has_status $Q e-crash dead
stop_worker w5
"$E2E_PY" - "$L5" <<'EOF2' || fail "crash report checks (above)"
import json, re, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
crash = [o for o in objs if o['module'] == 'crash']
assert len(crash) == 1, crash
o = crash[0]
assert o['level'] == 'error' and o['worker'] == 'w1', o
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', o['ts']), o
assert 'SIGABRT in the handler of job e-crash (crash v1' in o['msg'], o
print('the crash report is a json line')
EOF2
log "a crash report in json"

pass
