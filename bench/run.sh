#!/usr/bin/env bash
# run.sh - start a causerie server on loopback, run the bench presets against it, stop it.
#
# Usage: bench/run.sh [--smoke] BUILD_DIR [PRESET...]
# The server is started with --port 0 and stopped by its process id. Per-client limits
# meant for hostile clients are lifted by options, printed with the results. --smoke runs
# every preset for a moment at small sizes: it checks correctness (0 lost, 0 duplicated,
# 0 reordered), never speed. The figures go to standard output (bench-peers.sh keeps its
# own in bench/results/). The tls preset runs the fan-out room twice against the same
# server, in plaintext then in TLS (a self-signed certificate made here with the openssl
# command), and compares deliveries per second and the server's CPU time per delivery.
# The login preset chats as fanout-rate does, then goes on while connections log in to
# accounts it registered first, and compares the chat's latency in both phases. The db
# preset starts two more servers, one with its database in a file and one with
# --db :memory:, runs fanout-max and fanout-rate against each in turn, DB_ROUNDS times
# (3), and compares them. The cluster preset runs fanout-rate's room against a fresh
# server alone (no --cluster), then against 1, 2 and 3 fresh servers sharing one fresh
# nats-server (JetStream, its store in the temporary directory), members spread evenly,
# CLUSTER_ROUNDS times (3), and compares the medians with the server alone. The
# cluster-idle preset puts CLUSTER_IDLE_CLIENTS (6,000) idle clients on CLUSTER_SERVERS (6)
# servers of one cluster, through several generators (each under the descriptor limit),
# sends one message, and reports the time to join everyone, the time for the message to
# reach all, and each server's RSS per connection; each server runs CLUSTER_THREADS loop
# threads, by default the machine's cores divided among the servers (at least one), and
# THREADS, when given, for all. Engines are stopped by pid too.
set -euo pipefail

smoke=0
if [ "${1:-}" = "--smoke" ]; then
    smoke=1
    shift
fi
build=${1:?usage: bench/run.sh [--smoke] BUILD_DIR [PRESET...]}
shift
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(fanout-max fanout-rate rooms idle churn tls login db cluster cluster-idle)

server="$build/causerie-server"
bench="$build/causerie-bench"
for b in "$server" "$bench"; do
    [ -x "$b" ] || { echo "bench: $b is missing (make bench builds it)" >&2; exit 1; }
done
# The limits that exist for hostile clients, lifted for a benchmark that is not one.
server_opts=(--host 127.0.0.1 --port 0 --max-backlog 67108864 --max-clients 0 --max-per-ip 0
    --flood-rate 0 --handshake-timeout 0)
threads=${THREADS:-}
[ -n "$threads" ] && server_opts+=(--threads "$threads")
# No web page here; a server from before the web port (an older build, for before/after
# runs) has no such option and needs none.
# Read whole first: with pipefail, grep -q leaving early can kill the server with SIGPIPE
# and make the test fail at random.
server_help=$("$server" --help)
if grep -q -- --no-web <<<"$server_help"; then
    server_opts+=(--no-web)
fi
tmp=$(mktemp -d)
# Every server started here, stopped on the way out whatever happens.
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
# The database on, in a file of its own, as a deployed server has it; DB=:memory: for none.
# A server from before the database has no such option.
has_db=0
main_opts=()
if grep -q -- --db <<<"$server_help"; then
    has_db=1
    main_opts+=(--db "${DB:-$tmp/server.db}")
