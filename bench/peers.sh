#!/usr/bin/env bash
# peers.sh - the same workloads, in one run, against causerie and the servers a user would
# otherwise pick; one table with a column per server and causerie's ratio to the best.
#
# Usage: bench/peers.sh BUILD_DIR
# Each server is started on 127.0.0.1 by this script and stopped by its process id:
#   causerie-server  --max-backlog 67108864 (limits meant for hostile clients lifted)
#   redis-server     no persistence, pub/sub output buffer limit off
#   nats-server      defaults; the generator connects with echo off
# ngIRCd is not measured yet (no IRC adapter in causerie-bench). The table goes to stdout
# and to bench/results/peers-DATE.md with the machine and the versions.
set -euo pipefail

build=${1:?usage: bench/peers.sh BUILD_DIR}
bench="$build/causerie-bench"
seconds=${SECONDS_PER_RUN:-5}
idle_members=${IDLE_MEMBERS:-2000}
presets=(fanout-max fanout-rate idle churn)
servers=(causerie redis nats)
results=$(mktemp)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -f "$results"
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
    causerie) "$build/causerie-server" --host 127.0.0.1 --port "$2" --max-backlog 67108864 >"$log" 2>&1 & ;;
    redis) redis-server --bind 127.0.0.1 --port "$2" --save '' --appendonly no \
        --client-output-buffer-limit 'pubsub 0 0 0' >"$log" 2>&1 & ;;
    nats) nats-server -a 127.0.0.1 -p "$2" >"$log" 2>&1 & ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    wait_port "$2"
}

status=0
for s in "${servers[@]}"; do
    port=$(free_port)
    start_server "$s" "$port"
    for p in "${presets[@]}"; do
        args=(--protocol "$s" --preset "$p" --port "$port" --server-pid "$server_pid" --seconds "$seconds")
        case "$p" in
        idle) args+=(--members "$idle_members" --concurrency 512) ;;
        churn) args+=(--concurrency 64) ;;
        esac
        "$bench" "${args[@]}" | tee -a "$results" | grep -E '^(RESULT|FAIL)' || status=1
    done
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
done

mkdir -p bench/results
out="bench/results/peers-$(date +%Y-%m-%d-%H%M%S).md"
/usr/bin/python3 - "$results" "$out" "${servers[@]}" <<'PY'
import re, subprocess, sys, platform
results, out, servers = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {}
for line in open(results):
    if line.startswith("RESULT "):
        kv = dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
        r[(kv["preset"], kv["server"])] = kv
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
         f"Versions: {version(['redis-server','--version'])}; nats-server {version(['nats-server','--version'])}; ngIRCd not measured (no IRC adapter yet).", "",
         "| measure | " + " | ".join(servers) + " | causerie / best peer |",
         "|---|" + "---|" * (len(servers) + 1)]
for preset, key, label, higher in rows:
    vals = [r.get((preset, s), {}).get(key, "—") for s in servers]
    ratio = "—"
    try:
        nums = [float(v) for v in vals]
        peers = nums[1:]
        best = max(peers) if higher else min(peers)
        if higher is not None and best > 0 and nums[0] > 0:
            ratio = f"{nums[0] / best:.2f}x" if higher else f"{best / nums[0]:.2f}x better" if nums[0] <= best else f"{nums[0] / best:.2f}x worse"
    except ValueError:
        pass
    lines.append(f"| {label} | " + " | ".join(vals) + f" | {ratio} |")
lines += ["", "Every run: lost, duplicated and reordered must be 0 (checked by causerie-bench)."]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
print(f"written to {out}")
PY
exit "$status"
