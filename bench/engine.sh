#!/usr/bin/env bash
# engine.sh - the cluster's engine measured alone: NATS JetStream in each layout, storage
# and replica count the design chooses between, and core NATS as the floor; one table.
#
# Usage: bench/engine.sh BUILD_DIR
# Starts its own nats-server processes on free 127.0.0.1 ports, each with JetStream on and
# a store directory of its own (-js -sd DIR) under one temporary directory: one server,
# then a 3-node cluster with routes between all three. BUILD_DIR/causerie-engine-bench
# runs once per configuration, its 3 nodes on the single server or one on each cluster
# node. The servers are stopped by process id on the way out, whatever happens, and the
# temporary directory removed. Environment:
#   ROUNDS (1)            everything that many times, each topology on fresh servers, the
#                         order of the configurations reversed every other round; the table
#                         gives each figure's median over the rounds
#   SECONDS_PER_RUN (5)   the rate phase's length; RATE (1000) its events/s in all
#   MAX_EVENTS (20000)    the max phase's events; WINDOW (256) publishes in flight per node
# A run that loses, duplicates or reorders an event, or whose nodes see a room in different
# orders on JetStream, prints its log and fails the script (after the table).
set -euo pipefail

build=${1:?usage: bench/engine.sh BUILD_DIR}
probe="$build/causerie-engine-bench"
rounds=${ROUNDS:-1}
probe_opts=(--seconds "${SECONDS_PER_RUN:-5}" --rate "${RATE:-1000}"
    --max-events "${MAX_EVENTS:-20000}" --max-seconds 10 --window "${WINDOW:-256}")

# topology, name, what the table calls it, probe options. The names have no spaces.
configs=(
    "single|core|core NATS, no JetStream (floor)|--engine core"
    "single|mem1|1 stream, memory|--storage memory"
    "single|file1|1 stream, file|--storage file"
    "single|file100|100 streams, file|--storage file --layout per-room"
    "single|file1-sync|1 stream, file, synchronous publish|--storage file --sync"
    "single|file1-asap|1 stream, file, send-asap|--storage file --send-asap"
    "cluster|r3file1|3 nodes: 1 stream R3, file|--storage file --replicas 3"
    "cluster|r3file100|3 nodes: 100 streams R3, file|--storage file --replicas 3 --layout per-room"
    "cluster|r3file1-sync|3 nodes: 1 stream R3, file, synchronous publish|--storage file --replicas 3 --sync"
    "cluster|r3file1-asap|3 nodes: 1 stream R3, file, send-asap|--storage file --replicas 3 --send-asap"
)

tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    for p in ${pids[@]+"${pids[@]}"}; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until something accepts on port, 5 s at most.
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05 # polling the port the server is about to open, bounded
    done
    echo "engine: nothing listens on port $1" >&2
    return 1
}

# Stops the servers of the topology that ran, by process id, and waits for them.
stop_servers() {
    for p in ${pids[@]+"${pids[@]}"}; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}

# One nats-server: name, client port, store directory, extra options. Its URL goes to urls.
start_server() {
    local name=$1 port=$2 store=$3
    shift 3
    nats-server -a 127.0.0.1 -p "$port" -n "$name" -js -sd "$store" "$@" \
        >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    urls+=(--url "nats://127.0.0.1:$port")
}

start_single() { # round
    urls=()
    local port
    port=$(free_port)
    start_server "single-$1" "$port" "$tmp/store-$1-single"
    wait_port "$port"
}

# Three servers, each routed to the other two, JetStream clustered (RAFT) among them. The
# probe waits for the metadata leader itself (it asks until JetStream answers).
start_cluster() { # round
    urls=()
    local i j ports=() cports=() routes
    for i in 0 1 2; do
        ports+=("$(free_port)")
        cports+=("$(free_port)")
    done
    for i in 0 1 2; do
        routes=""
        for j in 0 1 2; do
            [ "$i" = "$j" ] || routes="$routes${routes:+,}nats://127.0.0.1:${cports[$j]}"
        done
        start_server "n$i-$1" "${ports[$i]}" "$tmp/store-$1-n$i" --cluster_name causerie \
            --cluster "nats://127.0.0.1:${cports[$i]}" --routes "$routes"
    done
    for i in 0 1 2; do wait_port "${ports[$i]}"; done
}

