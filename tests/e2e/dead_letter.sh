#!/usr/bin/env bash
# dead_letter.sh - every kind of bad entry a producer can XADD is moved to
# the dead-letter stream with the right dlq_reason and its original fields
# byte for byte (docs/protocol.md, "Dead letters"), nothing is left in the
# job stream, each dead letter is logged once, and the worker survives to
# run a good job afterwards.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=dl
S=$(stream_key $Q)
D=$(dlq_key $Q)

start_worker w1 --park-ttl 0 --plugin-dir "$JOBRT_TESTKIT_DIR" --redis "$REDIS_URL" \
    --queue $Q --concurrency 4
wait_for "worker to create its consumer group" 10 group_exists $Q

CASES=()
declare -A SRC=() REASON=() SENT=() JOBID=()

# dl_case NAME REASON JOB_ID FIELD VALUE...: XADDs the fields as given
# (bytes straight from argv), remembers what to expect of its dead letter.
dl_case()
{
    local name=$1 reason=$2 jobid=$3
    shift 3
    SRC[$name]=$(rcli XADD "$S" '*' "$@")
    REASON[$name]=$reason
    SENT[$name]=$(enc_pairs "$@")
    JOBID[$name]=$jobid
    CASES+=("$name")
}

# dl_case_quoted NAME REASON JOB_ID EXPECTED_FIELDS_JSON FIELD VALUE...: the
# same through `redis-cli --quoted-input`, for bytes argv cannot carry (NUL);
# EXPECTED_FIELDS_JSON is how resp.py shows the stored fields. A JOB_ID of
# '-' means the stream entry id (the entry's own id field is unusable).
dl_case_quoted()
{
    local name=$1 reason=$2 jobid=$3 expected=$4
    shift 4
    SRC[$name]=$(rcli --quoted-input XADD "$S" '*' "$@")
    REASON[$name]=$reason
    SENT[$name]=$expected
    [ "$jobid" = - ] && jobid=${SRC[$name]}
    JOBID[$name]=$jobid
    CASES+=("$name")
}

dl_case nohandler no_handler dl-nohandler \
    job no_such_job v 1 payload '{}' id dl-nohandler trace t-1
dl_case schema schema_unsupported dl-schema \
    job versioned v 9 payload '{"k":"v"}' id dl-schema
dl_case v20 invalid_envelope dl-v20 job ok v 2.0 payload '{}' id dl-v20
dl_case v02 invalid_envelope dl-v02 job ok v 02 payload '{}' id dl-v02
dl_case nopayload invalid_envelope dl-nopayload job ok v 1 id dl-nopayload
dl_case badjson invalid_envelope dl-badjson \
    job ok v 1 payload '{' id dl-badjson trace t-2
dl_case dupjob invalid_envelope dl-dupjob \
    job ok job ok v 1 payload '{}' id dl-dupjob
dl_case maxatt invalid_envelope dl-maxatt \
    job ok v 1 payload '{}' max_attempts 0 id dl-maxatt
dl_case badutf8 invalid_envelope dl-badutf8 \
    job ok v 1 payload $'"\xff\xfe"' id dl-badutf8
dl_case_quoted binjunk invalid_envelope - \
    '[["job", "\\xff\\xfejunk"], ["v", "1\\x00"], ["payload", "\\x00{}"], ["id", "bin\\x07id"]]' \
    job '"\xff\xfejunk"' v '"1\x00"' payload '"\x00{}"' id '"bin\x07id"'
dl_case fail permanent_failure dl-fail \
    job fail v 1 payload '{"why":"x"}' id dl-fail trace t-3
# A producer's bytes must not be able to forge worker log lines.
dl_case newline invalid_envelope dl-newline \
    job ok v $'1\n2026-01-01T00:00:00.000Z ERROR forged: by a producer' \
    payload '{}' id dl-newline
log "enqueued ${#CASES[@]} bad entries"

for c in "${CASES[@]}"; do
    wait_for "dead letter of case $c (source ${SRC[$c]})" 15 \
        find_entry "$D" dlq_source_id "${SRC[$c]}"
done
log "all ${#CASES[@]} dead-lettered"

