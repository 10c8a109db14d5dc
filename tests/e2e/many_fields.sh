#!/usr/bin/env bash
# many_fields.sh - entries with 5 000 field pairs (over the limit of 256,
# and over what one Lua call can take) for a handled job, an unknown job
# and a job that retries, and a delayed job as big: none is lost. Each
# ends in the DLQ as too_many_fields with every field kept byte for byte
# in dlq_fields, `jobrt dlq show` decodes it, `jobrt dlq retry` keeps it,
# and the worker keeps working.
. "$(dirname "$0")/lib.sh"

e2e_setup
Q=mf
S=$(stream_key $Q)
D=$(dlq_key $Q)
PAIRS=5000

jobrt_q() { "$JOBRT_BIN" "$@" -q $Q -r "$REDIS_URL"; }

# big_fields JOB ID: the field/value list of a big entry, one per line.
big_fields()
{
    printf '%s\n' job "$1" v 1 payload '{}' id "$2"
    local i
    for ((i = 5; i <= PAIRS; i++)); do printf 'f%d\nv%d\n' $i $i; done
}

# xadd_big JOB ID: XADDs a big entry, prints its stream id.
xadd_big()
{
    local -a f
    mapfile -t f < <(big_fields "$1" "$2")
    rcli XADD "$S" '*' "${f[@]}"
}

# netstrings_match ESCAPED JOB ID: dlq_fields (as resp.py escapes it) holds
# exactly big_fields JOB ID as netstrings ("<length>:<bytes>,").
netstrings_match()
{
    "$E2E_PY" - "$1" "$PAIRS" "$2" "$3" <<'PY'
import codecs, sys
raw = codecs.escape_decode(sys.argv[1].encode())[0]
pairs, job, jid = int(sys.argv[2]), sys.argv[3], sys.argv[4]
want = [b"job", job.encode(), b"v", b"1", b"payload", b"{}", b"id",
        jid.encode()]
for i in range(5, pairs + 1):
    want += [b"f%d" % i, b"v%d" % i]
got, pos = [], 0
while pos < len(raw):
    colon = raw.index(b":", pos)
    n = int(raw[pos:colon])
    got.append(raw[colon + 1:colon + 1 + n])
    if raw[colon + 1 + n:colon + 2 + n] != b",":
        sys.exit("not a netstring at byte %d" % pos)
    pos = colon + 2 + n
if got != want:
    sys.exit("decoded %d strings, expected %d; first difference at %s" % (
        len(got), len(want),
        next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
             min(len(got), len(want)))))
PY
}

# where SRC: where the entry that had stream id (or token) SRC is now.
where()
{
    local at=""
    if [[ "$1" =~ ^[0-9]+-[0-9]+$ ]]; then
        [ "$(rcli XRANGE "$S" "$1" "$1" | head -c 1)" != "" ] &&
            at="$at stream"
        rcli XPENDING "$S" jobrt "$1" "$1" 1 | grep -q . && at="$at pending"
    else # a delayed-set token
        rcli ZRANGE "$(delayed_key $Q)" 0 -1 | grep -qF "$1" &&
            at="$at delayed"
    fi
    find_entry "$D" dlq_source_id "$1" >/dev/null 2>&1 && at="$at dlq"
    echo "${at:- nowhere}"
}

start_worker w1 --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q \
    --retry-base 100ms --retry-cap 200ms
wait_for "w1 to create its consumer group" 10 group_exists $Q