failed=0
# One probe run: round, name, options. Its RESULT line goes to results.
run_config() {
    local round=$1 name=$2 log t0
    shift 2
    local server_pids=()
    for p in "${pids[@]}"; do server_pids+=(--server-pid "$p"); done
    log="$tmp/run-$round-$name.log"
    t0=$(date +%s.%N)
    if "$probe" --label "$name" "${urls[@]}" "${server_pids[@]}" "${probe_opts[@]}" "$@" \
        >"$log" 2>&1; then
        printf 'engine: round %s, %-13s ok   (%.1f s)\n' "$round" "$name" \
            "$(echo "$(date +%s.%N) - $t0" | bc)"
    else
        printf 'engine: round %s, %-13s FAILED\n' "$round" "$name"
        cat "$log"
        failed=1
    fi
    grep '^RESULT ' "$log" | sed "s/^RESULT /round=$round /" >>"$tmp/results" || true
}

# Every configuration of one topology, on servers started for them and stopped after.
run_topology() { # round topology reverse
    local round=$1 topo=$2 reverse=$3 list=() c name args
    for c in "${configs[@]}"; do
        [ "${c%%|*}" = "$topo" ] || continue
        if [ "$reverse" = 1 ]; then list=("$c" ${list[@]+"${list[@]}"}); else list+=("$c"); fi
    done
    if [ "$topo" = single ]; then start_single "$round"; else start_cluster "$round"; fi
    for c in "${list[@]}"; do
        name=$(echo "$c" | cut -d'|' -f2)
        args=$(echo "$c" | cut -d'|' -f4)
        # shellcheck disable=SC2086 # args is a list of options, split on purpose
        run_config "$round" "$name" $args
    done
    stop_servers
}

echo "engine: $(nats-server --version), libnats $(pkg-config --modversion libnats 2>/dev/null || echo '?')," \
    "$(nproc) cores, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "engine: ${probe_opts[*]}; 3 nodes, 100 rooms, ~100-byte events"
: >"$tmp/results"
for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then
        run_topology "$round" single 0
        run_topology "$round" cluster 0
    else
        run_topology "$round" cluster 1
        run_topology "$round" single 1
    fi
done
echo "engine: done, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: per configuration, the median of each figure over the rounds.
keys="streams_ms consumers_ms p50_ms p99_ms max_ms deliveries_s ack_p50_ms ack_p99_ms server_cpu_us max_events_s max_server_cpu_us"
echo
echo "Medians of $rounds round(s). Latency: publish to delivery at each of the 3 nodes, rate phase."
echo "ack: publish to JetStream's ack. CPU: all nats-server processes, per event (rate phase, then max phase)."
echo "max ev/s: max phase, events/s until the last node has the last event."
echo
echo "| configuration | streams set up, ms | consumers set up, ms | p50 ms | p99 ms | max ms | deliveries/s | ack p50 ms | ack p99 ms | server CPU µs/event | max ev/s | max: server CPU µs/event | one order per room |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in "${configs[@]}"; do
    name=$(echo "$c" | cut -d'|' -f2)
    title=$(echo "$c" | cut -d'|' -f3)
    awk -v name="$name" -v title="$title" -v keys="$keys" '
        function median(list, n,    i, j, t, a) {
            split(list, a, " ")
            for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        {
            delete f
            for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            if (f["label"] != name) next
            runs++
            if (f["ok"] != 1) bad++
            if (f["one_order"] != "yes") split_order++
            nk = split(keys, k, " ")
            for (i = 1; i <= nk; i++) v[k[i]] = v[k[i]] " " f[k[i]]
        }
        END {
            if (runs == 0) { printf "| %s | failed |\n", title; exit }
            nk = split(keys, k, " ")
            line = "| " title
            for (i = 1; i <= nk; i++) {
                m = median(substr(v[k[i]], 2), runs)
                if (k[i] ~ /^(ack_p50_ms|ack_p99_ms)$/ && name == "core") cell = "—"
                else if (k[i] ~ /_s$/) cell = sprintf("%.0f", m)
                else if (k[i] ~ /(streams_ms|consumers_ms|server_cpu_us)$/) cell = sprintf("%.1f", m)
                else cell = sprintf("%.3f", m)
                line = line " | " cell
            }
            line = line " | " (split_order ? "no (" split_order " of " runs ")" : "yes")
            if (bad) line = line " (" bad " of " runs " runs failed)"
            print line " |"
        }' "$tmp/results"
done
exit "$failed"
