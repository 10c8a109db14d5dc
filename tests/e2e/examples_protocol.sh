#!/usr/bin/env bash
# examples_protocol.sh - the documented paths, run as documented: the
# enqueue snippets of docs/protocol.md (redis-cli, Python, jobrt enqueue,
# the Python and Node producer clients) and examples/invoice-email's producers
# against a worker on the 2.0.0
# plugin (schema 1 handled by "handler v1", schema 2 by "handler v2"); then
# a worker still on 1.0.0 with --park-ttl 0 dead-letters schema-2 jobs as
# schema_unsupported (by default they would park),
# payload intact - step 3 of the rollout in examples/invoice-email/README.md.
. "$(dirname "$0")/lib.sh"

# produce.sh passes REDIS_URL to `redis-cli -u`, which takes only
# redis:// URLs: this test's Redis listens on TCP.
e2e_setup --tcp
Q=emails   # the queue the docs and the producers use
S=$(stream_key $Q)
D=$(dlq_key $Q)
EX="$JOBRT_SOURCE_DIR/examples/invoice-email"
V1="$JOBRT_EXAMPLES_DIR/invoice-email/v1"
V2="$JOBRT_EXAMPLES_DIR/invoice-email/v2"
for d in "$V1" "$V2"; do
    [ -e "$d/invoice_email.so" ] || fail "no $d/invoice_email.so (build the examples)"
done
export QUEUE=$Q
unset NAMESPACE  # the producers' default, jobrt, is what the worker uses

has_pyredis=0
if /usr/bin/python3 -c 'import redis' 2>/dev/null; then
    has_pyredis=1
else
    log "no python3-redis: skipping docs/protocol.md's Python snippet and produce.py"
fi

# n_records: how many jobs have an outcome record in the queue.
n_records() { record_count "$Q"; }

# check_handled ID PLUGIN_VERSION: ID succeeded, by handler v<its v> of
# invoice-email PLUGIN_VERSION.
check_handled()
{
    local id=$1 pv=$2 rec v
    rec=$(job_status $Q "$id") || fail "no record of $id"
    assert_eq succeeded "$(json_get "$rec" status)" "status of $id ($rec)"
    v=$(json_get "$rec" v)
    assert_eq "invoice-email $pv handler v$v" \
        "$(json_get "$rec" result handled_by)" "handled_by of $id (v$v)"
    assert_eq "$pv" "$(json_get "$rec" plugin_version)" "plugin_version of $id"
}

start_worker w1 --park-ttl 0 --plugin-dir "$V2" --redis "$REDIS_URL" --queue $Q
wait_for "worker to create its consumer group" 10 group_exists $Q
expected=0

# ---- docs/protocol.md's snippets, verbatim ----------------------------------
# `redis-cli` and `jobrt` as the snippets call them, aimed at this Redis.
mkdir -p "$E2E_WORK/bin"
cat >"$E2E_WORK/bin/redis-cli" <<EOF
#!/bin/sh
exec $(command -v redis-cli) -h 127.0.0.1 -p $REDIS_PORT "\$@"
EOF
cat >"$E2E_WORK/bin/jobrt" <<EOF
#!/bin/sh
JOBRT_REDIS='$REDIS_URL' exec '$JOBRT_BIN' "\$@"
EOF
chmod +x "$E2E_WORK/bin/redis-cli" "$E2E_WORK/bin/jobrt"

# extract_blocks LANG PREFIX: each ```LANG block of protocol.md into
# PREFIX-N; prints how many.
extract_blocks()
{
    awk -v lang="$1" -v prefix="$2" '
        /^```/ { if (inb) { inb = 0; next }
                 if ($0 == "```" lang) { inb = 1; n++; next } }
        inb { print > (prefix "-" n) }
        END { print n + 0 }' "$JOBRT_SOURCE_DIR/docs/protocol.md"
}
n_sh=$(extract_blocks sh "$E2E_WORK/doc-sh")
n_py=$(extract_blocks python "$E2E_WORK/doc-py")
assert_ge 1 "$n_sh" "sh snippets in docs/protocol.md"
assert_ge 1 "$n_py" "python snippets in docs/protocol.md"
for i in $(seq 1 "$n_sh"); do
    PATH="$E2E_WORK/bin:$PATH" bash -eu "$E2E_WORK/doc-sh-$i" \
        >"$E2E_WORK/doc-sh-$i.out" 2>&1 ||
        fail "docs/protocol.md sh snippet $i failed: $(cat "$E2E_WORK/doc-sh-$i" "$E2E_WORK/doc-sh-$i.out")"