declare -A SRC=()
SRC[mf-ok]=$(xadd_big ok mf-ok)
SRC[mf-unknown]=$(xadd_big no_such_job mf-unknown)
SRC[mf-retry]=$(xadd_big retry mf-retry)
# A delayed job as big, due now (as an older worker could have left it).
SRC[mf-delayed]=tok-mf-delayed
rcli EVAL "local f = {'job', 'ok', 'v', '1', 'payload', '{}', 'id', ARGV[2]}
for i = 5, tonumber(ARGV[3]) do f[#f + 1] = 'f' .. i; f[#f + 1] = 'v' .. i end
return redis.call('ZADD', KEYS[1], 0, cmsgpack.pack({ARGV[1], f}))" \
    1 "$(delayed_key $Q)" tok-mf-delayed mf-delayed $PAIRS >/dev/null

dead_letters_are() { [ "$(dlq_len $Q)" = "$1" ]; }
deadline=$(($(now_ms) + 15000))
until dead_letters_are 4 || [ "$(now_ms)" -ge $deadline ]; do sleep 0.05; done
if ! dead_letters_are 4; then
    for id in "${!SRC[@]}"; do
        log "$id (${SRC[$id]}):$(where "${SRC[$id]}")"
    done
    fail "$(dlq_len $Q) dead letters after 15 s, expected 4 (see above)"
fi

for id in mf-ok mf-unknown mf-retry mf-delayed; do
    e=$(find_entry "$D" dlq_source_id "${SRC[$id]}") ||
        fail "no dead letter of $id (${SRC[$id]}):$(where "${SRC[$id]}")"
    assert_eq too_many_fields "$(entry_field "$e" dlq_reason)" \
        "dlq_reason of $id"
    enc=$(entry_field "$e" dlq_fields) || fail "$id: no dlq_fields"
    job=ok
    [ $id = mf-unknown ] && job=no_such_job
    [ $id = mf-retry ] && job=retry
    netstrings_match "$enc" $job $id ||
        fail "$id: dlq_fields does not hold the original fields"
    assert_eq " dlq" "$(where "${SRC[$id]}")" "where $id is"
done
for id in mf-ok mf-unknown mf-retry; do
    wait_for "the record of $id" 5 job_has_status $Q $id dead
done
assert_eq 0 "$(xpending_count $Q)" "entries left pending"
assert_eq 0 "$(delayed_len $Q)" "delayed jobs left"
L=$(worker_log w1)
assert_contains "$(cat "$L")" "too_many_fields" "worker log"
assert_not_contains "$(cat "$L")" "giving up" "worker log"

# ---- show and retry ----------------------------------------------------------

# by job id: its source stream id can also be the id of another dead
# letter (the DLQ is a stream of its own: both XADDs in the same ms give
# <ms>-0), and an entry id wins (seen under ASan)
assert_exit 0 "dlq show of mf-unknown" jobrt_q dlq show mf-unknown
SHOW=$OUT
for line in "# the entry's $PAIRS fields, decoded from dlq_fields (it had more than 256):" \
    "job: no_such_job" "id: mf-unknown" "f5: v5" "f$PAIRS: v$PAIRS" \
    "dlq_reason: too_many_fields"; do
    grep -qxF -- "$line" <<<"$SHOW" ||
        fail "show mf-unknown: no line '$line'"
done
assert_eq $((PAIRS + 7)) "$(printf '%s\n' "$SHOW" | wc -l | tr -d ' ')" \
    "show lines: 2 '#' lines, $PAIRS fields, 5 dlq_* fields"
assert_not_contains "$SHOW" "dlq_fields:" "show prints dlq_fields decoded"
# Encoded or not, it is listed and found by its job name and job id.
assert_exit 0 "dlq list --job no_such_job" jobrt_q dlq list --job no_such_job
assert_contains "$OUT" "mf-unknown" "dlq list --job of an encoded dead letter"
assert_exit 0 "dlq show by job id" jobrt_q dlq show mf-unknown
assert_contains "$OUT" "f$PAIRS: v$PAIRS" "dlq show mf-unknown"

assert_exit 0 "dlq retry --all" jobrt_q dlq retry --all
assert_eq "re-enqueued 0 job(s) to queue $Q" "$OUT" "retry output"
assert_contains "$ERR" "kept 4 dead letter(s) in the DLQ, not re-enqueued" \
    "retry stderr"
assert_eq 4 "$(dlq_len $Q)" "dead letters after retry"

# ---- the worker keeps working ------------------------------------------------

assert_exit 0 "enqueue mf-after" "$JOBRT_BIN" enqueue $Q ok -v 1 \
    --payload '{}' --id mf-after -r "$REDIS_URL"
wait_for "mf-after to succeed" 10 job_has_status $Q mf-after succeeded
worker_alive w1 || fail "w1 died"
stop_worker w1 15
assert_eq 0 "$WORKER_RC" "w1 exit code after SIGTERM"
pass
