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
# (3), and compares them.
set -euo pipefail

smoke=0
if [ "${1:-}" = "--smoke" ]; then
    smoke=1
    shift
fi
build=${1:?usage: bench/run.sh [--smoke] BUILD_DIR [PRESET...]}
shift
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(fanout-max fanout-rate rooms idle churn tls login db)

server="$build/causerie-server"
bench="$build/causerie-bench"
# The limits that exist for hostile clients, lifted for a benchmark that is not one.
server_opts=(--host 127.0.0.1 --port 0 --max-backlog 67108864 --max-clients 0 --max-per-ip 0
    --flood-rate 0 --handshake-timeout 0)
threads=${THREADS:-}
[ -n "$threads" ] && server_opts+=(--threads "$threads")
# No web page here; a server from before the web port (an older build, for before/after
# runs) has no such option and needs none.
if "$server" --help | grep -q -- --no-web; then
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
if "$server" --help | grep -q -- --db; then
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
else
    common=(--seconds "${SECONDS_PER_RUN:-5}")
    idle_members=${IDLE_MEMBERS:-10000}
    members=100
    senders=10
    room_members=1000
    logins=16
    accounts=32
    db_rounds=${DB_ROUNDS:-3}
fi

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
