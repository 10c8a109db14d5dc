#!/usr/bin/env bash
# poison.sh - a job that crashes every worker that runs it ends in the
# dead-letter stream as `poison` after --max-deliveries deliveries, while
# other jobs keep flowing. Workers are restarted when they die, as a
# supervisor (systemd, Kubernetes) would. One slot per worker: without
# jobrt's own supervisor (--workers 0) a job that happens to run beside
# the crasher dies with it and is charged too (docs/isolation.md), and on
# a loaded machine one good job can be that unlucky three times.
. "$(dirname "$0")/lib.sh"
e2e_setup

Q=poison
REC="$E2E_WORK/record"
export JOBRT_TESTKIT_RECORD="$REC"
: >"$REC"
args=(--plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q "$Q" -c 1
    --lease 1s --max-deliveries 3)

restarts=0
supervise() { # restart each dead worker; count restarts
    local name
    for name in a b; do
        if ! worker_alive "$name"; then
            wait "$(worker_pid "$name")" 2>/dev/null || true
            restarts=$((restarts + 1))
            start_worker "$name" "${args[@]}"
        fi
    done
}
start_worker a "${args[@]}"
start_worker b "${args[@]}"

"$JOBRT_BIN" enqueue "$Q" crash -v 1 --payload '{}' --id bad-1 -r "$REDIS_URL" \
    >/dev/null
for i in $(seq 1 50); do
    "$JOBRT_BIN" enqueue "$Q" record -v 1 --payload '{}' --id good-$i \
        -r "$REDIS_URL" >/dev/null
done

deadline=$(($(now_ms) + 60000))
until [ "$(dlq_len "$Q")" -ge 1 ] && [ "$(sort -u "$REC" | wc -l)" -ge 50 ]; do
    [ "$(now_ms)" -lt "$deadline" ] ||
        fail "no poison dead letter after 60 s (restarts: $restarts)"
    supervise
    sleep 0.05
done
entry=$(find_entry "$(dlq_key "$Q")" id bad-1) ||
    fail "the crashing job is not in the dead-letter stream"
assert_eq poison "$(entry_field "$entry" dlq_reason)" "dead-letter reason"
assert_contains "$(entry_field "$entry" dlq_error)" "delivered 3 times" \
    "dead-letter error"
log "poison after $restarts worker restart(s)"
[ "$restarts" -le 3 ] || fail "the crashing job killed $restarts workers; the limit is 3 deliveries"
wait_for "good jobs all acked" 20 stream_empty "$Q"
assert_eq 50 "$(sort -u "$REC" | wc -l)" "other jobs kept flowing"
pass
