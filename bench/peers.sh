#!/usr/bin/env bash
# peers.sh - the same workloads, in one run, against causerie and the servers a user would
# otherwise pick; one table with a column per server and causerie's ratio to the best.
#
# Usage: [SERVERS="irc causerie-irc"] bench/peers.sh BUILD_DIR   (SERVERS: a subset, in order)
# Each server is started on 127.0.0.1 by this script and stopped by its process id:
#   causerie-server  --max-backlog 67108864 --max-clients 0 --max-per-ip 0 --flood-rate 0
#                    --handshake-timeout 0 (limits meant for hostile clients lifted)
#   redis-server     no persistence, pub/sub output buffer limit off
#   nats-server      defaults; the generator connects with echo off
#   causerie-irc     the same causerie-server, measured through its IRC port (--irc-port)
#                    with the generator's IRC adapter: IRC to IRC against ngIRCd
#   ngircd           no per-address or connection limits, no DNS or ident lookups; an
#                    operator block lets each connection take user mode +F (relaxed flood
#                    control: without it ngIRCd holds a fast sender to a few lines a second).
#                    ngIRCd still makes each new client wait through its registration
#                    (a penalty per command), so it joins a few dozen clients a second:
#                    its idle and large-room runs may not have every member joined within
#                    the generator's time limit, and are then reported as failed.
# The table goes to stdout and to bench/results/peers-DATE.md with the machine and the
# versions; causerie's ratio is to the best of the others (causerie-irc is not a peer: it
# is causerie), and a line below the table compares causerie-irc with ngIRCd.
set -euo pipefail

build=${1:?usage: bench/peers.sh BUILD_DIR}
bench="$build/causerie-bench"
seconds=${SECONDS_PER_RUN:-5}
idle_members=${IDLE_MEMBERS:-2000}
# fanout-max again at each room size, for the plot of deliveries/s against room size.
room_sizes=(${ROOM_SIZES:-10 100 1000 10000})
# Each member is a descriptor in the generator and one in the server.
ulimit -Sn "$(ulimit -Hn)"
presets=(fanout-max fanout-rate idle churn)
read -r -a servers <<<"${SERVERS:-causerie redis nats irc causerie-irc}"
# The limits meant for hostile clients, lifted for a benchmark that is not one; the table
# states them.
causerie_opts=(--db :memory: --max-backlog 67108864 --max-clients 0 --max-per-ip 0 --flood-rate 0 --handshake-timeout 0)
results=$(mktemp)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -f "$results" "$results".*
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
    echo "peers: nothing listens on port $1" >&2
    return 1
}

start_server() { # name port -> pid in $server_pid
    local log="$results.$1.log"
    case "$1" in
    causerie) "$build/causerie-server" --host 127.0.0.1 --port "$2" "${causerie_opts[@]}" >"$log" 2>&1 & ;;
    causerie-irc) "$build/causerie-server" --host 127.0.0.1 --port 0 --no-web --irc-port "$2" \
        "${causerie_opts[@]}" >"$log" 2>&1 & ;;
    redis) redis-server --bind 127.0.0.1 --port "$2" --save '' --appendonly no \
        --client-output-buffer-limit 'pubsub 0 0 0' >"$log" 2>&1 & ;;
    nats) nats-server -a 127.0.0.1 -p "$2" >"$log" 2>&1 & ;;
    irc)
        cat >"$results.ngircd.conf" <<EOF
[Global]
Name = bench.causerie.invalid
Info = causerie bench peer
Listen = 127.0.0.1
Ports = $2
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
[Operator]
Name = bench
Password = bench
EOF
        ngircd --nodaemon --config "$results.ngircd.conf" >"$log" 2>&1 &
        ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    wait_port "$2"
}

status=0
for s in "${servers[@]}"; do
    port=$(free_port)
    start_server "$s" "$port"
    proto=$s
    label=(cat) # the generator names a server by its protocol: causerie-irc's is irc
    if [ "$s" = causerie-irc ]; then
        proto=irc
        label=(sed 's/ server=irc / server=causerie-irc /')
    fi
    for p in "${presets[@]}"; do
        args=(--protocol "$proto" --preset "$p" --port "$port" --server-pid "$server_pid" --seconds "$seconds")
        case "$p" in
        idle) args+=(--members "$idle_members" --concurrency 512) ;;
        churn) args+=(--concurrency 64) ;;
        esac
        "$bench" "${args[@]}" | "${label[@]}" | tee -a "$results" | grep -E '^(RESULT|FAIL)' ||
            status=1
    done
    for m in "${room_sizes[@]}"; do
        senders=$((m < 10 ? m : 10))
        "$bench" --protocol "$proto" --preset fanout-max --port "$port" --server-pid "$server_pid" \
            --seconds "$seconds" --members "$m" --senders "$senders" --concurrency 512 |
            sed "s/^RESULT preset=fanout-max /RESULT preset=room-$m /" | "${label[@]}" |
            tee -a "$results" |
            grep -E '^(RESULT|FAIL)' || status=1
    done
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
done

mkdir -p bench/results
out="bench/results/peers-$(date +%Y-%m-%d-%H%M%S).md"
ROOM_SIZES="${room_sizes[*]}" CAUSERIE_OPTS="${causerie_opts[*]}" /usr/bin/python3 - "$results" "$out" "${servers[@]}" <<'PY'
import os, re, subprocess, sys, platform
results, out, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {}
last = None
for line in open(results):
    if line.startswith("RESULT "):
        kv = dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
        last = (kv["preset"], kv["server"])
        r[last] = kv
    elif line.startswith("FAIL ") and last:
        # The run just reported did not complete (members not all joined, messages lost):
        # none of its figures may stand in the table.
        r[last] = {k: "failed" for k in r[last]}
