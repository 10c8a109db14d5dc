#!/usr/bin/env bash
# systemd_unit.sh - the example unit (examples/systemd/jobrt@.service)
# passes `systemd-analyze verify` with this build's binary in ExecStart,
# and says what docs/operations.md says it does: Type=notify with a
# watchdog, SIGTERM to stop, a reload that sends SIGHUP.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
UNIT="$JOBRT_SOURCE_DIR/examples/systemd/jobrt@.service"
e2e_require "$UNIT" "the example unit file"
if ! command -v systemd-analyze >/dev/null; then
    log "SKIP: systemd-analyze is not installed (Debian package systemd)"
    exit 77
fi
for want in '^Type=notify$' '^WatchdogSec=' '^KillSignal=SIGTERM$' \
    '^ExecReload=/bin/kill -HUP \$MAINPID$' '^NotifyAccess=main$'; do
    grep -qE "$want" "$UNIT" || fail "the unit has no line matching $want"
done
sed "s|/usr/local/bin/jobrt|$JOBRT_BIN|" "$UNIT" >"$E2E_WORK/jobrt@.service"
run_cmd systemd-analyze verify "$E2E_WORK/jobrt@emails.service"
assert_eq 0 "$RC" "systemd-analyze verify exit code ($ERR)"
assert_eq "" "$ERR$OUT" "systemd-analyze verify output"
pass