fi
case " ${presets[*]} " in
*" tls "*)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    main_opts+=(--tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" --tls-port 0)
    ;;
esac

if [ "$smoke" = 1 ]; then
    common=(--seconds 1 --max-msgs 20000)
    idle_members=500
    members=20
    senders=4
    room_members=100
    logins=2
    accounts=4
    db_rounds=${DB_ROUNDS:-1}
    cluster_rounds=${CLUSTER_ROUNDS:-1}
    cluster_idle_clients=${CLUSTER_IDLE_CLIENTS:-300}
    cluster_servers=${CLUSTER_SERVERS:-2}
else
    common=(--seconds "${SECONDS_PER_RUN:-5}")
    idle_members=${IDLE_MEMBERS:-10000}
    members=100
    senders=10
    room_members=1000
    logins=16
    accounts=32
    db_rounds=${DB_ROUNDS:-3}
    cluster_rounds=${CLUSTER_ROUNDS:-3}
    cluster_idle_clients=${CLUSTER_IDLE_CLIENTS:-6000}
    cluster_servers=${CLUSTER_SERVERS:-6}
fi
# The most connections one cluster-idle generator holds, under the descriptor limit.
gen_max=${CLUSTER_GEN_MAX:-18000}

# Each connection is a descriptor in the generator and one in the server, each process
# under its own limit. Raise the hard limit if we may (root with CAP_SYS_RESOURCE);
# otherwise run the idle preset at the size that fits, and say so.
want_fds=$((idle_members + 1024))
if [ "$(ulimit -Hn)" -lt "$want_fds" ]; then
    ulimit -Hn "$want_fds" 2>/dev/null || true
fi
ulimit -Sn "$(ulimit -Hn)"
if [ "$(ulimit -Hn)" -lt "$want_fds" ]; then
    fit=$(($(ulimit -Hn) - 1024))
    echo "bench: descriptor limit $(ulimit -Hn) (cannot raise it here): idle runs with $fit members, not $idle_members" >&2
    idle_members=$fit
fi
sources=$(((idle_members + 19999) / 20000))

# start_server LOG [OPTION...]: a server with server_opts and OPTIONs, its log in LOG.
# Sets started_pid (also kept in pids), started_port and started_tls_port (empty without
# TLS) once the server has printed its listening line, which it waits for at most 5 s.
start_server() {
    local log=$1
    shift
    "$server" "${server_opts[@]}" "$@" >"$log" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
    started_port=
    for _ in $(seq 100); do
        started_port=$(sed -n 's/.*En écoute sur 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [ -n "$started_port" ] && break
        sleep 0.05 # waiting for the server's own listening line, bounded to 5 s
    done
    [ -n "$started_port" ] || { echo "bench: the server did not start" >&2; cat "$log" >&2; exit 1; }
    started_tls_port=$(sed -n 's/.*Port chiffré (TLS) : 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
}

# stop_server PID: stops a server started above; it must exit cleanly.
stop_server() {
    local keep=() p
    kill "$1"
    wait "$1" || { echo "bench: the server did not exit cleanly" >&2; status=1; }
    for p in "${pids[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    pids=(${keep[@]+"${keep[@]}"})
}

# One figure of a RESULT line: field NAME of the line in $1.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# The fan-out room in plaintext, then in TLS; both results, then how they compare.
run_tls() {
    local plain tls
    plain=$("$bench" --preset fanout-max "$@" --port "$port") || status=1
    echo "$plain"
    tls=$("$bench" --preset tls "$@" --port "$tls_port") || status=1
    echo "$tls"
    local pr tr pc tc
    pr=$(field "$(grep RESULT <<<"$plain")" deliveries_per_s)
    tr=$(field "$(grep RESULT <<<"$tls")" deliveries_per_s)
    pc=$(field "$(grep RESULT <<<"$plain")" server_cpu_us_per_delivery)
    tc=$(field "$(grep RESULT <<<"$tls")" server_cpu_us_per_delivery)
    if [ -n "$pr" ] && [ -n "$tr" ] && [ -n "$pc" ] && [ -n "$tc" ]; then
        awk -v pr="$pr" -v tr="$tr" -v pc="$pc" -v tc="$tc" 'BEGIN {
            printf "COMPARE tls/plain deliveries_per_s=%.0f/%.0f (%.2fx) server_cpu_us_per_delivery=%.3f/%.3f (%.2fx)\n",
                tr, pr, tr / pr, tc, pc, (pc > 0 ? tc / pc : 0) }'
    fi
}

# The chat alone, then during logins: both results, then how its latency compares.
run_login() {
    local out r
    out=$("$bench" --preset login "$@") || status=1
    echo "$out"
    r=$(grep RESULT <<<"$out" || true)
    [ -n "$r" ] || return 0
    awk -v b50="$(field "$r" base_p50_ms)" -v b99="$(field "$r" base_p99_ms)" \
        -v b999="$(field "$r" base_p999_ms)" -v l50="$(field "$r" p50_ms)" \
        -v l99="$(field "$r" p99_ms)" -v l999="$(field "$r" p999_ms)" 'BEGIN {
        printf "COMPARE logins/none p50_ms=%.3f/%.3f (%.2fx) p99_ms=%.3f/%.3f (%.2fx) p999_ms=%.3f/%.3f (%.2fx)\n",
            l50, b50, (b50 > 0 ? l50 / b50 : 0), l99, b99, (b99 > 0 ? l99 / b99 : 0),
            l999, b999, (b999 > 0 ? l999 / b999 : 0) }'
}

# compare PRESET ROUND FIELD...: the database's server against the in-memory one, from
# the figures in $tmp/db.txt ("round preset file|memory field value" lines); ROUND "all"
# compares the means of every round.
compare() {
    local p=$1 r=$2
    shift 2
    awk -v p="$p" -v r="$r" -v fields="$*" '
        $2 == p && (r == "all" || $1 == r) { sum[$3, $4] += $5; n[$3, $4]++ }
        END {
            nf = split(fields, f, " ")
            line = "COMPARE db/memory " p (r == "all" ? " rounds=" n["file", f[1]] : " round=" r)
            for (i = 1; i <= nf; i++) {
                if (!n["file", f[i]] || !n["memory", f[i]]) continue
                a = sum["file", f[i]] / n["file", f[i]]
                b = sum["memory", f[i]] / n["memory", f[i]]
                fmt = f[i] ~ /per_s$/ ? "%.0f" : "%.3f"
                line = line sprintf(" %s=" fmt "/" fmt " (%.2fx)", f[i], a, b, b > 0 ? a / b : 0)
            }
            print line
        }' "$tmp/db.txt"
}

# The database's cost: fanout-max and fanout-rate against two fresh servers, the same but
# for --db (a file, as deployed, or :memory:), each preset against one then the other,
# the order flipped every round so that neither always runs on a warmer machine.
run_db() {
    if [ "$has_db" = 0 ]; then
        echo "preset=db skipped: this server has no --db"
        return 0
    fi
    local file_pid file_port mem_pid mem_port round p which out r f order
    start_server "$tmp/db-file.log" --db "$tmp/compare.db"
    file_pid=$started_pid
    file_port=$started_port
    start_server "$tmp/db-memory.log" --db :memory:
    mem_pid=$started_pid
    mem_port=$started_port
    echo "db: file server pid $file_pid port $file_port (--db $tmp/compare.db), memory server pid $mem_pid port $mem_port (--db :memory:)"
    : >"$tmp/db.txt"
    for round in $(seq "$db_rounds"); do
        for p in fanout-max fanout-rate; do
            order=(file memory)
            [ $((round % 2)) = 0 ] && order=(memory file)
            for which in "${order[@]}"; do
                if [ "$which" = file ]; then
                    out=$("$bench" --preset "$p" --port "$file_port" --server-pid "$file_pid" "$@") || status=1
                else
                    out=$("$bench" --preset "$p" --port "$mem_port" --server-pid "$mem_pid" "$@") || status=1
                fi
                echo "db=$which $out"
                r=$(grep RESULT <<<"$out" || true)
                if [ -n "$r" ]; then
                    for f in deliveries_per_s p50_ms p99_ms p999_ms server_cpu_us_per_delivery; do
                        echo "$round $p $which $f $(field "$r" "$f")" >>"$tmp/db.txt"
                    done
                fi
            done
        done
        compare fanout-max "$round" deliveries_per_s server_cpu_us_per_delivery p99_ms
        compare fanout-rate "$round" p99_ms p50_ms p999_ms server_cpu_us_per_delivery
    done
    compare fanout-max all deliveries_per_s server_cpu_us_per_delivery p99_ms
    compare fanout-rate all p99_ms p50_ms p999_ms server_cpu_us_per_delivery
    grep -h "file d'écriture est pleine" "$tmp/db-file.log" || true # history writes dropped
    stop_server "$file_pid"
    stop_server "$mem_pid"
}

# ---------------------------------------------------------------- the cluster

# A free loopback port for the engine (the kernel's choice, released at once).
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_engine NAME: a nats-server with JetStream on a free port, its store in $tmp/NAME.
# Sets engine_pid (also kept in pids) and engine_url once it accepts, 5 s at most.
start_engine() {
    local p
    p=$(free_port)
    nats-server -js -sd "$tmp/$1" -a 127.0.0.1 -p "$p" >"$tmp/$1.log" 2>&1 &
    engine_pid=$!
    pids+=("$engine_pid")
    engine_url="nats://127.0.0.1:$p"
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then return 0; fi
        sleep 0.05 # waiting for the engine to accept, bounded to 5 s
    done
    echo "bench: the engine did not start" >&2
    cat "$tmp/$1.log" >&2
    exit 1
}

# stop_engine PID: the engine last, once its causerie servers are gone.
stop_engine() {
    local keep=() p
    kill "$1"
    wait "$1" || true # nats-server's exit status on SIGTERM is not ours to judge
    for p in "${pids[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    pids=(${keep[@]+"${keep[@]}"})
}

# start_cluster NAME COUNT [OPTION...]: an engine and COUNT causerie servers with --cluster on
# it, each with its own database and the OPTIONs given. Sets engine_pid, cl_pids and cl_ports.
start_cluster() {
    local name=$1 n=$2 i
    shift 2
    start_engine "$name-engine"
    cl_pids=()
    cl_ports=()
    for i in $(seq "$n"); do
        start_server "$tmp/$name-$i.log" --db "$tmp/$name-$i.db" --cluster "$engine_url" \
            --node "$name-$i" "$@"
        cl_pids+=("$started_pid")
        cl_ports+=("$started_port")
    done
}

# The servers together (each waits for what it published to be acknowledged), then the engine.
# Each must exit cleanly.
stop_cluster() {
    local p keep=() q
    for p in "${cl_pids[@]}"; do
        kill "$p"
    done
    for p in "${cl_pids[@]}"; do
        wait "$p" || { echo "bench: a cluster server did not exit cleanly" >&2; status=1; }
    done
    for q in "${pids[@]}"; do
        [[ " ${cl_pids[*]} " == *" $q "* ]] || keep+=("$q")
    done
    pids=(${keep[@]+"${keep[@]}"})
    stop_engine "$engine_pid"
}

# Joins the words of $@ with commas.
commas() {
    local IFS=,
    echo "$*"
}

# median FILE CONFIG FIELD: the median of FIELD over the rounds of CONFIG, from
# "round config field value" lines.
median() {
    awk -v c="$2" -v f="$3" '$2 == c && $3 == f { v[n++] = $4 }
        END {
            if (!n) { print ""; exit }
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            print (n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2)
        }' "$1"
}

# The hop's cost: fanout-rate's room against a server alone (without --cluster), then
# against 1, 2 and 3 servers sharing one engine, members spread evenly; each on fresh
# processes, CLUSTER_ROUNDS times, the order of the four reversed every other round.
run_cluster() {
    if ! command -v nats-server >/dev/null 2>&1; then
        echo "preset=cluster skipped: no nats-server (apt-get install nats-server)"
        return 0
    fi
    local round config order out r f n solo_pid solo_port
    : >"$tmp/cluster.txt"
    for round in $(seq "$cluster_rounds"); do
        order=(solo 1 2 3)
        [ $((round % 2)) = 0 ] && order=(3 2 1 solo)
        for config in "${order[@]}"; do
            if [ "$config" = solo ]; then
                start_server "$tmp/solo-$round.log" --db "$tmp/solo-$round.db"
                solo_pid=$started_pid
                solo_port=$started_port
                out=$("$bench" --preset fanout-rate --port "$solo_port" --server-pid "$solo_pid" "$@") || status=1
                stop_server "$solo_pid"
            else
                start_cluster "c$round-$config" "$config"
                out=$("$bench" --preset fanout-rate --ports "$(commas "${cl_ports[@]}")" \
                    --server-pid "$(commas "${cl_pids[@]}")" "$@") || status=1
                stop_cluster
            fi
            echo "cluster=$config round=$round $out"
            r=$(grep RESULT <<<"$out" || true)
            [ -n "$r" ] || continue
            for f in deliveries_per_s p50_ms p99_ms p999_ms server_cpu_us_per_delivery; do
                echo "$round $config $f $(field "$r" "$f")" >>"$tmp/cluster.txt"
            done
        done
    done
    local base_d base_50 base_99 d p50 p99 cpu
    base_d=$(median "$tmp/cluster.txt" solo deliveries_per_s)
    base_50=$(median "$tmp/cluster.txt" solo p50_ms)
    base_99=$(median "$tmp/cluster.txt" solo p99_ms)
    for config in solo 1 2 3; do
        d=$(median "$tmp/cluster.txt" "$config" deliveries_per_s)
        p50=$(median "$tmp/cluster.txt" "$config" p50_ms)
        p99=$(median "$tmp/cluster.txt" "$config" p99_ms)
        cpu=$(median "$tmp/cluster.txt" "$config" server_cpu_us_per_delivery)
        if [ -z "$d" ] || [ -z "$base_d" ]; then continue; fi
        n=$([ "$config" = solo ] && echo "1 server, no --cluster" || echo "$config server(s) + engine")
        awk -v c="$config" -v n="$n" -v r="$cluster_rounds" -v d="$d" -v p50="$p50" -v p99="$p99" \
            -v cpu="$cpu" -v bd="$base_d" -v b50="$base_50" -v b99="$base_99" 'BEGIN {
            printf "COMPARE cluster=%s/solo (%s) medians of %d: deliveries_per_s=%.0f (%.2fx) p50_ms=%.3f (%.2fx) p99_ms=%.3f (%.2fx) server_cpu_us_per_delivery=%.3f\n",
                c, n, r, d, (bd > 0 ? d / bd : 0), p50, (b50 > 0 ? p50 / b50 : 0), p99,
                (b99 > 0 ? p99 / b99 : 0), cpu }'
    done
}

