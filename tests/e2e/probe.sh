#!/usr/bin/env bash
# probe.sh - the plugin probe: a plugin dir holding good plugins (testkit
# and the zoo's probe/good.so) beside four bad ones (a constructor that
# segfaults, one that calls exit(3), an init() that hangs, one that
# aborts): `jobrt plugins --probe-timeout 1s DIR` lists the good ones and
# rejects each bad one with one line saying what happened (the signal,
# the exit status, the time limit), within the limit and leaving no probe
# process behind, and nothing a plugin prints reaches stdout; `jobrt exec`
# of a job on a good plugin works beside the bad ones; init() runs in the
# probe and for real (twice), once with --probe-timeout 0; a bad value is
# a usage error; the hidden __probe command is not in `jobrt --help`.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
e2e_require "$JOBRT_ZOO_DIR/probe/init_hang.so" "build the jobrt_zoo target"
J=$JOBRT_BIN
Z=$JOBRT_ZOO_DIR/probe
P=$E2E_WORK/plugins
mkdir -m 755 "$P"
install -m 644 "$JOBRT_TESTKIT_DIR/testkit.so" "$Z/good.so" "$Z/ctor_segv.so" \
    "$Z/ctor_exit.so" "$Z/init_hang.so" "$Z/init_abort.so" "$P/"
export TMPDIR=$E2E_TMP # the private copies (and so the probe's argv) in here
TRACE=$E2E_WORK/trace
mkdir "$TRACE"

# probes_running: a `jobrt __probe` of this test is still there.
probes_running()
{
    local f args
    for f in /proc/[0-9]*/cmdline; do
        mapfile -d '' args <"$f" 2>/dev/null || continue
        [ "${args[1]:-}" = __probe ] || continue
        case "${args[*]}" in *"$E2E_WORK"*) return 0 ;; esac
    done
    return 1
}

# inits: how many processes ran good.so's init() (trace files).
inits() { find "$TRACE" -name 'probe_good.init.*' | wc -l; }

# ---- jobrt plugins ---------------------------------------------------------

t0=$(now_ms)
assert_exit 1 "plugins with the bad ones" env JOBRT_ZOO_TRACE_DIR="$TRACE" \
    "$J" plugins --probe-timeout 1s "$P"
elapsed=$(($(now_ms) - t0))
log "jobrt plugins took ${elapsed} ms: $OUT"
assert_ge 1000 "$elapsed" "time for the hanging init() to be given up on (ms)"
[ "$elapsed" -lt 12000 ] || fail "jobrt plugins took ${elapsed} ms (limit 1s)"
probes_running && fail "a probe process outlived jobrt plugins"

# one line per file on stdout and the summary, nothing else
assert_eq 7 "$(printf '%s\n' "$OUT" | grep -c .)" "stdout lines ($OUT)"
line_of() { printf '%s\n' "$OUT" | grep -F "$P/$1:" || true; }
for b in testkit.so good.so; do
    l=$(line_of $b)
    assert_eq 1 "$(printf '%s\n' "$l" | grep -c .)" "lines naming $b"
    case "$l" in ok*) ;; *) fail "$b must load: $l" ;; esac
done
assert_contains "$(line_of good.so)" "zoo_probe_good v1" "good.so's line"
for b in ctor_segv.so ctor_exit.so init_hang.so init_abort.so; do
    l=$(line_of $b)
    assert_eq 1 "$(printf '%s\n' "$l" | grep -c .)" "lines naming $b"
    case "$l" in REJECTED*) ;; *) fail "$b must be REJECTED: $l" ;; esac
    assert_contains "$l" "rejected by the probe" "$b's reason"
    assert_not_contains "$l" "jobrt-run-" "$b's reason names the private copy"
done
# under AddressSanitizer a crash is the sanitizer's exit status instead
case "$(line_of ctor_segv.so)" in
    *"its ELF constructors (run by dlopen()) crashed with SIGSEGV (Segmentation fault)"*) ;;
    *"exited with status"*"during dlopen()"*) ;;
    *) fail "ctor_segv.so's reason: $(line_of ctor_segv.so)" ;;
