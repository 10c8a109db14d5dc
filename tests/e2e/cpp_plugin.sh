#!/usr/bin/env bash
# cpp_plugin.sh - the C++ example plugin (examples/cpp-report, built with
# jobrt_add_plugin): its file exports the descriptor alone, as constant
# data (.data.rel.ro, no dynamic initializer); `jobrt plugins` lists it
# and `jobrt exec` runs report_render through it; a real worker runs its
# jobs from Redis, and a hot reload (--watch) to a second build of it
# unloads the first, verified gone from the address space (no C++ symbol
# pins it), with the jobs after the reload run by the new build.
. "$(dirname "$0")/lib.sh"

e2e_setup
SO=$JOBRT_EXAMPLES_DIR/cpp-report/report_render.so
SO_B=$JOBRT_RELOAD_DIR/report_render_b.so
C_SO=$JOBRT_EXAMPLES_DIR/invoice-email/v1/invoice_email.so
e2e_require "$SO" "build the report_render target"
e2e_require "$SO_B" "build the jobrt_reload_plugins target"
e2e_require "$C_SO" "build the examples"
J=$JOBRT_BIN
Q=reports

# ---- the file -------------------------------------------------------------
if command -v nm >/dev/null && command -v readelf >/dev/null; then
    assert_eq jobrt_plugin "$(nm -D --defined-only "$SO" | awk '{print $3}')" \
        "dynamic symbols $SO defines"
    # the section of jobrt_plugin, by its index in the symbol table
    ndx=$(readelf -W --dyn-syms "$SO" | awk '$8 == "jobrt_plugin" && !n++ {print $7}')
    sec=$(readelf -SW "$SO" | sed -n "s/^ *\[ *$ndx\] \([^ ]*\) .*/\1/p")
    assert_eq .data.rel.ro "$sec" "section of jobrt_plugin in $SO"
    # no dynamic initializer: no _GLOBAL__sub_I_ function, and an
    # .init_array no longer than a C plugin's (crtbegin's own entry)
    assert_eq "" "$(nm "$SO" | grep _GLOBAL__sub_I || true)" \
        "dynamic initializers in $SO"
    init_array() { readelf -SW "$1" | awk '$2 == ".init_array" {print $6}'; }
    assert_eq "$(init_array "$C_SO")" "$(init_array "$SO")" \
        ".init_array size of $SO (that of $C_SO)"
    assert_eq "" "$(readelf -sW --dyn-syms "$SO" | grep -w UNIQUE || true)" \
        "STB_GNU_UNIQUE symbols in $SO"
else
    log "no nm/readelf (binutils): the symbol and section checks are skipped"
fi

# ---- jobrt plugins, jobrt exec ---------------------------------------------
D=$E2E_WORK/plugins
mkdir -m 0755 "$D"
install_build() { # file
    cp "$1" "$D/.report_render.so.tmp"
    chmod 0644 "$D/.report_render.so.tmp"
    mv "$D/.report_render.so.tmp" "$D/report_render.so"
}
install_build "$SO"
assert_exit 0 "jobrt plugins" "$J" plugins --plugin-dir "$D"
assert_contains "$OUT" "plugin cpp-report 1.0.0 (ABI 1." "jobrt plugins"
assert_contains "$OUT" "): report_render v1" "jobrt plugins"
assert_not_contains "$OUT" "needs restart" "jobrt plugins"

PAYLOAD='{"title":"Weekly sales","columns":["region","units"],'
PAYLOAD+='"rows":[["north",12],["south",7]],"format":"csv","totals":true}'
assert_exit 0 "exec report_render" "$J" exec --plugin-dir "$D" report_render \
    -v 1 --payload "$PAYLOAD"
assert_eq "# Weekly sales
region,units
north,12
south,7
total,19
" "$(json_get "$OUT" report)
" "the CSV report"
assert_eq '{"units":19}' "$(json_get "$OUT" sums)" "sums"
assert_eq 2 "$(json_get "$OUT" rows)" "rows"
assert_exit 1 "exec with a bad payload" "$J" exec --plugin-dir "$D" \
    report_render -v 1 --payload '{"title":"x","columns":["a"],"rows":[[1,2]]}'
assert_contains "$ERR" "payload: row 1: expected an array of 1 cells" \
    "the bad payload's error"
assert_exit 3 "exec v2" "$J" exec --plugin-dir "$D" report_render -v 2 \
    --payload "$PAYLOAD"

# ---- a worker, and a hot reload to another build ----------------------------
start_worker w1 --plugin-dir "$D" -r "$REDIS_URL" -q $Q --watch --consumer w1
L=$(worker_log w1)
wait_for "w1 to take jobs" 10 grep -q "taking jobs from queue" "$L"
build_a=$(grep -o 'cpp-report 1.0.0 build [^ ]* init' "$L" | head -1 |
    cut -d' ' -f4)
case "$build_a" in src-*) ;; *) fail "build a's id: '$build_a'" ;; esac

enqueue() { # id payload
    assert_exit 0 "enqueue $1" "$J" enqueue $Q report_render -v 1 \
        --payload "$2" --id "$1" -r "$REDIS_URL"
}
for i in 1 2 3; do
    enqueue "a-$i" '{"title":"Run '$i'","columns":["step","n"],'\
'"rows":[["one",'$i'],["two",10]],"format":"markdown","totals":true}'
done
enqueue a-bad '{"title":"","columns":["n"],"rows":[]}'
for i in 1 2 3; do
    wait_for "a-$i to succeed" 10 job_has_status $Q "a-$i" succeeded
    rec=$(job_status $Q "a-$i")
    assert_eq "$build_a" "$(json_get "$rec" build_id)" "build that ran a-$i"
    assert_eq "$((i + 10))" "$(json_get "$rec" result sums n)" "sum of a-$i"
    assert_contains "$(json_get "$rec" result report)" "| total | $((i + 10)) |" \
        "a-$i's Markdown"
done
wait_for "a-bad to be dead-lettered" 10 job_has_status $Q a-bad dead
assert_contains "$(json_get "$(job_status $Q a-bad)" error)" \
    "payload: title must be a string of 1 to 256 bytes" "a-bad's error"

install_build "$SO_B"
wait_for "--watch to reload" 10 grep -q "reload (--watch): reloaded" "$L"
wait_for "build b's init" 10 \
    grep -q "cpp-report 1.0.0 build cpp-report-b init" "$L"
wait_for "build a to unload" 10 grep -q \
    "plugin cpp-report 1.0.0 build $build_a .* unloaded: drained, finalised, and verified gone" "$L"
grep -q "cpp-report 1.0.0 build $build_a fini: 3 rendered, 1 rejected" "$L" ||
    fail "no fini() line of build a counting its jobs: $(grep fini "$L" | head -3)"
assert_not_contains "$(cat "$L")" "leaked" "w1's log"
enqueue b-1 "$PAYLOAD"
wait_for "b-1 to succeed" 10 job_has_status $Q b-1 succeeded
assert_eq cpp-report-b "$(json_get "$(job_status $Q b-1)" build_id)" \
    "build that ran b-1"
wait_for "the stream to drain" 10 stream_empty $Q

stop_worker w1
assert_eq 0 "$WORKER_RC" "w1's exit code"
assert_eq "" "$(grep -E '^[^ ]+ ERROR' "$L" || true)" "ERROR lines in w1's log"
grep -q "cpp-report 1.0.0 build cpp-report-b fini: 1 rendered, 0 rejected" "$L" ||
    fail "no fini() line of build b at shutdown"
pass