# wait_lines WORD COUNT SECONDS: waits until COUNT generator outputs hold a line starting
# with WORD (or one has failed), SECONDS at most; returns 1 if not.
wait_lines() {
    local word=$1 want=$2 tries=$(($3 * 10)) got g
    for _ in $(seq "$tries"); do
        got=0
        for g in $(seq 0 $((want - 1))); do
            grep -q "^$word " "$tmp/gen-$g.out" && got=$((got + 1))
        done
        [ "$got" = "$want" ] && return 0
        grep -q "^FAIL" "$tmp"/gen-*.out && return 1
        sleep 0.1 # polling the generators' output files, bounded by SECONDS
    done
    return 1
}

# rss_kib PID: the process's resident memory now.
rss_kib() { sed -n 's/^VmRSS:\s*\([0-9]*\).*/\1/p' "/proc/$1/status"; }

# clients_on SERVER SERVERS GENERATORS CLIENTS: how many connections go to server
# SERVER (from 0): generator g's m are spread in blocks, connection i to port i*S/m, as
# causerie-bench --ports does.
clients_on() {
    awk -v s="$1" -v S="$2" -v G="$3" -v N="$4" 'BEGIN {
        for (g = 0; g < G; g++) {
            mg = int(N / G) + (g < N % G ? 1 : 0)
            for (i = 0; i < mg; i++) if (int(i * S / mg) == s) n++
        }
        print n + 0 }'
}

