#!/usr/bin/env bash
# cli_usage.sh - bad usage of every command is one `jobrt CMD: ...` line on
# stderr and exit 2, before any plugin is loaded or Redis is contacted:
# repeated options, names the keys cannot hold, --retry-base over
# --retry-cap, flag values from the environment, unknown dead-letter
# reasons, job options given to the NDJSON form. `jobrt help CMD` and
# `jobrt CMD --help` print CMD's help; `jobrt exec` keeps stdout for the
# result alone, so it pipes into a JSON parser even with a rejected plugin;
# `jobrt help` lists every command.
. "$(dirname "$0")/lib.sh"

e2e_setup
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
e2e_require "$JOBRT_ZOO_DIR/not_elf.so" "build the jobrt_zoo target"
J=$JOBRT_BIN
T=$JOBRT_TESTKIT_DIR
NOWHERE="unix://$E2E_WORK/nobody.sock" # no Redis listens there

# usage_error WHAT EXPECTED_LINE CMD...: exit 2, nothing on stdout, and
# exactly EXPECTED_LINE on stderr.
usage_error()
{
    local what=$1 want=$2
    shift 2
    run_cmd timeout 20 "$@"
    [ "$RC" -eq 2 ] ||
        fail "$what: '$*' exited $RC, expected 2; stdout: $OUT; stderr: $ERR"
    assert_eq "" "$OUT" "stdout of $what"
    assert_eq "$want" "$ERR" "stderr of $what"
}

see() { echo "(see 'jobrt $1 --help')"; }

# ---- repeated options --------------------------------------------------------

usage_error "run -c 1 -c 2" \
    "jobrt run: -c given twice (first as -c); give it once $(see run)" \
    "$J" run -c 1 -c 2 -p "$T" -r "$REDIS_URL"
usage_error "run -q a -q a:2" \
    "jobrt run: --queue a:2: queue a is given twice $(see run)" \
    "$J" run -q a -q a:2 -p "$T" -r "$REDIS_URL"
usage_error "run --rate x=1/s --rate x=2/s" \
    "jobrt run: --rate x=2/s: job x is given twice $(see run)" \
    "$J" run --rate x=1/s --rate x=2/s -p "$T" -r "$REDIS_URL"
usage_error "run --rate x=5" \
    "jobrt run: --rate x=5: '5' is not a rate: expected N/s, N/m or N/h\
 (e.g. 100/s) $(see run)" \
    "$J" run --rate x=5 -p "$T" -r "$REDIS_URL"
usage_error "run --limit x=0" \
    "jobrt run: --limit x=0: '0' is not a concurrency limit: a whole number\
 from 1 to 1000000 $(see run)" \
    "$J" run --limit x=0 -p "$T" -r "$REDIS_URL"
usage_error "limit set q j" \
    "jobrt limit: set needs --rate, --concurrency or --burst $(see limit)" \
    "$J" limit set q j -r "$NOWHERE"
usage_error "limit clear q j --rate 1/s" \
    "jobrt limit: --rate is for set $(see limit)" \
    "$J" limit clear q j --rate 1/s -r "$NOWHERE"
usage_error "run -p A --plugin-dir B" \
    "jobrt run: --plugin-dir given twice (first as -p); give it once\
 $(see run)" \
    "$J" run -p "$T" --plugin-dir /x -r "$REDIS_URL"
usage_error "status -q a --queue=b" \
    "jobrt status: --queue given twice (first as -q); give it once\
 $(see status)" \
    "$J" status some-id -q a --queue=b -r "$REDIS_URL"
usage_error "enqueue --payload twice" \
    "jobrt enqueue: --payload given twice (first as -d); give it once\
 $(see enqueue)" \
    "$J" enqueue q ok -v 1 -d '{}' --payload '[]' -r "$REDIS_URL"
# The environment and the command line are not a repeat: the command line
# wins (here with a name the keys cannot hold, so nothing starts).
run_cmd env JOBRT_QUEUE=fine timeout 20 "$J" run -q 'bad{q}' -p "$T" \
    -r "$REDIS_URL"
assert_eq 2 "$RC" "exit code of JOBRT_QUEUE=fine run -q 'bad{q}' ($ERR)"
assert_contains "$ERR" "queue name 'bad{q}'" "the command line wins"

# ---- run: usage errors come before plugins and Redis ------------------------

names="must be 1-128 characters of [A-Za-z0-9_.:/-]"
usage_error "run --queue 'bad{q}'" \
    "jobrt run: queue name 'bad{q}' $names $(see run)" \
    "$J" run --queue 'bad{q}' -p "$T" -r "$REDIS_URL"
usage_error "run --namespace 'a b'" \
    "jobrt run: namespace 'a b' $names $(see run)" \
    "$J" run --namespace 'a b' -p "$T" -r "$REDIS_URL"
cap="no retry may wait longer than the cap"
usage_error "run --retry-base 2h --retry-cap 1s" \
    "jobrt run: --retry-base (2h) is longer than --retry-cap (1s): $cap\
 $(see run)" \
    "$J" run --retry-base 2h --retry-cap 1s -p "$T" -r "$NOWHERE"
