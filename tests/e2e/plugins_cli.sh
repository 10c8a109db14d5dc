#!/usr/bin/env bash
# plugins_cli.sh - the commands that need no Redis: `jobrt plugins` on the
# zoo of broken plugins (truncated and corrupt files included: one
# REJECTED line each, never a signal; no code of a plugin refused before
# dlopen runs) and on testkit (with the SHA-256 of the file), `jobrt exec`
# exit codes, `run --strict` refusing a bad plugin dir before touching
# Redis, and usage errors (exit 2, one clear line).
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
e2e_require "$JOBRT_ZOO_DIR/dup_a.so" "build the jobrt_zoo target"
J=$JOBRT_BIN
T=$JOBRT_TESTKIT_DIR
Z=$JOBRT_ZOO_DIR

# ---- jobrt plugins on the zoo ---------------------------------------------

# The expected reason keyword of each zoo file, from tests/zoo/README.md's
# table (`file.so` | what | `keyword` or (loads)).
declare -A keyword=()
readme="$JOBRT_SOURCE_DIR/tests/zoo/README.md"
[ -f "$readme" ] || fail "no $readme"
while IFS='|' read -r _ file _ kw _; do
    file=$(echo "$file" | tr -d ' `')
    kw=$(echo "$kw" | sed -e 's/^ *//' -e 's/ *$//' -e 's/^`//' -e 's/`$//')
    case "$file" in *.so) keyword[$file]=$kw ;; esac
done <"$readme"
assert_ge 14 "${#keyword[@]}" "zoo files described in $readme"