# N idle clients on S servers of one cluster, over G generators (each under the descriptor
# limit, each with its own 127.0.0.x addresses); one message from the first generator's
# first member must reach all the others; the servers' memory per connection.
run_cluster_idle() {
    if ! command -v nats-server >/dev/null 2>&1; then
        echo "preset=cluster-idle skipped: no nats-server (apt-get install nats-server)"
        return 0
    fi
    local n=$cluster_idle_clients s=$cluster_servers per_gen=$gen_max
    local g_count=$(((n + per_gen - 1) / per_gen))
    [ "$g_count" -ge 2 ] || g_count=2
    local per_server=$(((n + s - 1) / s)) limit
    limit=$(ulimit -Hn)
    if [ $((per_server + 256)) -gt "$limit" ] || [ $((n / g_count + 256)) -gt "$limit" ]; then
        echo "preset=cluster-idle skipped: $per_server clients per server or $((n / g_count)) per generator do not fit under $limit descriptors a process; raise CLUSTER_SERVERS"
        status=1
        return 0
    fi
    # Servers sharing one machine share its cores: each runs CLUSTER_THREADS loops, by
    # default its share of them (at least one), as one would deploy them, unless THREADS
    # says otherwise for every server of the run.
    local loops=${CLUSTER_THREADS:-$(($(nproc) / s > 0 ? $(nproc) / s : 1))}
    local loop_opts=()
    [ -n "$threads" ] || loop_opts=(--threads "$loops")
    start_cluster cidle "$s" ${loop_opts[@]+"${loop_opts[@]}"}
    local ports gpids=() before=() joined=() rest=() i g m t0 t_join
    ports=$(commas "${cl_ports[@]}")
    for i in $(seq 0 $((s - 1))); do before+=("$(rss_kib "${cl_pids[$i]}")"); done
    echo "cluster-idle: $s servers (pids ${cl_pids[*]}, ports $ports, ${threads:-$loops} loop thread(s) each) on engine $engine_url (pid $engine_pid), $n clients over $g_count generators"
    t0=$(date +%s.%N)
    for g in $(seq 0 $((g_count - 1))); do
        m=$((n / g_count + (g < n % g_count ? 1 : 0)))
        local extra=()
        [ "$g" = 0 ] || extra=(--external-sender)
        # Each generator its own 4 source addresses (28,000 ephemeral ports each) and names.
        "$bench" --preset idle --ports "$ports" --members "$m" --sources 4 \
            --source-first $((1 + 4 * g)) --name-base $((g * 1000000)) --concurrency 256 \
            --go-signal ${extra[@]+"${extra[@]}"} >"$tmp/gen-$g.out" 2>&1 &
        gpids+=($!)
        pids+=($!)
    done
    local ok=1
    wait_lines READY "$g_count" 900 || ok=0
    t_join=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
    for i in $(seq 0 $((s - 1))); do joined+=("$(rss_kib "${cl_pids[$i]}")"); done
    # The receivers' go first, then the sender's; a receiver counts what arrives meanwhile.
    for g in $(seq $((g_count - 1)) -1 0); do kill -USR1 "${gpids[$g]}" 2>/dev/null || true; done
    [ "$ok" = 1 ] && { wait_lines RECEIVED "$g_count" 120 || ok=0; }
    for i in $(seq 0 $((s - 1))); do rest+=("$(rss_kib "${cl_pids[$i]}")"); done
    for g in $(seq 0 $((g_count - 1))); do kill -USR1 "${gpids[$g]}" 2>/dev/null || true; done
    for g in $(seq 0 $((g_count - 1))); do
        wait "${gpids[$g]}" || ok=0
        local keep=() p
        for p in "${pids[@]}"; do [ "$p" = "${gpids[$g]}" ] || keep+=("$p"); done
        pids=(${keep[@]+"${keep[@]}"})
        grep -E "^(RESULT|FAIL)" "$tmp/gen-$g.out" | sed "s/^/generator=$g /"
        grep "^bench:" "$tmp/gen-$g.out" | head -3 >&2 || true
    done
    local on
    for i in $(seq 0 $((s - 1))); do
        on=$(clients_on "$i" "$s" "$g_count" "$n")
        echo "cluster-idle server=$((i + 1)) pid=${cl_pids[$i]} clients=$on rss_before_kib=${before[$i]} rss_joined_kib=${joined[$i]} rss_at_rest_kib=${rest[$i]} bytes_per_conn=$(((rest[i] - before[i]) * 1024 / (on > 0 ? on : 1)))"
    done
    local sb=0 sr=0 sj=0
    for i in $(seq 0 $((s - 1))); do
        sb=$((sb + before[i]))
        sj=$((sj + joined[i]))
        sr=$((sr + rest[i]))
    done
    cat "$tmp"/gen-*.out | awk -v n="$n" -v s="$s" -v gc="$g_count" -v tj="$t_join" -v sb="$sb" \
        -v sj="$sj" -v sr="$sr" -v ok="$ok" '
        /^RESULT/ {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
            joined += f["joined"]; del += f["deliveries"]; lost += f["lost"]
            dup += f["duplicated"]; re += f["reordered"]
            if (f["broadcast_max_latency_s"] > bmax) bmax = f["broadcast_max_latency_s"]
            if (f["join_s"] > jmax) jmax = f["join_s"]
            results++
        }
        END {
            printf "RESULT preset=cluster-idle servers=%d generators=%d clients=%d joined=%d join_s=%.3f slowest_generator_join_s=%.3f broadcast_s=%.3f deliveries=%d lost=%d duplicated=%d reordered=%d rss_before_kib=%d rss_joined_kib=%d rss_at_rest_kib=%d bytes_per_conn=%.0f\n",
                s, gc, n, joined, tj, jmax, bmax, del, lost, dup, re, sb, sj, sr, (sr - sb) * 1024 / n
            if (!ok || results != gc || joined != n || del != n - 1 || lost || dup || re) print "FAIL preset=cluster-idle"
        }' | tee "$tmp/cidle.txt"
    grep -q "^FAIL" "$tmp/cidle.txt" && status=1
    stop_cluster
}

