#!/usr/bin/env bash
# run_dir_sweep.sh - a loader that died leaves its jobrt-run-* directory in
# $TMPDIR; the next start removes it, and only it: a live loader's (it
# holds a lock on its directory), a young one, another user's, a symlink
# and a plain file of that name are kept. The command's own directory is
# gone when it exits.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
J=$JOBRT_BIN
TD=$E2E_WORK/tmpdir
mkdir -m 700 "$TD"

# run_dir NAME AGE: a run dir with a left-over copy, last touched AGE ago.
run_dir()
{
    mkdir -m 700 "$TD/$1"
    : >"$TD/$1/0123abcd-left.so"
    touch -d "$2" "$TD/$1"
}

run_dir jobrt-run-dead01 '2 minutes ago'
run_dir jobrt-run-dead02 '1 hour ago'
run_dir jobrt-run-live01 '2 minutes ago'
run_dir jobrt-run-young1 'now'
mkdir -m 700 "$E2E_WORK/elsewhere"
: >"$E2E_WORK/elsewhere/keep.so"
ln -s "$E2E_WORK/elsewhere" "$TD/jobrt-run-link01"
: >"$TD/jobrt-run-file01"
foreign=0
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    run_dir jobrt-run-other1 '2 minutes ago'
    chown nobody "$TD/jobrt-run-other1"
    touch -d '2 minutes ago' "$TD/jobrt-run-other1"
    foreign=1
fi

# This shell holds the lock on jobrt-run-live01, as a live loader would
# (util-linux flock on a descriptor of the open directory).
exec {lock_fd}<"$TD/jobrt-run-live01"
flock -x "$lock_fd"

run_cmd env TMPDIR="$TD" "$J" plugins -p "$JOBRT_TESTKIT_DIR" {lock_fd}<&-
assert_eq 0 "$RC" "plugins ($ERR)"
[ ! -e "$TD/jobrt-run-dead01" ] || fail "a dead loader's run dir was kept"
[ ! -e "$TD/jobrt-run-dead02" ] || fail "a dead loader's run dir was kept"
[ -e "$TD/jobrt-run-live01/0123abcd-left.so" ] ||
    fail "a live loader's run dir was touched"
[ -e "$TD/jobrt-run-young1" ] || fail "a run dir just made was removed"
[ -L "$TD/jobrt-run-link01" ] || fail "a symlink was removed"
[ -e "$E2E_WORK/elsewhere/keep.so" ] || fail "a symlink was followed"
[ -f "$TD/jobrt-run-file01" ] || fail "a plain file was removed"
if [ "$foreign" = 1 ]; then
    [ -e "$TD/jobrt-run-other1/0123abcd-left.so" ] ||
        fail "another user's run dir was touched"
fi
left=$(cd "$TD" && ls -d jobrt-run-* | sort | tr '\n' ' ')
want="jobrt-run-file01 jobrt-run-link01 jobrt-run-live01 "
[ "$foreign" = 1 ] && want="${want}jobrt-run-other1 "
want="${want}jobrt-run-young1 "
assert_eq "$want" "$left" "what is left in \$TMPDIR (the command's own is gone)"

# Once its loader is gone, the live one is stale too.
exec {lock_fd}<&-
run_cmd env TMPDIR="$TD" "$J" plugins -p "$JOBRT_TESTKIT_DIR"
assert_eq 0 "$RC" "plugins ($ERR)"
[ ! -e "$TD/jobrt-run-live01" ] ||
    fail "the run dir of a loader that is gone was kept"

pass
