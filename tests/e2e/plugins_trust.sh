#!/usr/bin/env bash
# plugins_trust.sh - who may have written the code the worker runs, without
# Redis: a plugin file or directory (or a parent) writable by group or
# others, or owned by another user, is refused with one line naming it and
# the fix; --insecure-plugin-dir (and JOBRT_INSECURE_PLUGIN_DIR) loads it
# with a WARN line, on plugins, exec and run; a symlink is followed only
# inside the plugin directory; an explicit --run-dir must be ours alone and
# a new one is made 0700.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
J=$JOBRT_BIN
T=$JOBRT_TESTKIT_DIR
NOWHERE="unix://$E2E_WORK/nobody.sock" # nothing listens: run must not get there

P=$E2E_WORK/plugins
mkdir -m 755 "$P"
cp "$T/testkit.so" "$P/testkit.so"
chmod 755 "$P/testkit.so"
assert_exit 0 "plugins on a private copy of testkit" "$J" plugins -p "$P"

# ---- a group-writable plugin file ------------------------------------------

chmod 775 "$P/testkit.so"
assert_exit 1 "plugins with a group-writable file" "$J" plugins -p "$P"
line=$(printf '%s\n' "$OUT" | grep -F "$P/testkit.so:" || true)
assert_eq 1 "$(printf '%s\n' "$line" | grep -c .)" "lines naming testkit.so"
assert_contains "$line" "REJECTED" "the group-writable file"
assert_contains "$line" "writable by group (mode 0775)" "the reason"
assert_contains "$line" "fix with chmod g-w" "the fix"
assert_contains "$line" "--insecure-plugin-dir for development" "the way out"

assert_exit 0 "plugins --insecure-plugin-dir" "$J" plugins -p "$P" \
    --insecure-plugin-dir
assert_contains "$OUT" "plugin testkit" "loaded with --insecure-plugin-dir"
assert_contains "$ERR" "WARN" "a loud warning"
assert_contains "$ERR" "$P/testkit.so is writable by group (mode 0775)" \
    "the warning names what it would have refused"
run_cmd env JOBRT_INSECURE_PLUGIN_DIR=1 "$J" plugins -p "$P"
assert_eq 0 "$RC" "plugins with JOBRT_INSECURE_PLUGIN_DIR=1 ($ERR)"

assert_exit 3 "exec with the plugin refused" "$J" exec -p "$P" ok -v 1 -d '{}'
assert_contains "$ERR" "writable by group" "exec names the refusal"
assert_exit 0 "exec --insecure-plugin-dir" "$J" exec -p "$P" \
    --insecure-plugin-dir ok -v 1 -d '{}'
assert_eq '{"ok":true,"attempt":1}' "$OUT" "exec result"

assert_exit 1 "run --strict with the plugin refused" timeout 20 "$J" run \
    --strict -p "$P" --redis "$NOWHERE"
assert_contains "$ERR" "$P/testkit.so: rejected: not trusted" "run's line"
chmod 755 "$P/testkit.so"

# ---- the directory, and its parents -----------------------------------------

chmod 775 "$P"
assert_exit 1 "plugins on a group-writable dir" "$J" plugins -p "$P"
assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c .)" "lines of the refusal"
assert_contains "$ERR" "plugin dir $P: not trusted: $P is writable by group" \
    "the dir's refusal"
assert_exit 1 "run on a group-writable dir" timeout 20 "$J" run -p "$P" \
    --redis "$NOWHERE"
assert_contains "$ERR" "not trusted" "run refuses the dir"
chmod 755 "$P"

mkdir -p "$E2E_WORK/open/inner"
cp -p "$P/testkit.so" "$E2E_WORK/open/inner/"
chmod 777 "$E2E_WORK/open"
assert_exit 1 "plugins under a world-writable parent" "$J" plugins \
    -p "$E2E_WORK/open/inner"
assert_contains "$ERR" "$E2E_WORK/open is writable by group and others" \
    "the parent is named"
chmod 1777 "$E2E_WORK/open"
if [ "$(stat -c %u "$E2E_WORK/open")" = 0 ]; then
    assert_exit 0 "a root-owned sticky parent (like /tmp) is fine" "$J" \
        plugins -p "$E2E_WORK/open/inner"
else
    assert_exit 1 "a sticky parent not owned by root" "$J" plugins \
        -p "$E2E_WORK/open/inner"
fi
chmod 755 "$E2E_WORK/open"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    uid=$(id -u nobody)
    O=$E2E_WORK/owned
    mkdir -m 755 "$O"
    cp -p "$P/testkit.so" "$O/"
    chown nobody "$O/testkit.so"
    assert_exit 1 "a plugin owned by nobody" "$J" plugins -p "$O"
    assert_contains "$OUT" "owned by uid $uid, not by root or by this" \
        "the owner's refusal"
    chown root "$O/testkit.so"
    chown nobody "$O"
    assert_exit 1 "a plugin dir owned by nobody" "$J" plugins -p "$O"
    assert_contains "$ERR" "$O is owned by uid $uid" "the dir owner's refusal"
else
    log "skipped the owner checks: they need root to chown to nobody"
fi

# ---- symlinks ---------------------------------------------------------------

L=$E2E_WORK/links
mkdir -m 755 "$L" "$L/store"
cp -p "$P/testkit.so" "$L/store/testkit.so"
ln -s store/testkit.so "$L/inside.so"
ln -s "$T/testkit.so" "$L/outside.so"
assert_exit 1 "plugins with a symlink leaving the dir" "$J" plugins -p "$L"
assert_contains "$(printf '%s\n' "$OUT" | grep -F /inside.so:)" "ok" \
    "a symlink inside the dir loads"
line=$(printf '%s\n' "$OUT" | grep -F /outside.so:)
assert_contains "$line" "REJECTED" "a symlink leaving the dir"
assert_contains "$line" "symlink to $T/testkit.so, which is outside the" \
    "its reason"
assert_contains "$OUT" "1 loaded, 1 rejected" "the summary"

# ---- the run directory -------------------------------------------------------

R=$E2E_WORK/run
mkdir -m 770 "$R"
assert_exit 1 "run with a group-writable --run-dir" timeout 20 "$J" run \
    -p "$T" --run-dir "$R" --redis "$NOWHERE"
assert_contains "$ERR" \
    "run dir $R: refused: writable by group or others (mode 0770)" \
    "the run dir's refusal"
chmod 700 "$R"
ln -s "$R" "$E2E_WORK/run-link"
assert_exit 1 "run with a symlink as --run-dir" timeout 20 "$J" run \
    -p "$T" --run-dir "$E2E_WORK/run-link" --redis "$NOWHERE"
assert_contains "$ERR" "run dir $E2E_WORK/run-link: refused: it is a symlink" \
    "the symlink's refusal"
# a --run-dir that does not exist yet is made 0700 (and kept)
assert_exit 1 "run --strict on the zoo with a new --run-dir" timeout 20 "$J" \
    run --strict -p "$JOBRT_ZOO_DIR" --run-dir "$E2E_WORK/new-run" \
    --redis "$NOWHERE"
assert_eq 700 "$(stat -c %a "$E2E_WORK/new-run")" "mode of a new run dir"

pass