status=0
start_server "$tmp/server.log" ${main_opts[@]+"${main_opts[@]}"}
pid=$started_pid
port=$started_port
tls_port=$started_tls_port
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "server: $server ${server_opts[*]} ${main_opts[*]} (pid $pid, port $port)"
for p in "${presets[@]}"; do
    if [ "$p" = tls ]; then
        run_tls --server-pid "$pid" "${common[@]}" --members "$members" --senders "$senders"
        continue
    elif [ "$p" = login ]; then
        run_login --port "$port" --server-pid "$pid" "${common[@]}" --members "$members" \
            --senders "$senders" --logins "$logins" --accounts "$accounts"
        continue
    elif [ "$p" = db ]; then
        run_db "${common[@]}" --members "$members" --senders "$senders"
        continue
    elif [ "$p" = cluster ]; then
        run_cluster "${common[@]}" --members "$members" --senders "$senders"
        continue
    elif [ "$p" = cluster-idle ]; then
        run_cluster_idle
        continue
    fi
    args=(--preset "$p" --port "$port" --server-pid "$pid" "${common[@]}")
    case "$p" in
    idle) args+=(--members "$idle_members" --sources "$sources" --concurrency 512) ;;
    churn) args+=(--concurrency 64) ;;
    rooms) args+=(--members "$room_members" --room-size 10) ;;
    *) args+=(--members "$members" --senders "$senders") ;;
    esac
    "$bench" "${args[@]}" || status=1
done

stop_server "$pid"
if [ "$smoke" = 1 ]; then
    # The plain closing line of a test run, for whoever reads only the last line.
    if [ "$status" = 0 ]; then echo "bench-smoke: ${#presets[@]} passed, 0 failed"; else echo "bench-smoke: 0 passed, 1 failed"; fi
fi
exit "$status"