# (preset, key, label, higher is better)
rows = [("fanout-max", "deliveries_per_s", "fanout-max deliveries/s", True),
        ("fanout-max", "p99_ms", "fanout-max p99 ms", False),
        ("fanout-rate", "p50_ms", "fanout-rate p50 ms", False),
        ("fanout-rate", "p99_ms", "fanout-rate p99 ms", False),
        ("fanout-rate", "p999_ms", "fanout-rate p99.9 ms", False),
        ("idle", "bytes_per_conn", "idle RSS bytes per connection", False),
        ("idle", "broadcast_s", "idle broadcast to all, s", False),
        ("churn", "joins_per_s", "churn joins/s", True),
        ("fanout-max", "same_order", "fanout-max one order for all", None)]
def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip().splitlines()[0]
    except Exception:
        return "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
lines = [f"# causerie and its peers, {subprocess.run(['date','-u','+%Y-%m-%d %H:%M UTC'],capture_output=True,text=True).stdout.strip()}", "",
         f"Machine: {cpu}, {len([l for l in open('/proc/cpuinfo') if l.startswith('processor')])} cores, kernel {platform.release()}; the load generator shares the cores.",
         f"Versions: {version(['redis-server','--version'])}; nats-server {version(['nats-server','--version'])}; irc is {version(['ngircd','--version'])}.",
         f"Options: causerie-server {os.environ['CAUSERIE_OPTS']} (the limits meant for hostile clients lifted); NATS with echo off; ngIRCd with each client an operator with +F (flood control relaxed).", "",
         "| measure | " + " | ".join(servers) + " | causerie / best peer |",
         "|---|" + "---|" * (len(servers) + 1)]
for preset, key, label, higher in rows:
    vals = [r.get((preset, s), {}).get(key, "—") for s in servers]
    ratio = "—"
    def num(v):
        try:
            return float(v)
        except ValueError:
            return None
    try:
        if servers[0] != "causerie":
            raise ValueError("no causerie column to compare")
        nums = [float(vals[0])]
        # failed runs left out; causerie's IRC port is causerie, not a peer
        peers = [x for s, x in zip(servers[1:], map(num, vals[1:]))
                 if x is not None and not s.startswith("causerie")]
        best = max(peers) if higher else min(peers)
        if higher is not None and best > 0 and nums[0] > 0:
            ratio = f"{nums[0] / best:.2f}x" if higher else f"{best / nums[0]:.2f}x better" if nums[0] <= best else f"{nums[0] / best:.2f}x worse"
    except ValueError:
        pass
    lines.append(f"| {label} | " + " | ".join(vals) + f" | {ratio} |")
if "causerie-irc" in servers and "irc" in servers:
    def ratio(preset, key, higher):
        try:
            a = float(r[(preset, "causerie-irc")][key])
            b = float(r[(preset, "irc")][key])
        except (KeyError, ValueError):
            return "—"
        if higher:
            return f"{a / b:.2f}x" if b > 0 else "—"
        return f"{b / a:.2f}x better" if a <= b else f"{a / b:.2f}x worse"
    lines += ["", "IRC to IRC, causerie's IRC port against ngIRCd: fanout-max deliveries/s "
              + ratio("fanout-max", "deliveries_per_s", True) + ", fanout-rate p99 "
              + ratio("fanout-rate", "p99_ms", False) + "."]
sizes = os.environ["ROOM_SIZES"].split()
lines += ["", "fanout-max deliveries/s by room size (10 senders, or as many as members):", "",
          "| members | " + " | ".join(servers) + " |", "|---|" + "---|" * len(servers)]
for m in sizes:
    lines.append(f"| {m} | " + " | ".join(r.get((f"room-{m}", s), {}).get("deliveries_per_s", "—") for s in servers) + " |")
lines += ["", "Every run: lost, duplicated and reordered must be 0 (checked by causerie-bench).",
          f"Plots: {os.path.basename(out)[:-3]}-latency.svg, {os.path.basename(out)[:-3]}-rooms.svg."]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
print(f"written to {out}")
# Data for gnuplot: latency percentiles per server, deliveries/s per room size; a missing
# or failed run is NaN, which gnuplot leaves out.
def dat(v):
    try:
        return str(float(v))
    except (TypeError, ValueError):
        return "NaN"
base = out[:-3]
with open(base + "-latency.dat", "w") as f:
    f.write("server p50 p99 p99.9\n")
    for s in servers:
        kv = r.get(("fanout-rate", s), {})
        f.write(s + " " + " ".join(dat(kv.get(k)) for k in ("p50_ms", "p99_ms", "p999_ms")) + "\n")
with open(base + "-rooms.dat", "w") as f:
    f.write("members " + " ".join(servers) + "\n")
    for m in sizes:
        f.write(m + " " + " ".join(dat(r.get((f"room-{m}", s), {}).get("deliveries_per_s")) for s in servers) + "\n")
PY
base=${out%.md}
n=${#servers[@]}
gnuplot <<EOF
set terminal svg size 800,480 dynamic background rgb "white"
set output "$base-latency.svg"
set title "fanout-rate: latency of a delivery at 1,000 messages/s, 100 members (lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "ms"
set key top left autotitle columnheader
set logscale y
plot "$base-latency.dat" using 2:xtic(1), "" using 3, "" using 4
set output "$base-rooms.svg"
set title "fanout-max: deliveries per second against room size (higher is better)"
unset style
set style data linespoints
set logscale x
unset logscale y
set xlabel "members in the room"
set ylabel "deliveries/s"
set key top right autotitle columnhead
plot for [i=2:$((n + 1))] "$base-rooms.dat" using 1:i
EOF
rm -f "$base-latency.dat" "$base-rooms.dat"
echo "plots: $base-latency.svg $base-rooms.svg"
exit "$status"