esac
assert_contains "$(line_of ctor_exit.so)" \
    "exited with status 3 during dlopen(), before init() (a constructor called exit()?" \
    "ctor_exit.so's reason"
assert_contains "$(line_of init_hang.so)" \
    "init() did not return within 1s (probe process killed)" \
    "init_hang.so's reason"
case "$(line_of init_abort.so)" in
    *"init() crashed with SIGABRT (Aborted)"*) ;;
    *"exited with status"*"before init() returned"*) ;;
    *) fail "init_abort.so's reason: $(line_of init_abort.so)" ;;
esac
assert_contains "$OUT" "2 loaded, 4 rejected" "the summary"
# good.so's init(): in its probe and in jobrt plugins itself
assert_eq 2 "$(inits)" "processes that ran good.so's init()"

# the same from the environment
assert_exit 1 "plugins with JOBRT_PROBE_TIMEOUT=1s" env JOBRT_PROBE_TIMEOUT=1s \
    "$J" plugins "$P"
assert_contains "$OUT" "init() did not return within 1s" \
    "JOBRT_PROBE_TIMEOUT=1s"

# ---- jobrt exec beside the bad plugins --------------------------------------

assert_exit 0 "exec ok beside the bad plugins" "$J" exec --probe-timeout 1s \
    -p "$P" ok -v 1 --payload '{}'
assert_eq '{"ok":true,"attempt":1}' "$OUT" "exec ok result"
for b in ctor_segv.so ctor_exit.so init_hang.so init_abort.so; do
    n=$(printf '%s\n' "$ERR" | grep -cF "$P/$b: rejected: rejected by the probe" ||
        true)
    assert_eq 1 "$n" "exec's stderr lines rejecting $b ($ERR)"
done
assert_contains "$ERR" "ok: ok v1 handled by plugin testkit" "exec outcome"
assert_exit 0 "exec on good.so" "$J" exec --probe-timeout 1s -p "$P" \
    zoo_probe_good -v 1 --payload '{}'
assert_eq '{"ok":true}' "$OUT" "good.so's result"
probes_running && fail "a probe process outlived jobrt exec"

# ---- --probe-timeout 0: no probe, init() once --------------------------------

G=$E2E_WORK/good_only
mkdir -m 755 "$G"
install -m 644 "$JOBRT_TESTKIT_DIR/testkit.so" "$Z/good.so" "$G/"
rm -f "$TRACE"/*
assert_exit 0 "plugins --probe-timeout 0" env JOBRT_ZOO_TRACE_DIR="$TRACE" \
    "$J" plugins --probe-timeout 0 "$G"
assert_eq 1 "$(inits)" "processes that ran good.so's init() without probe"
rm -f "$TRACE"/*
assert_exit 0 "exec with the default probe" env JOBRT_ZOO_TRACE_DIR="$TRACE" \
    "$J" exec -p "$G" zoo_probe_good -v 1 --payload '{}'
assert_eq 2 "$(inits)" "processes that ran good.so's init() (default probe)"

# ---- usage and help ---------------------------------------------------------

assert_exit 2 "plugins --probe-timeout abc" "$J" plugins --probe-timeout abc "$G"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c .)" "lines of the error ($ERR)"
assert_contains "$ERR" "--probe-timeout" "the --probe-timeout error"
assert_exit 2 "exec JOBRT_PROBE_TIMEOUT=x" env JOBRT_PROBE_TIMEOUT=x "$J" exec \
    -p "$G" ok -v 1 --payload '{}'
assert_contains "$ERR" "JOBRT_PROBE_TIMEOUT" "the JOBRT_PROBE_TIMEOUT error"
for c in plugins exec; do
    assert_exit 0 "$c --help" "$J" $c --help
    assert_contains "$OUT" "--probe-timeout DUR" "$c --help"
    assert_contains "$OUT" "init() and fini() therefore run twice" "$c --help"
    assert_contains "$OUT" "JOBRT_PROBE_TIMEOUT" "$c --help"
done
assert_exit 0 "jobrt --help" "$J" --help
assert_not_contains "$OUT" "__probe" "jobrt --help lists the hidden command"

pass