# Every built zoo file is described, and every described file is built.
built=()
for f in "$Z"/*.so; do
    [ -e "$f" ] || fail "no zoo plugins in $Z (build target jobrt_zoo)"
    b=$(basename "$f")
    built+=("$b")
    [ -n "${keyword[$b]+x}" ] || fail "zoo file $b is not in $readme"
done
for b in "${!keyword[@]}"; do
    [ -e "$Z/$b" ] || fail "$readme describes $b but $Z has none"
done

mkdir "$E2E_WORK/trace"
assert_exit 1 "plugins on the zoo" env JOBRT_ZOO_TRACE_DIR="$E2E_WORK/trace" \
    "$J" plugins --plugin-dir "$Z"
zoo_out=$OUT
# The control: dup_a.so's constructor ran at dlopen. ctor_bad_magic.so's
# magic is refused from the file, so its constructor never ran.
[ -e "$E2E_WORK/trace/dup_a" ] || fail "dup_a.so's constructor left no trace"
[ ! -e "$E2E_WORK/trace/ctor_bad_magic" ] ||
    fail "ctor_bad_magic.so's constructor ran though its magic is refused"
[ ! -e "$E2E_WORK/trace/init_fails.fini" ] ||
    fail "init_fails.so's fini() ran after its init() failed"
n_rejected=0
for b in "${built[@]}"; do
    lines=$(printf '%s\n' "$zoo_out" | grep -F "/$b:" || true)
    n=$(printf '%s' "$lines" | grep -c . || true)
    assert_eq 1 "$n" "lines of 'jobrt plugins' naming $b"
    if [ "$b" = dup_a.so ]; then
        case "$lines" in
            ok*) ;;
            *) fail "dup_a.so must load: $lines" ;;
        esac
        assert_contains "$lines" "dup_job v1" "dup_a.so's ok line"
        continue
    fi
    case "$lines" in
        REJECTED*) ;;
        *) fail "$b must be REJECTED, got: $lines" ;;
    esac
    assert_contains "$lines" "${keyword[$b]}" "reason for rejecting $b"
    n_rejected=$((n_rejected + 1))
done
total=$(printf '%s\n' "$zoo_out" | grep -c '^REJECTED' || true)
assert_eq "$n_rejected" "$total" "REJECTED lines in total"
assert_contains "$zoo_out" "1 loaded, $n_rejected rejected" "zoo summary"
# dup_b names the plugin that already serves the job.
assert_contains "$(printf '%s\n' "$zoo_out" | grep -F /dup_b.so:)" "dup-a" \
    "dup_b.so's conflict"

# ---- jobrt plugins on testkit ----------------------------------------------

assert_exit 0 "plugins on testkit" "$J" plugins --plugin-dir "$T"
assert_contains "$OUT" "testkit.so" "testkit listing"
assert_contains "$OUT" "plugin testkit 1.0.0" "testkit listing"
for h in "ok v1" "retry v1" "fail v1" "flaky v1" "sleep v1" "versioned v1" \
         "versioned v2..3" "record v1"; do
    assert_contains "$OUT" "$h" "testkit handlers"
done
assert_contains "$OUT" "1 loaded, 0 rejected" "testkit summary"
sha=$(sha256sum "$T/testkit.so" | cut -c1-12)
assert_contains "$OUT" "sha256 $sha)" "testkit listing names its SHA-256"
assert_exit 1 "plugins on a missing dir" "$J" plugins -p "$E2E_WORK/none"

# ---- jobrt exec -----------------------------------------------------------

assert_exit 0 "exec ok" "$J" exec --plugin-dir "$T" ok -v 1 --payload '{}'
assert_eq '{"ok":true,"attempt":1}' "$OUT" "exec ok result"
assert_exit 0 "exec ok attempt 3" "$J" exec -p "$T" ok -v 1 -d '{}' --attempt 3
assert_eq '{"ok":true,"attempt":3}' "$OUT" "exec ok --attempt 3 result"
assert_exit 0 "exec versioned v2" "$J" exec -p "$T" versioned -v 2 -d '{}'
assert_eq '{"v":"2-3"}' "$OUT" "versioned v2 result"
assert_exit 0 "exec versioned v1" "$J" exec -p "$T" versioned -v 1 -d '{}'
assert_eq '{"v":1}' "$OUT" "versioned v1 result"
assert_exit 75 "exec retry" "$J" exec -p "$T" retry -v 1 -d '{}'
assert_contains "$ERR" "transient 1" "exec retry outcome"
assert_exit 1 "exec fail" "$J" exec -p "$T" fail -v 1 -d '{}'
assert_contains "$ERR" "permanent" "exec fail outcome"
assert_exit 3 "exec unknown job" "$J" exec -p "$T" no_such_job -v 1 -d '{}'
assert_contains "$ERR" "no_handler" "exec unknown job outcome"
assert_exit 3 "exec versioned v9" "$J" exec -p "$T" versioned -v 9 -d '{}'
assert_contains "$ERR" "schema_unsupported" "exec versioned v9 outcome"
assert_exit 1 "exec invalid payload" "$J" exec -p "$T" ok -v 1 -d '{'
assert_contains "$ERR" "invalid_envelope" "exec invalid payload outcome"
assert_exit 2 "exec without payload" "$J" exec -p "$T" ok -v 1

# ---- run --strict refuses a bad plugin dir, without Redis -----------------

t0=$(now_ms)
# Nothing listens on this socket: starting must fail on the plugins alone.
assert_exit 1 "run --strict on the zoo" timeout 20 "$J" run --strict \
    --plugin-dir "$Z" --redis "unix://$E2E_WORK/nobody.sock" --queue q
elapsed=$(($(now_ms) - t0))
[ "$elapsed" -lt 5000 ] || fail "run --strict took ${elapsed} ms to refuse"
assert_contains "$ERR" "--strict" "run --strict's reason"
assert_contains "$ERR" "not_elf.so" "run --strict names a rejected file"

# ---- usage errors ---------------------------------------------------------

assert_exit 2 "run --concurrency abc" "$J" run --concurrency abc
assert_eq "" "$OUT" "stdout of a usage error"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c .)" \
    "lines of the --concurrency error ($ERR)"
assert_contains "$ERR" "--concurrency" "the --concurrency error"
assert_contains "$ERR" "abc" "the --concurrency error"

assert_exit 2 "run --concurrency 0" "$J" run -p "$T" --concurrency 0
assert_contains "$ERR" "--concurrency" "the --concurrency 0 error"
assert_exit 2 "run --shutdown-timeout 5x" "$J" run -p "$T" \
    --shutdown-timeout 5x
assert_contains "$ERR" "--shutdown-timeout" "the --shutdown-timeout error"
assert_exit 2 "run without --plugin-dir" "$J" run
assert_contains "$ERR" "--plugin-dir" "the missing --plugin-dir error"

assert_exit 2 "unknown command" "$J" bogus
assert_contains "$ERR" "bogus" "the unknown command error"
assert_exit 2 "unknown option" "$J" run --no-such-option
assert_contains "$ERR" "--no-such-option" "the unknown option error"

run_cmd env JOBRT_CONCURRENCY=abc "$J" run -p "$T"
assert_eq 2 "$RC" "exit code with JOBRT_CONCURRENCY=abc ($ERR)"
assert_contains "$ERR" "JOBRT_CONCURRENCY" "the JOBRT_CONCURRENCY error"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c .)" \
    "lines of the JOBRT_CONCURRENCY error ($ERR)"

assert_exit 2 "enqueue without a queue" "$J" enqueue
assert_exit 2 "enqueue without -v" "$J" enqueue q ok --payload '{}'
assert_exit 2 "status without an id" "$J" status

# ---- --help of every command ------------------------------------------------

assert_exit 0 "jobrt --help" "$J" --help
for c in run enqueue exec plugins status; do
    assert_contains "$OUT" "$c" "jobrt --help lists $c"
done
for c in run enqueue exec plugins status; do
    assert_exit 0 "jobrt $c --help" "$J" "$c" --help
    assert_contains "$OUT" "Usage: jobrt $c" "jobrt $c --help"
done
assert_exit 0 "jobrt version --help" "$J" version --help
assert_exit 0 "jobrt version" "$J" version
assert_contains "$OUT" "ABI" "jobrt version"

# ---- a worker with no plugin does not start --------------------------------
# (a wrong --plugin-dir would otherwise drain the queue into the DLQ as
# no_handler); no Redis is needed to find that out.
mkdir -m 755 "$E2E_WORK/no_plugins"
assert_exit 1 "run with an empty plugin dir" "$J" run \
    -p "$E2E_WORK/no_plugins" -r "unix://$E2E_WORK/nobody.sock"
assert_contains "$ERR$OUT" "no plugin loaded from $E2E_WORK/no_plugins: not starting" \
    "run with an empty plugin dir"
mkdir -m 755 "$E2E_WORK/only_bad"
cp "$JOBRT_ZOO_DIR/not_elf.so" "$E2E_WORK/only_bad/"
chmod 644 "$E2E_WORK/only_bad/not_elf.so"
assert_exit 1 "run with only rejected files" "$J" run \
    -p "$E2E_WORK/only_bad" -r "unix://$E2E_WORK/nobody.sock"
assert_contains "$ERR$OUT" "(every file was rejected)" \
    "run with only rejected files"

pass
