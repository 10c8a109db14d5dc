#!/usr/bin/env bash
# progress.sh - ABI 1.2's job_progress end to end. Plugins built against
# the frozen 1.0, 1.1 and 1.2 headers load side by side on this runtime
# (`jobrt plugins`) and run their jobs (the 1.2 one calls job_progress
# after JOBRT_HOST_HAS), a plugin of the unpublished 1.3 is refused. A
# testkit `progress` job that reported 50% with a message and then waits
# for a file shows that progress in `jobrt status` (text and --json) while
# it runs, from its key <ns>:{<queue>}:progress:<id> (expiring, at most
# 1 h), in a worker of its own (--workers 0) and under a supervisor
# (--workers 1); a running job that reports nothing has "progress": null,
# and so has one whose key holds an earlier run's report (another
# delivery) or no report at all; once the job is done its key is gone and
# its record carries no progress.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
e2e_require "$JOBRT_ZOO_DIR/abi/abi_1_2.so" "build the jobrt_zoo target"
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
W=$E2E_WORK
P=$W/plugins
mkdir -m 755 "$P" "$W/newer"
for f in abi_1_0 abi_1_1 abi_1_2; do
    install -m 755 "$JOBRT_ZOO_DIR/abi/$f.so" "$P/$f.so"
done
install -m 755 "$JOBRT_TESTKIT_DIR/testkit.so" "$P/testkit.so"
install -m 755 "$JOBRT_ZOO_DIR/abi/abi_1_3.so" "$W/newer/abi_1_3.so"

# ---- every published minor loads ------------------------------------------
assert_exit 0 "jobrt version" "$JOBRT_BIN" version
assert_contains "$OUT" "plugin SDK 1.2.0 (builds plugins for ABI 1.2)" \
    "the SDK version"
assert_contains "$OUT" "loads plugins built for ABI 1.0 to 1.2" "the range"
assert_exit 0 "jobrt plugins on 1.0, 1.1 and 1.2" \
    "$JOBRT_BIN" plugins --plugin-dir "$P"
for want in "abi_1_0.so: plugin abi-1-0 1.0.0 (ABI 1.0" \
    "abi_1_1.so: plugin abi-1-1 1.1.0 (ABI 1.1" \
    "abi_1_2.so: plugin abi-1-2 1.2.0 (ABI 1.2" \
    "testkit.so: plugin testkit 1.0.0 (ABI 1.2"; do
    assert_contains "$OUT" "$want" "jobrt plugins"
done
assert_contains "$OUT" "4 loaded, 0 rejected" "jobrt plugins"
assert_exit 1 "jobrt plugins on a 1.3 plugin" \
    "$JOBRT_BIN" plugins --plugin-dir "$W/newer"
assert_contains "$OUT$ERR" "ABI minor" "the 1.3 plugin's refusal"

# field JSON KEY...: one member of a JSON document ("" if absent)
field() { json_get "$@" 2>/dev/null || true; }