usage_error "run --retry-base 2h (the cap is 1h by default)" \
    "jobrt run: --retry-base (2h) is longer than --retry-cap (1h): $cap\
 $(see run)" \
    "$J" run --retry-base 2h -p "$T" -r "$NOWHERE"
levels="expected error, warn, info or debug"
usage_error "run --log-level loud" \
    "jobrt run: --log-level: $levels, got 'loud' $(see run)" \
    "$J" run --log-level loud -p "$T" -r "$NOWHERE"
usage_error "JOBRT_LOG_LEVEL=loud run" \
    "jobrt run: environment JOBRT_LOG_LEVEL: $levels, got 'loud' $(see run)" \
    env JOBRT_LOG_LEVEL=loud "$J" run -p "$T" -r "$NOWHERE"
usage_error "run without --plugin-dir" \
    "jobrt run: --plugin-dir is required $(see run)" "$J" run -r "$NOWHERE"

# A flag from the environment takes exactly the values its error lists.
flag_values="expected 1, 0, true, false, yes or no"
usage_error "JOBRT_STRICT=maybe run" \
    "jobrt run: environment JOBRT_STRICT: $flag_values, got 'maybe'\
 $(see run)" \
    env JOBRT_STRICT=maybe "$J" run -p "$T"
usage_error "JOBRT_STRICT=on run" \
    "jobrt run: environment JOBRT_STRICT: $flag_values, got 'on' $(see run)" \
    env JOBRT_STRICT=on "$J" run -p "$T"
usage_error "run --strict=" \
    "jobrt run: --strict: $flag_values, got '' $(see run)" \
    "$J" run --strict= -p "$T"
for v in 1 true yes; do
    # --strict on the zoo refuses to start: the value was taken as "on".
    run_cmd env JOBRT_STRICT=$v timeout 20 "$J" run -p "$JOBRT_ZOO_DIR" \
        -r "$NOWHERE"
    assert_eq 1 "$RC" "JOBRT_STRICT=$v on the zoo ($ERR)"
    assert_contains "$ERR" "--strict is set; not starting" \
        "JOBRT_STRICT=$v on the zoo"
done
run_cmd env JOBRT_STRICT=no "$J" run
assert_eq 2 "$RC" "JOBRT_STRICT=no is accepted ($ERR)"
assert_eq "jobrt run: --plugin-dir is required $(see run)" "$ERR" \
    "JOBRT_STRICT=no is accepted"
# --help wins over a bad environment.
run_cmd env JOBRT_STRICT=maybe "$J" run --help
assert_eq 0 "$RC" "run --help with JOBRT_STRICT=maybe ($ERR)"
assert_contains "$OUT" "Usage: jobrt run" "run --help with JOBRT_STRICT=maybe"

# ---- dlq, status, enqueue ---------------------------------------------------

reasons="invalid_envelope, payload_too_large, entry_too_large,\
 too_many_fields, no_handler, schema_unsupported, retries_exhausted,\
 permanent_failure, timeout, expired, cancelled, poison, disabled"
not_reason="is not a dead-letter reason; expected one of $reasons"
usage_error "dlq list --reason bogus" \
    "jobrt dlq: --reason 'bogus' $not_reason $(see dlq)" \
    "$J" dlq list --reason bogus -r "$REDIS_URL"
usage_error "dlq purge --all --reason bogus" \
    "jobrt dlq: --reason 'bogus' $not_reason $(see dlq)" \
    "$J" dlq purge --all --reason bogus -r "$REDIS_URL"
assert_exit 0 "dlq list --reason expired" "$J" dlq list --reason expired \
    -r "$REDIS_URL"
assert_contains "$OUT" "0 dead letter(s) shown" "dlq list --reason expired"

usage_error "status 'a b'" \
    "jobrt status: 'a b' is not a job id (1-128 printable ASCII characters,\
 no spaces) $(see status)" \
    "$J" status 'a b' -r "$REDIS_URL"

usage_error "enqueue --max-attempts with stdin" \
    "jobrt enqueue: --max-attempts goes with JOB; on stdin give each line\
 its \"max_attempts\" $(see enqueue)" \
    "$J" enqueue q --max-attempts 3 -r "$REDIS_URL" </dev/null
usage_error "enqueue --dedupe-window without --key" \
    "jobrt enqueue: --dedupe-window needs --key $(see enqueue)" \
    "$J" enqueue q ok -v 1 -d '{}' --dedupe-window 1h -r "$REDIS_URL"
usage_error "enqueue --at on February 30th" \
    "jobrt enqueue: --at: expected ms since the epoch or UTC ISO-8601 like\
 2026-11-23T15:00:00Z, got '2026-02-30T10:00:00Z' $(see enqueue)" \
    "$J" enqueue q ok -v 1 -d '{}' --at 2026-02-30T10:00:00Z -r "$REDIS_URL"
usage_error "enqueue --delay 0 --at" \
    "jobrt enqueue: --at and --delay: give one of them $(see enqueue)" \
    "$J" enqueue q ok -v 1 -d '{}' --delay 0 --at 1 -r "$REDIS_URL"
