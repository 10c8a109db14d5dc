# shellcheck shell=bash
# shellcheck disable=SC2034,SC2119,SC2120 # globals and optional arguments for the tests that source it
# tests/support/redis_cluster.sh - a Redis Cluster on loopback for the
# end-to-end tests. Sourced after tests/e2e/lib.sh (it uses E2E_WORK,
# E2E_PY, fail, log, now_ms, pid_alive and wait_for), never run as a test
# itself (the e2e glob is tests/e2e/*.sh):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/../support/redis_cluster.sh"
#   e2e_setup --no-redis
#   trap 'rc=$?; trap - ERR; e2e_kill_workers; cluster_stop; (exit $rc);
#       e2e_cleanup' EXIT
#   cluster_start 3 1 2000     # primaries, replicas each, node timeout ms
#   cluster_pick_queues q 2    # CLUSTER_QUEUES: 2 queues on each primary
#
# Each node is a redis-server on 127.0.0.1 (no persistence: --save ''
# --appendonly no) whose port and cluster bus port (port + 10000) are both
# free and below the kernel's ephemeral range; its pid file and log are
# $E2E_WORK/node-PORT.pid and node-PORT.log (so a failed test prints the
# logs), its nodes.conf in $E2E_WORK/node-PORT/. Everything waits for a
# condition with a deadline; nothing sleeps for a fixed time.
#
# Set by cluster_start:
#   CLUSTER_PORTS      every node's port, in creation order
#   CLUSTER_PRIMARIES  the primaries' ports, sorted
#   CLUSTER_URL        redis://127.0.0.1:PORT of the first node
#   CLUSTER_NODE_TIMEOUT, CLUSTER_N_PRIMARIES, CLUSTER_N_REPLICAS
# Set by cluster_pick_queues: CLUSTER_QUEUES (names), and per name
#   CLUSTER_QUEUE_PORT[name] (its primary's port) and
#   CLUSTER_QUEUE_SLOT[name].
#
# A queue's keys are NS:{QUEUE}:... (runtime/queue/keys.h), so its slot is
# CLUSTER KEYSLOT of "{QUEUE}" whatever the namespace; the one key outside
# the queue's slot is NS:queues (default namespace "jobrt",
# runtime/cli/commands.h DEFAULT_NAMESPACE).

CLUSTER_PORTS=()
CLUSTER_PRIMARIES=()
CLUSTER_URL=""
CLUSTER_NODE_TIMEOUT=2000
CLUSTER_N_PRIMARIES=0
CLUSTER_N_REPLICAS=0
CLUSTER_QUEUES=()
declare -A CLUSTER_QUEUE_PORT=()
declare -A CLUSTER_QUEUE_SLOT=()
# Extra redis-server arguments for every node (set before cluster_start).
CLUSTER_EXTRA_ARGS=(${CLUSTER_EXTRA_ARGS[@]+"${CLUSTER_EXTRA_ARGS[@]}"})

# ccli PORT ARGS...: redis-cli against one node (no redirections followed).
ccli() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" "$@"; }

cluster_node_pidfile() { echo "$E2E_WORK/node-$1.pid"; }
cluster_node_pid() { cat "$(cluster_node_pidfile "$1")" 2>/dev/null; }

# cluster_node_alive PORT: its process runs (pid file and /proc).
cluster_node_alive()
{
    local pid
    pid=$(cluster_node_pid "$1") && [ -n "$pid" ] && pid_alive "$pid"
}

