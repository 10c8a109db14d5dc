#!/usr/bin/env bash
# dashboard.sh - the dashboard end to end in a real browser: `jobrt run`
# (a supervisor over one worker process, which serves the endpoint) with
# --http on loopback and --http-token-file, one slot (--concurrency 1) held
# by a `progress` job (50 %, a message) so the queue keeps its depth; headless Chromium
# (Debian's, driven by playwright-core: tests/browser/dashboard.mjs) loads
# `/` and must show the queue with its depth, the live worker, the
# supervisor's own view of its worker process, the running job with its
# progress and the rollout row; a `record` job with one attempt then fails (its file's
# directory is missing) and is dead-lettered; Retry without the token is
# refused (401) with a message and changes nothing; markup in a dead letter
# is shown as text; with the token, Purge deletes one entry and Retry moves
# the job back to the stream, where it runs and succeeds. A screenshot goes
# to the work dir (and to $JOBRT_SCREENSHOT_DIR/dashboard.png when set:
# docs/dashboard.png is made so). Exit 77 (skipped) only when chromium or
# node is missing and cannot be installed.
# lib.sh drops JOBRT_* settings from the environment: keep this one.
SHOT_DIR=${JOBRT_SCREENSHOT_DIR:+$(realpath -m "$JOBRT_SCREENSHOT_DIR")}
. "$(dirname "$0")/lib.sh"
. "$JOBRT_SOURCE_DIR/scripts/lib/browser.sh"

brc=0
ensure_browser "$JOBRT_SOURCE_DIR" || brc=$?
if [ "$brc" = 77 ]; then
    echo "SKIP: $E2E_NAME: chromium or node is not installed and could not be installed (see above)"
    exit 77
fi
[ "$brc" = 0 ] || fail "playwright-core could not be installed (npm ci --prefix tests/browser)"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=dash
PORT=$(free_port)
TOKEN_FILE=$E2E_WORK/http-token
printf 'dash-%s-token\n' "$RANDOM$RANDOM" >"$TOKEN_FILE"
chmod 0600 "$TOKEN_FILE"
RECORD=$E2E_WORK/records/record.log # its directory is made later
export JOBRT_TESTKIT_RECORD=$RECORD

# a second queue: the page lists both and can switch to it
start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    -q dash2:1 --consumer w1 --workers 1 --concurrency 1 --http "127.0.0.1:$PORT" \
    --http-token-file "$TOKEN_FILE"
wait_for "w1 to take jobs" 10 grep -q "taking jobs" "$(worker_log w1)"
J() { "$JOBRT_BIN" "$@" -r "$REDIS_URL"; }
live_worker() { # the consumer name of the supervisor's one worker process
    json_get "$(J workers -q $Q --json)" queues 0 workers 0 consumer
}
wait_for "a live worker in the registry" 10 live_worker
CONSUMER=$(live_worker)
http_up() { "$E2E_PY" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()' "http://127.0.0.1:$PORT/"; }
wait_for "the HTTP endpoint on port $PORT" 10 http_up

# hold-1 reports 50 % "rendering invoices" and holds the slot until the
# browser test creates its release file
HOLD_RELEASE=$E2E_WORK/release-hold-1
J enqueue $Q progress -v 1 --id hold-1 --payload \
    "{\"ms\":120000,\"message\":\"rendering invoices\",\"file\":\"$HOLD_RELEASE\"}" \
    >/dev/null
wait_for "hold-1 to hold the only slot" 10 eval '[ "$(xpending_count $Q)" = 1 ]'
for i in $(seq 1 25); do
    J enqueue $Q ok -v 1 --id "ok-$i" --payload '{}' >/dev/null
done
J enqueue $Q record -v 1 --id rec-1 --max-attempts 1 --payload '{}' >/dev/null
lag=$(rcli XINFO GROUPS "$(stream_key $Q)" | awk 'p {print; exit} $0 == "lag" {p = 1}')
assert_eq 26 "$lag" "jobs waiting behind hold-1"

log "driving chromium: tests/browser/dashboard.mjs"
DASH_URL="http://127.0.0.1:$PORT" DASH_TOKEN_FILE=$TOKEN_FILE DASH_QUEUE=$Q \
    DASH_CONSUMER=$CONSUMER DASH_DEPTH=26 DASH_OK_QUEUED=25 DASH_HOLD=hold-1 \
    DASH_HOLD_RELEASE=$HOLD_RELEASE DASH_HOLD_MESSAGE="rendering invoices" \
    DASH_RECORD=$RECORD DASH_REC_ID=rec-1 DASH_WORK=$E2E_WORK \
    CHROMIUM=$(command -v chromium) JOBRT_SCREENSHOT_DIR=$SHOT_DIR \
    node "$JOBRT_SOURCE_DIR/tests/browser/dashboard.mjs" ||
    fail "the browser checks failed (see above)"

# What the page did, checked from outside it.
wait_for "rec-1 to succeed" 10 job_has_status $Q rec-1 succeeded
wait_for "hold-1 to succeed" 10 job_has_status $Q hold-1 succeeded
assert_eq 1 "$(grep -cx rec-1 "$RECORD")" "rec-1 runs in the record file"
for i in $(seq 1 25); do job_has_status $Q "ok-$i" succeeded ||
    fail "ok-$i did not succeed"; done
[ -s "$E2E_WORK/dashboard.png" ] || fail "no screenshot at $E2E_WORK/dashboard.png"
assert_contains "$(rcli XRANGE "$(dlq_key $Q)" - +)" invoice-77 "the DLQ after the test"
stop_worker w1
assert_eq 0 "$WORKER_RC" "w1 exit code"
pass