done
if [ "$has_pyredis" = 1 ]; then
    for i in $(seq 1 "$n_py"); do
        sed "s|redis://127.0.0.1:6379|$REDIS_URL|g" "$E2E_WORK/doc-py-$i" \
            >"$E2E_WORK/doc-py-$i.py"
        # the producer client's snippet imports it from the source tree
        PYTHONPATH="$JOBRT_SOURCE_DIR/clients/python" \
            PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$E2E_WORK/doc-py-$i.py" ||
            fail "docs/protocol.md python snippet $i failed"
    done
    # the client's: INV-10 (delayed, keyed; waited for), inv-11, inv-12
    expected=$((expected + 3))
fi
# The Node client's snippet, with `jobrt-client` resolved to clients/node
# (its ioredis from clients/node/node_modules, which scripts/test installs).
n_js=$(extract_blocks js "$E2E_WORK/doc-js")
assert_ge 1 "$n_js" "js snippets in docs/protocol.md"
command -v node >/dev/null || fail "node is not installed (apt-get install nodejs npm)"
[ -d "$JOBRT_SOURCE_DIR/clients/node/node_modules/ioredis" ] ||
    fail "clients/node/node_modules is missing: npm ci --prefix clients/node"
mkdir -p "$E2E_WORK/js/node_modules"
ln -s "$JOBRT_SOURCE_DIR/clients/node" "$E2E_WORK/js/node_modules/jobrt-client"
for i in $(seq 1 "$n_js"); do
    sed "s|redis://127.0.0.1:6379|$REDIS_URL|g" "$E2E_WORK/doc-js-$i" \
        >"$E2E_WORK/js/doc-js-$i.js"
    (cd "$E2E_WORK/js" && node "doc-js-$i.js") ||
        fail "docs/protocol.md js snippet $i failed"
done
# the Node client's: INV-20 (delayed, keyed; waited for), inv-21, inv-22
expected=$((expected + 3))
# inv-7 (schema 2, redis-cli), inv-1 (schema 1: Python and jobrt enqueue,
# one record), and the NDJSON job whose id is its stream id.
expected=$((expected + 3))
wait_for "the docs' jobs to be recorded" 15 \
    eval '[ "$(n_records)" -ge '"$expected"' ]'
check_handled inv-7 2.0.0
check_handled inv-1 2.0.0
log "docs/protocol.md's snippets ran"

# ---- produce.sh -------------------------------------------------------------
assert_exit 0 "produce.sh --help" "$EX/produce.sh" --help
assert_contains "$OUT" "REDIS_URL" "produce.sh --help"
assert_exit 2 "produce.sh with a bad argument" "$EX/produce.sh" --bogus
run_cmd "$EX/produce.sh"
assert_eq 0 "$RC" "produce.sh's exit code ($ERR)"
mapfile -t sh_ids <<<"$OUT"
assert_eq 5 "${#sh_ids[@]}" "stream ids printed by produce.sh"
# Its 3rd job carries the id invoice-email-INV-3; the others are known by
# their stream ids. Jobs 1-3 are schema 1, 4-5 schema 2.
sh_jobs=("${sh_ids[0]}" "${sh_ids[1]}" invoice-email-INV-3 "${sh_ids[3]}"
    "${sh_ids[4]}")
expected=$((expected + 5))

# ---- produce.py ---------------------------------------------------------------
py_ids=()
if [ "$has_pyredis" = 1 ]; then
    assert_exit 0 "produce.py --help" "$EX/produce.py" --help
    run_cmd "$EX/produce.py" --count 3
    assert_eq 0 "$RC" "produce.py's exit code ($ERR)"
    mapfile -t py_ids <<<"$OUT"
    assert_eq 6 "${#py_ids[@]}" "stream ids printed by produce.py --count 3"
    expected=$((expected + 6))
fi

