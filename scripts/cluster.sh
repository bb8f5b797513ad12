#!/usr/bin/env bash
# cluster.sh - three NATS servers and three causerie servers on loopback, ready to join.
#
# Usage: scripts/cluster.sh [SERVER_BINARY]   (make run-cluster builds and runs it)
# The engines (nats-server with JetStream, routed together) listen on NATS_PORT,
# NATS_PORT+1, NATS_PORT+2 (default 4222); the causerie servers on PORT, PORT+2, PORT+4
# (default 1234), their web pages on WEB_PORT.. (default 8080), their routes on ROUTE_PORT..
# (default NATS_PORT + 2000, 6222 for 4222). Everything lives in a new
# directory under ${TMPDIR:-/tmp}, removed at the end. Ctrl-C (or SIGTERM) stops the
# causerie servers first, then the engines, each by its pid, and waits for them.
set -eu

server=${1:-build/causerie-server}
nats_port=${NATS_PORT:-4222}
port=${PORT:-1234}
web_port=${WEB_PORT:-8080}
route_port=${ROUTE_PORT:-$((nats_port + 2000))}

command -v nats-server >/dev/null 2>&1 || {
    echo "cluster.sh : nats-server manque : apt-get install nats-server" >&2
    exit 1
}
dir=$(mktemp -d "${TMPDIR:-/tmp}/causerie-cluster.XXXXXX")
engines=()
servers=()

stop() {
    trap - INT TERM EXIT
    echo "cluster.sh : arrêt de la grappe" >&2
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
    for pid in "${engines[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${engines[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

routes=""
for i in 0 1 2; do
    routes="$routes${routes:+,}nats://127.0.0.1:$((route_port + i))"
done
urls=()
for i in 0 1 2; do
    nats-server -a 127.0.0.1 -p $((nats_port + i)) -n "engine$i" -js -sd "$dir/engine$i" \
        --cluster_name causerie --cluster "nats://127.0.0.1:$((route_port + i))" \
        --routes "$routes" >"$dir/engine$i.log" 2>&1 &
    engines+=($!)
    urls+=("nats://127.0.0.1:$((nats_port + i))")
done
# The servers need an engine to answer: each port is waited for (10 s at most).
for i in 0 1 2; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$((nats_port + i))") 2>/dev/null && break
        sleep 0.1
    done
done
# Each server reaches the engines nearest first: its own, then the others.
for i in 0 1 2; do
    list="${urls[$i]},${urls[$(((i + 1) % 3))]},${urls[$(((i + 2) % 3))]}"
    web=$((web_port == 0 ? 0 : web_port + i)) # 0: a free port each (the tests)
    "$server" --host 127.0.0.1 --port $((port + 2 * i)) --web-port "$web" \
        --db "$dir/server$i.db" --cluster "$list" --node "causerie$i" </dev/null &
    servers+=($!)
done
hosts="127.0.0.1:$port,127.0.0.1:$((port + 2)),127.0.0.1:$((port + 4))"
echo "cluster.sh : grappe prête : causerie --host $hosts (Ctrl-C pour arrêter)" >&2
wait -n "${servers[@]}" || true
echo "cluster.sh : un serveur s'est arrêté" >&2