# ---- one worker per mode -----------------------------------------------------
# check_mode QUEUE WORKER-ARGS...: the whole progress story on one queue.
check_mode()
{
    local q=$1 name=w-$1
    shift
    start_worker "$name" --plugin-dir "$P" --redis "$REDIS_URL" --queue "$q" \
        --concurrency 4 "$@"

    # the old plugins' jobs run on the new runtime; the 1.2 one's handler
    # fails unless job_progress is there and refuses 101 and -1
    J enqueue "$q" abi_1_0 -v 1 --payload '{}' --id "$q-a10" >/dev/null
    J enqueue "$q" abi_1_1 -v 1 --payload '{}' --id "$q-a11" >/dev/null
    J enqueue "$q" abi_1_2 -v 1 --payload '{}' --id "$q-a12" >/dev/null
    for id in "$q-a10" "$q-a11" "$q-a12"; do
        wait_for "$id to succeed" 20 job_has_status "$q" "$id" succeeded
    done
    job_status "$q" "$q-a12" | grep -q '"abi-1.2"' ||
        fail "$q-a12: $(job_status "$q" "$q-a12")"
    wait_for "the 1.2 job's progress key to go" 5 \
        eval "[ \"\$(rcli EXISTS 'jobrt:{$q}:progress:$q-a12')\" = 0 ]"

    # a job that reports progress, then waits for a file
    local go=$W/go-$q t0
    t0=$(now_ms)
    J enqueue "$q" progress -v 1 --id "$q-p1" \
        --payload "{\"file\":\"$go\",\"message\":\"copying 3/7 (\u00e9)\"}" \
        >/dev/null || fail "enqueue of $q-p1"
    shows_progress() { J status "$q-p1" -q "$q" | grep -q "progress 50%"; }
    wait_for "$q-p1's progress in jobrt status" 20 shows_progress
    assert_exit 0 "status of $q-p1" J status "$q-p1" -q "$q"
    assert_contains "$OUT" "is running in queue $q" "status text"
    assert_contains "$OUT" 'progress 50%: copying 3/7 (\xc3\xa9) (reported' \
        "status text (non-ASCII bytes escaped)"
    assert_exit 0 "status --json of $q-p1" J status "$q-p1" -q "$q" --json
    local doc=$OUT
    assert_eq running "$(field "$doc" state)" "state"
    assert_eq 50 "$(field "$doc" progress percent)" "progress.percent"
    assert_eq "copying 3/7 (é)" "$(field "$doc" progress message)" \
        "progress.message"
    local at now
    at=$(field "$doc" progress at)
    now=$(now_ms)
    assert_ge "$t0" "$at" "progress.at (ms, after the enqueue)"
    assert_ge "$at" "$now" "progress.at (ms, not in the future)"
    # the key itself, in the queue's hash slot, expiring
    local key="jobrt:{$q}:progress:$q-p1" v ttl
    v=$(rcli GET "$key")
    assert_eq 50 "$(field "$v" percent)" "the key's percent"
    assert_eq 1 "$(field "$v" attempt)" "the key's attempt"
    assert_eq 1 "$(field "$v" delivery)" "the key's delivery"
    ttl=$(rcli PTTL "$key")
    assert_ge 1 "$ttl" "PTTL of $key"
    assert_ge "$ttl" 3600000 "PTTL of $key at most 1 h"

    # a running job that reports nothing: "progress": null
    J enqueue "$q" sleep -v 1 --payload '{"ms":5000}' --id "$q-quiet" \
        >/dev/null
    quiet_running() {
        J status "$q-quiet" -q "$q" --json | grep -q '"state":"running"'
    }
    wait_for "$q-quiet to run" 20 quiet_running
    assert_exit 0 "status --json of $q-quiet" J status "$q-quiet" -q "$q" \
        --json
    assert_contains "$OUT" '"progress":null' "a job without a report"
    assert_exit 0 "status of $q-quiet" J status "$q-quiet" -q "$q"
    assert_not_contains "$OUT" "progress" "a job without a report (text)"
    # a report an earlier run left (a worker that died: delivery 7) is not
    # this run's; one of this run (attempt 1, delivery 1) is shown
    local qk="jobrt:{$q}:progress:$q-quiet"
    rcli SET "$qk" '{"percent":90,"message":"old","at":1,"attempt":1,"delivery":7}' \
        >/dev/null
    assert_exit 0 "status --json with a stale report" \
        J status "$q-quiet" -q "$q" --json
    assert_eq running "$(field "$OUT" state)" "state of $q-quiet"
    assert_contains "$OUT" '"progress":null' "a report of an earlier run"
    rcli SET "$qk" '{"percent":20,"message":null,"at":1,"attempt":1,"delivery":1}' \
        >/dev/null
    assert_exit 0 "status --json with a report" \
        J status "$q-quiet" -q "$q" --json
    assert_eq '{"percent":20,"message":null,"at":1}' \
        "$(field "$OUT" progress)" "a report of this run"
    rcli SET "$qk" '{"percent":"x"}' >/dev/null
    assert_exit 0 "status --json with a bad report" \
        J status "$q-quiet" -q "$q" --json
    assert_contains "$OUT" '"progress":null' "a value that is not a report"
    rcli DEL "$qk" >/dev/null

    # done: the key goes, the record has no progress
    touch "$go"
    wait_for "$q-p1 to succeed" 20 job_has_status "$q" "$q-p1" succeeded
    wait_for "$q-quiet to succeed" 20 job_has_status "$q" "$q-quiet" succeeded
    wait_for "$key to be deleted" 5 \
        eval "[ \"\$(rcli EXISTS '$key')\" = 0 ]"
    assert_exit 0 "status --json of $q-p1 done" J status "$q-p1" -q "$q" \
        --json
    assert_eq finished "$(field "$OUT" state)" "state after"
    assert_not_contains "$OUT" '"percent"' "status of a finished job"
    assert_eq '{"progress":true}' "$(field "$OUT" record result)" \
        "the job's own result"
    stop_worker "$name"
}

check_mode pg0 --workers 0
check_mode pg1 --workers 1
grep -q "writing job progress" "$W"/w-pg*.log &&
    fail "a progress write failed: $(grep -h "writing job progress" "$W"/w-pg*.log)"
pass