# cluster_free_ports N: N ports P, each with P and P + 10000 (the cluster
# bus) free, all below the ephemeral range (see free_port in lib.sh: a port
# the kernel hands out to outgoing connections is no port for a server)
# and none another's bus port.
cluster_free_ports()
{
    "$E2E_PY" - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
top = max(lo - 10000, 10001)
def free(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
got, used = [], set()
for _ in range(5000):
    if len(got) == n:
        break
    p = random.randrange(10000, top)
    if {p, p + 10000} & used or not free(p) or not free(p + 10000):
        continue
    got.append(p)
    used |= {p, p + 10000}
if len(got) != n:
    raise SystemExit("no %d free port pairs (P, P+10000) below %d" % (n, lo))
print(" ".join(map(str, got)))
PY
}

# cluster_start_node PORT: starts (or restarts, keeping its nodes.conf and
# so its identity) the node on PORT and waits until it answers PING.
cluster_start_node()
{
    local p=$1 dir="$E2E_WORK/node-$1"
    mkdir -p "$dir"
    rm -f "$(cluster_node_pidfile "$p")"
    redis-server --port "$p" --bind 127.0.0.1 --daemonize yes \
        --pidfile "$(cluster_node_pidfile "$p")" \
        --logfile "$E2E_WORK/node-$p.log" --dir "$dir" \
        --save '' --appendonly no \
        --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
        --cluster-node-timeout "$CLUSTER_NODE_TIMEOUT" \
        ${CLUSTER_EXTRA_ARGS[@]+"${CLUSTER_EXTRA_ARGS[@]}"} ||
        fail "cluster node $p did not start (see $E2E_WORK/node-$p.log)"
    wait_for "cluster node $p to answer PING" 10 eval \
        "[ \"\$(ccli $p PING 2>/dev/null)\" = PONG ]"
    wait_for "cluster node $p's pid file" 5 test -s "$(cluster_node_pidfile "$p")"
}

# cluster_start [PRIMARIES [REPLICAS [NODE_TIMEOUT_MS]]] (default 3 1
# 2000): starts PRIMARIES * (1 + REPLICAS) nodes, makes them one cluster
# (redis-cli --cluster create), and waits (cluster_wait_ready) until every
# node says cluster_state:ok, all agree on who serves every slot, and each
# primary has REPLICAS replicas in sync.
cluster_start()
{
    local n=${1:-3} r=${2:-1} p addrs=() t0
    CLUSTER_NODE_TIMEOUT=${3:-2000}
    CLUSTER_N_PRIMARIES=$n CLUSTER_N_REPLICAS=$r
    [ "$n" -ge 3 ] || fail "cluster_start: a cluster needs 3 primaries or more"
    t0=$(now_ms)
    read -r -a CLUSTER_PORTS <<<"$(cluster_free_ports $((n * (1 + r))))" ||
        fail "cluster_start: no free ports"
    for p in "${CLUSTER_PORTS[@]}"; do
        cluster_start_node "$p"
        addrs+=("127.0.0.1:$p")
    done
    CLUSTER_URL="redis://127.0.0.1:${CLUSTER_PORTS[0]}"
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$r" \
        --cluster-yes >"$E2E_WORK/cluster-create.log" 2>&1 ||
        fail "redis-cli --cluster create failed: $(tail -5 "$E2E_WORK/cluster-create.log")"
    cluster_wait_ready 30 "$r"
    log "cluster up in $(($(now_ms) - t0)) ms: nodes ${CLUSTER_PORTS[*]}," \
        "primaries ${CLUSTER_PRIMARIES[*]}, node timeout ${CLUSTER_NODE_TIMEOUT} ms"
}

# cluster_stop: stops every node (SIGTERM, then SIGKILL after 5 s) and
# waits until each is gone. Safe to call twice, from an EXIT trap, with set
# -e on or off, and for nodes that never started or were killed.
cluster_stop()
{
    local p pid pids=() deadline
    for p in ${CLUSTER_PORTS[@]+"${CLUSTER_PORTS[@]}"}; do
        pid=$(cluster_node_pid "$p") || continue
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
    done
    deadline=$(($(now_ms) + 5000))
    for pid in ${pids[@]+"${pids[@]}"}; do
        while pid_alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
            sleep 0.05
        done
        if pid_alive "$pid"; then
            echo "cluster node pid $pid ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for pid in ${pids[@]+"${pids[@]}"}; do
        deadline=$(($(now_ms) + 5000))
        while pid_alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
            sleep 0.05
        done
    done
    for p in ${CLUSTER_PORTS[@]+"${CLUSTER_PORTS[@]}"}; do
        rm -f "$(cluster_node_pidfile "$p")"
    done
    return 0
}

# cluster_kill_node PORT [SIGNAL]: SIGKILL (by default) to one node; waits
# until its process is gone.
cluster_kill_node()
{
    local p=$1 sig=${2:-KILL} pid
    pid=$(cluster_node_pid "$p") || fail "cluster node $p has no pid file"
    kill -"$sig" "$pid" || fail "cannot signal cluster node $p (pid $pid)"
    wait_for "cluster node $p (pid $pid) to die" 10 eval "! pid_alive $pid"
    rm -f "$(cluster_node_pidfile "$p")"
}

# cluster_live_ports: the nodes whose process runs.
cluster_live_ports()
{
    local p out=()
    for p in "${CLUSTER_PORTS[@]}"; do
        cluster_node_alive "$p" && out+=("$p")
    done
    echo "${out[*]}"
}

# cluster_any_port: a live node that answers PING (fails the test if none).
cluster_any_port()
{
    local p
    for p in $(cluster_live_ports); do
        [ "$(ccli "$p" PING 2>/dev/null)" = PONG ] && { echo "$p"; return 0; }
    done
    fail "no cluster node answers PING"
}

# cluster_map [PORT]: the slot map as node PORT (default: any live one)
# sees it in CLUSTER NODES: one line "LO-HI PRIMARY_PORT" per range, by LO
# (a range mid-migration, "[slot->-id]", is not listed). Flags are not
# looked at: a primary marked fail keeps its slots until a replica takes
# them over.
cluster_map()
{
    local p=${1:-$(cluster_any_port)}
    ccli "$p" CLUSTER NODES 2>/dev/null | awk '
        $3 ~ /master/ {
            addr = $2; sub(/@.*/, "", addr); sub(/.*:/, "", addr)
            for (i = 9; i <= NF; i++) {
                if ($i ~ /^\[/) continue
                n = split($i, r, "-")
                printf "%d-%d %s\n", r[1], (n == 2 ? r[2] : r[1]), addr
            }
        }' | sort -n -t- -k1,1
}

# cluster_primary_ports [PORT]: the ports of the primaries serving slots,
# sorted, as node PORT sees it.
cluster_primary_ports()
{
    cluster_map "$@" | awk '{print $2}' | sort -un | tr '\n' ' ' | sed 's/ $//'
}

# cluster_keyslot KEY: CLUSTER KEYSLOT of KEY (asked of any live node).
cluster_keyslot() { ccli "$(cluster_any_port)" CLUSTER KEYSLOT "$1"; }

# cluster_slot_primary SLOT [PORT]: the port of the primary serving SLOT as
# node PORT (default: any live one) sees it; fails if none does.
cluster_slot_primary()
{
    local out
    out=$(cluster_map "${2:-}" | awk -v s="$1" '{
        split($1, r, "-"); if (s >= r[1] && s <= r[2]) { print $2; exit } }')
    [ -n "$out" ] || fail "no primary serves slot $1"
    echo "$out"
}

# cluster_key_primary KEY: the port of the primary serving KEY's slot.
cluster_key_primary() { cluster_slot_primary "$(cluster_keyslot "$1")"; }

# cluster_queue_primary QUEUE: the port of the primary serving QUEUE's keys
# now (asked again: it changes in a failover).
cluster_queue_primary() { cluster_key_primary "{$1}"; }

# cluster_replicas_of PORT [ASK_PORT]: the ports of the replicas whose
# primary is node PORT, not marked failed, and with their replication link
# up (INFO replication: master_link_status:up).
cluster_replicas_of()
{
    local p=$1 ask=${2:-$(cluster_any_port)} id r out=()
    id=$(ccli "$ask" CLUSTER NODES 2>/dev/null | awk -v p="$p" '{
        a = $2; sub(/@.*/, "", a); sub(/.*:/, "", a); if (a == p) print $1 }')
    [ -n "$id" ] || { echo ""; return 0; }
    for r in $(ccli "$ask" CLUSTER NODES 2>/dev/null | awk -v id="$id" '
        $4 == id && $3 ~ /slave/ && $3 !~ /fail/ {
            a = $2; sub(/@.*/, "", a); sub(/.*:/, "", a); print a }'); do
        ccli "$r" INFO replication 2>/dev/null | tr -d '\r' |
            grep -qx 'master_link_status:up' && out+=("$r")
    done
    echo "${out[*]}"
}

# cluster_ready MIN_REPLICAS: every live node says cluster_state:ok with
# all 16384 slots assigned, every live node's map is the same, covers slots
# 0-16383 without a gap, has CLUSTER_N_PRIMARIES primaries, none of them a
# dead process, and each primary has at least MIN_REPLICAS replicas in
# sync. Prints what is missing (on stdout) when not.
cluster_ready()
{
    local want=${1:-0} p first="" m info prim reps
    for p in $(cluster_live_ports); do
        info=$(ccli "$p" CLUSTER INFO 2>/dev/null | tr -d '\r')
        case "$info" in *cluster_state:ok*) ;; *)
            echo "node $p: not cluster_state:ok"; return 1 ;; esac
        case "$info" in *cluster_slots_assigned:16384*) ;; *)
            echo "node $p: not every slot assigned"; return 1 ;; esac
        m=$(cluster_map "$p")
        if [ -z "$first" ]; then
            first=$m
        elif [ "$m" != "$first" ]; then
            echo "node $p sees another slot map"; return 1
        fi
    done
    [ -n "$first" ] || { echo "no live node"; return 1; }
    awk 'BEGIN { next_lo = 0 }
        { split($1, r, "-"); if (r[1] != next_lo) exit 1; next_lo = r[2] + 1 }
        END { exit next_lo == 16384 ? 0 : 1 }' <<<"$first" ||
        { echo "the slot map has a gap: $(tr '\n' ' ' <<<"$first")"; return 1; }
    prim=$(awk '{print $2}' <<<"$first" | sort -un)
    [ "$(wc -l <<<"$prim")" = "$CLUSTER_N_PRIMARIES" ] ||
        { echo "primaries: $(tr '\n' ' ' <<<"$prim")"; return 1; }
    for p in $prim; do
        cluster_node_alive "$p" || { echo "primary $p is dead"; return 1; }
        reps=$(cluster_replicas_of "$p")
        [ "$(wc -w <<<"$reps")" -ge "$want" ] ||
            { echo "primary $p has replicas in sync: '$reps'"; return 1; }
    done
    return 0
}