assert_eq 0 "$(xlen q)" "jobs enqueued by the refused commands"

# ---- workers, rollout, reload ------------------------------------------------

usage_error "workers extra" \
    "jobrt workers: unexpected argument 'extra' $(see workers)" \
    "$J" workers extra -r "$NOWHERE"
usage_error "workers --queue 'bad{q}'" \
    "jobrt workers: queue name 'bad{q}' $names $(see workers)" \
    "$J" workers --queue 'bad{q}' -r "$NOWHERE"
usage_error "rollout without JOB" \
    "jobrt rollout: expected one JOB $(see rollout)" \
    "$J" rollout -r "$NOWHERE"
usage_error "rollout 'a job'" \
    "jobrt rollout: 'a job' is not a job name (1-128 characters of\
 [A-Za-z0-9_.:/-]) $(see rollout)" \
    "$J" rollout 'a job' -r "$NOWHERE"
usage_error "reload --timeout 50ms" \
    "jobrt reload: --timeout: expected a duration like 500ms, 30s, 5m, 2h\
 or 7d, 100ms to 1h, got '50ms' $(see reload)" \
    "$J" reload --timeout 50ms -r "$NOWHERE"
usage_error "reload --json=maybe" \
    "jobrt reload: --json: $flag_values, got 'maybe' $(see reload)" \
    "$J" reload --json=maybe -r "$NOWHERE"
usage_error "JOBRT_REQUIRE_SERVED=sure enqueue" \
    "jobrt enqueue: environment JOBRT_REQUIRE_SERVED: $flag_values, got\
 'sure' $(see enqueue)" \
    env JOBRT_REQUIRE_SERVED=sure "$J" enqueue q ok -v 1 -d '{}' \
    -r "$NOWHERE"
usage_error "plugins --plugin-dir A B" \
    "jobrt plugins: the plugin directory is given twice (--plugin-dir and\
 DIR); give it once $(see plugins)" \
    "$J" plugins --plugin-dir "$T" /somewhere/else

# ---- help --------------------------------------------------------------------

for c in run enqueue exec plugins status dlq cancel pause resume disable \
    enable limit schedule events workers rollout reload stats top version; do
    assert_exit 0 "jobrt $c --help" "$J" "$c" --help
    assert_contains "$OUT" "Usage: jobrt $c" "jobrt $c --help"
    want=$OUT
    assert_exit 0 "jobrt help $c" "$J" help "$c"
    assert_eq "$want" "$OUT" "jobrt help $c is jobrt $c --help"
done
assert_exit 0 "jobrt help" "$J" help
assert_contains "$OUT" "Commands:" "jobrt help"
# every command is in the list, and `jobrt help` lists nothing that is not
listed=$(printf '%s\n' "$OUT" | sed -n 's/^  \([a-z]*\)  .*/\1/p' | tr '\n' ' ')
assert_eq "run enqueue exec plugins status dlq cancel pause resume disable\
 enable limit schedule events workers rollout reload stats top version help " "$listed" "the commands jobrt help lists"
usage_error "help bogus" \
    "jobrt help: unknown command 'bogus' (see 'jobrt --help')" \
    "$J" help bogus
usage_error "version extra" \
    "jobrt version: unexpected argument 'extra' $(see version)" \
    "$J" version extra
assert_exit 0 "version" "$J" version
hdr() { sed -n "s/^#define $1 \"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$JOBRT_SOURCE_DIR/$2"; }
rt=$(hdr JOBRT_VERSION runtime/core/version.h)
sdk=$(hdr JOBRT_SDK_VERSION include/jobrt/plugin.h)
major=$(hdr JOBRT_ABI_MAJOR include/jobrt/plugin.h)
minor=$(hdr JOBRT_ABI_MINOR include/jobrt/plugin.h)
oldest=$(hdr JOBRT_ABI_MINOR_OLDEST runtime/core/version.h)
wire=$(hdr JOBRT_WIRE_VERSION runtime/core/version.h)
assert_eq "jobrt $rt
plugin SDK $sdk (builds plugins for ABI $major.$minor)
loads plugins built for ABI $major.$oldest to $major.$minor
wire format $wire" "$OUT" "jobrt version"
assert_eq "$major.$minor" "${sdk%.*}" "the SDK version's major.minor is the ABI"

# ---- exec: stdout is the result alone ----------------------------------------

mkdir "$E2E_WORK/mixed"
cp "$T/testkit.so" "$JOBRT_ZOO_DIR/not_elf.so" "$E2E_WORK/mixed/"
run_cmd bash -c "'$J' exec -p '$E2E_WORK/mixed' ok -v 1 -d '{}' |
    '$E2E_PY' -m json.tool --compact"
assert_eq 0 "$RC" "jobrt exec ... | python3 -m json.tool ($ERR)"
assert_eq '{"ok":true,"attempt":1}' "$OUT" "the result through json.tool"
assert_contains "$ERR" "not_elf.so: rejected" "the rejection, on stderr"

pass