for c in "${CASES[@]}"; do
    e=$(find_entry "$D" dlq_source_id "${SRC[$c]}")
    assert_eq "${REASON[$c]}" "$(entry_field "$e" dlq_reason)" \
        "dlq_reason of case $c"
    assert_eq "${SENT[$c]}" "$(entry_fields_before "$e" dlq_reason)" \
        "original fields of case $c, before the dlq_* fields"
    err=$(entry_field "$e" dlq_error) || fail "case $c has no dlq_error"
    assert_ne "" "$err" "dlq_error of case $c"
    entry_field "$e" dlq_worker >/dev/null || fail "case $c has no dlq_worker"
    at=$(entry_field "$e" dlq_at) || fail "case $c has no dlq_at"
    case "$at" in
        '' | *[!0-9]*) fail "dlq_at of case $c is not ms: $at" ;;
    esac
    # dlq_* are appended after the original fields, in the documented order.
    names=$("$E2E_PY" -c 'import json,sys
print(" ".join(k for k, _ in json.loads(sys.argv[1])["fields"]
               if k.startswith("dlq_")))' "$e")
    assert_eq "dlq_reason dlq_error dlq_worker dlq_at dlq_source_id" "$names" \
        "dlq_* fields of case $c"
done
e=$(find_entry "$D" dlq_source_id "${SRC[fail]}")
assert_contains "$(entry_field "$e" dlq_error)" permanent "dlq_error of fail"
e=$(find_entry "$D" dlq_source_id "${SRC[schema]}")
assert_contains "$(entry_field "$e" dlq_error)" v9 "dlq_error of schema"
assert_eq "${#CASES[@]}" "$(dlq_len $Q)" "dead letters in $D"

# Nothing left behind in the job stream.
wait_for "stream $S to be empty with nothing pending" 10 stream_empty $Q

# Failure records.
rec=$(job_status $Q dl-fail) || fail "no record of dl-fail"
assert_eq dead "$(json_get "$rec" status)" "status of dl-fail"
assert_eq permanent_failure "$(json_get "$rec" reason)" "reason of dl-fail"
assert_contains "$(json_get "$rec" error)" permanent "error of dl-fail"
rec=$(job_status $Q dl-schema) || fail "no record of dl-schema"
assert_eq dead "$(json_get "$rec" status)" "status of dl-schema"
assert_eq schema_unsupported "$(json_get "$rec" reason)" "reason of dl-schema"
rec=$(job_status $Q dl-badjson) || fail "no record of dl-badjson"
assert_eq invalid_envelope "$(json_get "$rec" reason)" "reason of dl-badjson"

# The worker is still alive and still works.
worker_alive w1 || fail "worker died after the bad entries"
assert_exit 0 "enqueue ok-after" "$JOBRT_BIN" enqueue $Q ok -v 1 \
    --payload '{}' --id ok-after -r "$REDIS_URL"
wait_for "ok-after to succeed" 10 job_has_status $Q ok-after succeeded
wait_for "stream $S to be empty with nothing pending" 10 stream_empty $Q
assert_eq "${#CASES[@]}" "$(dlq_len $Q)" "dead letters after the good job"

# One WARN line per dead letter, naming the job id.
L=$(worker_log w1)
n_warn=$(grep -c -E '^[^ ]+ WARN .*dead-lettered' "$L" || true)
assert_eq "${#CASES[@]}" "$n_warn" "WARN lines about dead letters"
for c in "${CASES[@]}"; do
    n=$(grep -E '^[^ ]+ WARN ' "$L" | grep -c -F "job ${JOBID[$c]} " || true)
    assert_eq 1 "$n" "WARN lines naming job ${JOBID[$c]} (case $c)"
done

# dlq_error is documented as one line; the worker log is one line per event.
e=$(find_entry "$D" dlq_source_id "${SRC[newline]}")
err=$(entry_field "$e" dlq_error)
if esc_has_byte "$err" 0a || esc_has_byte "$err" 0d; then
    fail "dlq_error of the entry with a newline in 'v' is not one line: $err"
fi
bad_lines=$(grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (ERROR|WARN |INFO |DEBUG) ' "$L" || true)
assert_eq "" "$bad_lines" \
    "worker log lines not starting with a timestamp and level (forged by a producer's field?)"

stop_worker w1 15
assert_eq 0 "$WORKER_RC" "worker exit code after SIGTERM"

pass