# cluster_wait_ready TIMEOUT_S [MIN_REPLICAS]: polls cluster_ready until it
# holds (fails the test at the deadline, saying what was missing), then
# sets CLUSTER_PRIMARIES.
cluster_wait_ready()
{
    local timeout=$1 want=${2:-0} deadline why=""
    deadline=$(($(now_ms) + timeout * 1000))
    until why=$(cluster_ready "$want"); do
        [ "$(now_ms)" -lt "$deadline" ] ||
            fail "timed out after ${timeout}s waiting for the cluster to be ready: $why"
        sleep 0.1
    done
    read -r -a CLUSTER_PRIMARIES <<<"$(cluster_primary_ports)"
}

# cluster_pick_queues PREFIX PER_SHARD: finds queue names PREFIX1,
# PREFIX2, ... until each primary serves PER_SHARD of them (their "{name}"
# slots asked of the cluster in one pipelined redis-cli), then sets
# CLUSTER_QUEUES (by primary port, then name), CLUSTER_QUEUE_PORT and
# CLUSTER_QUEUE_SLOT.
cluster_pick_queues()
{
    local prefix=$1 per=$2 ask name slot port i j batch=0 want
    declare -A have=()
    local -a map_lo=() map_hi=() map_port=() names=() slots=()
    CLUSTER_QUEUES=() CLUSTER_QUEUE_PORT=() CLUSTER_QUEUE_SLOT=()
    ask=$(cluster_any_port)
    while read -r range port; do
        map_lo+=("${range%-*}") map_hi+=("${range#*-}") map_port+=("$port")
        have[$port]=0
    done < <(cluster_map "$ask")
    want=$((per * ${#have[@]}))
    while [ "${#CLUSTER_QUEUES[@]}" -lt "$want" ]; do
        [ "$batch" -lt 20 ] || fail "cluster_pick_queues: no $per queue(s) per primary among ${prefix}1..$((batch * 64))"
        names=() slots=()
        for ((i = batch * 64 + 1; i <= (batch + 1) * 64; i++)); do
            names+=("$prefix$i")
        done
        mapfile -t slots < <(for name in "${names[@]}"; do
            printf 'CLUSTER KEYSLOT {%s}\n' "$name"; done | ccli "$ask")
        [ "${#slots[@]}" = "${#names[@]}" ] ||
            fail "cluster_pick_queues: CLUSTER KEYSLOT answered ${#slots[@]} of ${#names[@]}"
        for ((i = 0; i < ${#names[@]}; i++)); do
            slot=${slots[$i]}
            port=""
            for ((j = 0; j < ${#map_lo[@]}; j++)); do
                if [ "$slot" -ge "${map_lo[$j]}" ] && [ "$slot" -le "${map_hi[$j]}" ]; then
                    port=${map_port[$j]}
                    break
                fi
            done
            [ -n "$port" ] || fail "cluster_pick_queues: no primary serves slot $slot"
            [ "${have[$port]}" -lt "$per" ] || continue
            have[$port]=$((have[$port] + 1))
            CLUSTER_QUEUE_PORT[${names[$i]}]=$port
            CLUSTER_QUEUE_SLOT[${names[$i]}]=$slot
            CLUSTER_QUEUES+=("${names[$i]}")
        done
        batch=$((batch + 1))
    done
    # by primary port, then by name
    mapfile -t CLUSTER_QUEUES < <(for name in "${CLUSTER_QUEUES[@]}"; do
        echo "${CLUSTER_QUEUE_PORT[$name]} $name"; done | sort -k1,1n -k2,2V |
        awk '{print $2}')
    for name in "${CLUSTER_QUEUES[@]}"; do
        # cross-check with the one-key helpers
        [ "$(cluster_keyslot "{$name}")" = "${CLUSTER_QUEUE_SLOT[$name]}" ] ||
            fail "cluster_pick_queues: slot of {$name} changed"
    done
}

# cluster_queues_on PORT: the picked queues served by primary PORT.
cluster_queues_on()
{
    local name out=()
    for name in "${CLUSTER_QUEUES[@]}"; do
        [ "${CLUSTER_QUEUE_PORT[$name]}" = "$1" ] && out+=("$name")
    done
    echo "${out[*]}"
}

# cluster_describe: one log line per node: port, role, slots, primary.
cluster_describe()
{
    local ask
    ask=$(cluster_any_port)
    ccli "$ask" CLUSTER NODES | awk '{
        a = $2; sub(/@.*/, "", a); sub(/.*:/, "", a); id[$1] = a
        line[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(line[i], f, " ")
            a = f[2]; sub(/@.*/, "", a); sub(/.*:/, "", a)
            s = ""; for (j = 9; j in f; j++) s = s " " f[j]
            printf "  node %s %s%s%s\n", a, f[3],
                (f[4] != "-" ? " of " id[f[4]] : ""), s } }' >&2
}