wait_for "$expected outcome records" 20 \
    eval '[ "$(n_records)" -ge '"$expected"' ]'
wait_for "stream $S to drain with nothing pending" 10 stream_empty $Q
assert_eq "$expected" "$(n_records)" "outcome records"
assert_eq 0 "$(dlq_len $Q)" "dead letters with the 2.0.0 plugin"
# Every job, of either schema, by the matching handler of 2.0.0.
for id in $(record_ids "$Q"); do
    check_handled "$id" 2.0.0
done
for i in 0 1 2; do
    assert_eq 1 "$(json_get "$(job_status $Q "${sh_jobs[$i]}")" v)" \
        "schema of produce.sh job $((i + 1))"
done
for i in 3 4; do
    assert_eq 2 "$(json_get "$(job_status $Q "${sh_jobs[$i]}")" v)" \
        "schema of produce.sh job $((i + 1))"
done
rec=$(job_status $Q "${sh_jobs[3]}")
assert_eq '9.90 EUR' "$(json_get "$rec" result amount)" "amount of INV-4"
assert_eq INV-4 "$(json_get "$rec" result invoice_id)" "invoice of INV-4"
for i in "${!py_ids[@]}"; do
    assert_eq $((i % 2 + 1)) "$(json_get "$(job_status $Q "${py_ids[$i]}")" v)" \
        "schema of produce.py job $((i + 1))"
done
grep -q "sent invoice INV-1 to a@b.c" "$(worker_log w1)" ||
    fail "the handler's log line for INV-1 is not in the worker log"

stop_worker w1 15
assert_eq 0 "$WORKER_RC" "w1's exit code"

# ---- a worker still on 1.0.0 ------------------------------------------------
start_worker w2 --park-ttl 0 --plugin-dir "$V1" --redis "$REDIS_URL" --queue $Q
v2_payload='{"invoice":{"id":"INV-9","total":{"amount_cents":990,"currency":"EUR"}},"recipients":["ap@example.com"]}'
v2_src=$(rcli XADD "$S" '*' job invoice_email v 2 payload "$v2_payload" id inv-9)
run_cmd "$EX/produce.sh"
assert_eq 0 "$RC" "produce.sh's exit code ($ERR)"
mapfile -t sh_ids <<<"$OUT"
assert_eq 5 "${#sh_ids[@]}" "stream ids printed by produce.sh"

handled_by_v1() {
    [ "$(json_get "$(job_status $Q "$1")" result handled_by)" = \
      "invoice-email 1.0.0 handler v1" ]
}
for id in "${sh_ids[0]}" "${sh_ids[1]}" invoice-email-INV-3; do
    wait_for "$id to be run by 1.0.0" 15 handled_by_v1 "$id"
done
for src in "$v2_src" "${sh_ids[3]}" "${sh_ids[4]}"; do
    wait_for "schema-2 entry $src to be dead-lettered" 15 \
        find_entry "$D" dlq_source_id "$src"
    e=$(find_entry "$D" dlq_source_id "$src")
    assert_eq schema_unsupported "$(entry_field "$e" dlq_reason)" \
        "dlq_reason of schema-2 entry $src"
    assert_eq invoice_email "$(entry_field "$e" job)" "job of $src"
    assert_eq 2 "$(entry_field "$e" v)" "v of $src"
    p=$(entry_field "$e" payload)
    assert_eq "$p" "$(json_get "$p")" "payload of $src, JSON as sent"
done
e=$(find_entry "$D" dlq_source_id "$v2_src")
assert_eq "$(enc_pairs job invoice_email v 2 payload "$v2_payload" id inv-9)" \
    "$(entry_fields_before "$e" dlq_reason)" "inv-9's dead letter fields"
rec=$(job_status $Q inv-9)
assert_eq dead "$(json_get "$rec" status)" "status of inv-9"
assert_eq schema_unsupported "$(json_get "$rec" reason)" "reason of inv-9"
assert_eq 3 "$(dlq_len $Q)" "dead letters with the 1.0.0 plugin"
wait_for "stream $S to drain with nothing pending" 10 stream_empty $Q

stop_worker w2 15
assert_eq 0 "$WORKER_RC" "w2's exit code"
pass
