#!/usr/bin/env bash
# compare.sh: this library against its peers on one CODEF product path, over TLS, against the
# emulator run as its own process on 127.0.0.1 (server and clients pinned to different cores
# where there are two). Release build. The peers: wrk (the ceiling), a libcurl multi-interface
# client in C, the official Node.js client easycodef-node (as it is, and with Nagle's algorithm
# turned off by a preloaded script: easycodef-node-nodelay), and aiohttp (which the official
# async Python client is built on). All get the same path, the same JSON body, the same
# concurrency, the same number of calls and the same CA (the emulator's alone); each is run once
# per round, the rounds interleaved, and the report gives, for each client, the run with the
# median rate (runs that failed left out) and the spread over the rounds.
#
#   benchmarks/compare.sh [options]
#     --calls N              calls per steady run (20000)
#     --concurrency C        calls in flight in steady runs (32)
#     --rounds R             rounds of every scenario and client (5)
#     --scenarios LIST       of throughput,storm,cold,slow,callgrind,sweep (all of them)
#     --clients LIST         of codef,wrk,curl_multi,easycodef-node,easycodef-node-nodelay,
#                            aiohttp (all of them)
#     --storm-calls N        calls per token-storm run (10000)
#     --storm-concurrency C  calls in flight when the tokens are revoked (1000)
#     --storm-after N        revoke once the emulator has seen N calls (2000)
#     --callgrind-calls N    calls of the callgrind run (2000)
#     --callgrind-concurrency C  its calls in flight (8)
#     --sweep-ids N          connectedIds of the sweep scenario (1000000), one call each
#     --slow-sizes LIST      calls in flight (and connections) of the slow scenario (1000,10000)
#     --slow-calls-factor F  calls of a slow run: F x its calls in flight (5)
#     --slow-delay-ms MS     the slow emulator answers every API call after MS ms (1000)
#     --slow-timeout S       limit of one slow run, in seconds (180)
#     --slow-aiohttp-max N   aiohttp's slow runs only up to N calls in flight (1000): at 10,000,
#                            on one core, its TLS handshakes (never resumed) outlast its own 30 s
#                            call timeout, and nearly every call fails
#     --run-timeout S        limit of any other client run, in seconds (600)
#     --jobs N               compile jobs for the build (nproc)
#     --no-build             use the binaries already in build/bench
#     --out DIR              where the report goes (benchmarks/results)
#   Writes DIR/compare.md and compare.png, and every run's raw output under DIR/raw/<time>/.
#   Installs what it needs from Debian's packages and, for
#   easycodef-node, from the npm registry (benchmarks/package.json, package-lock.json).
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
root=$PWD
bench=$root/benchmarks
build_dir=$root/build/bench
out_dir=$bench/results

calls=20000
concurrency=32
rounds=5
all_scenarios=throughput,storm,cold,slow,callgrind,sweep
all_clients=codef,wrk,curl_multi,easycodef-node,easycodef-node-nodelay,aiohttp
scenarios=$all_scenarios
clients=$all_clients
storm_calls=10000
storm_concurrency=1000
storm_after=2000
cg_calls=2000
cg_concurrency=8
sweep_ids=1000000
slow_sizes=1000,10000
slow_factor=5
slow_delay_ms=1000
slow_timeout=180
slow_aiohttp_max=1000
run_timeout=600
jobs=$(nproc)
build=1
path=/v1/kr/bank/b/account/list

usage() { sed -n '/^#   benchmarks\/compare.sh/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
number() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: $1 needs a positive number" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
    opt=$1
    case "$opt" in
        --no-build) build=0; shift; continue ;;
        -h | --help) usage; exit 0 ;;
    esac
    [ $# -ge 2 ] || { echo "compare.sh: $opt needs a value (or is unknown)" >&2; usage >&2; exit 2; }
    case "$opt" in
        --calls) number "$opt" "$2"; calls=$2 ;;
        --concurrency) number "$opt" "$2"; concurrency=$2 ;;
        --rounds) number "$opt" "$2"; rounds=$2 ;;
        --scenarios) scenarios=$2 ;;
        --clients) clients=$2 ;;
        --storm-calls) number "$opt" "$2"; storm_calls=$2 ;;
        --storm-concurrency) number "$opt" "$2"; storm_concurrency=$2 ;;
        --storm-after) number "$opt" "$2"; storm_after=$2 ;;
        --callgrind-calls) number "$opt" "$2"; cg_calls=$2 ;;
        --callgrind-concurrency) number "$opt" "$2"; cg_concurrency=$2 ;;
        --sweep-ids) number "$opt" "$2"; sweep_ids=$2 ;;
        --slow-sizes) slow_sizes=$2 ;;
        --slow-calls-factor) number "$opt" "$2"; slow_factor=$2 ;;
        --slow-delay-ms) number "$opt" "$2"; slow_delay_ms=$2 ;;
        --slow-timeout) number "$opt" "$2"; slow_timeout=$2 ;;
        --slow-aiohttp-max) number "$opt" "$2"; slow_aiohttp_max=$2 ;;
        --run-timeout) number "$opt" "$2"; run_timeout=$2 ;;
        --jobs) number "$opt" "$2"; jobs=$2 ;;
        --out) out_dir=$(cd "$caller_dir" && mkdir -p "$2" && cd "$2" && pwd) ;;
        *) echo "compare.sh: unknown option $opt" >&2; usage >&2; exit 2 ;;
    esac
    shift 2
done
has() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }
for s in ${scenarios//,/ }; do
    has "$all_scenarios" "$s" || { echo "compare.sh: unknown scenario $s" >&2; exit 2; }
done
for c in ${clients//,/ }; do
    has "$all_clients" "$c" || { echo "compare.sh: unknown client $c" >&2; exit 2; }
done
IFS=, read -ra slow_size_list <<<"$slow_sizes"
[ ${#slow_size_list[@]} -gt 0 ] || { echo "compare.sh: --slow-sizes is empty" >&2; exit 2; }
for n in "${slow_size_list[@]}"; do number --slow-sizes "$n"; done
[ "$run_timeout" -ge 30 ] || { echo "compare.sh: --run-timeout must be at least 30" >&2; exit 2; }
[ "$slow_timeout" -ge 30 ] || { echo "compare.sh: --slow-timeout must be at least 30" >&2; exit 2; }
if has "$scenarios" storm && [ $((storm_calls - storm_after)) -lt "$storm_concurrency" ]; then
    echo "compare.sh: --storm-calls must leave at least --storm-concurrency calls after --storm-after" >&2
    exit 2
fi

# ---------------------------------------------------------------------------------------------
# What it needs. A Node.js from elsewhere (NodeSource's, say) brings its own npm, and Debian's
# npm package would conflict with it: so each is asked for only where its command is missing.
deps=(wrk gnuplot-nox python3 python3-aiohttp libcurl4-openssl-dev valgrind time util-linux curl)
node_clients=0
if has "$clients" easycodef-node || has "$clients" easycodef-node-nodelay; then
    node_clients=1
    command -v node >/dev/null || deps+=(nodejs)
    command -v npm >/dev/null || deps+=(npm)
fi
scripts/install-deps.sh "${deps[@]}"
# Debian's python3 has python3-aiohttp; a python3 earlier on PATH (pyenv's) does not.
PY=(timeout 120 /usr/bin/python3)

if [ "$build" = 1 ]; then
    # No -Werror here: a newer compiler's new warning is for CI to report, not a reason to have
    # no figures.
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCODEF_BUILD_TESTS=OFF \
        -DCODEF_WERROR=OFF >/dev/null
    targets=(--target codef-emulator --target throughput --target codef-cli)
    # Kept whole before grep looks: grep -q leaving early would fail the pipe under pipefail.
    target_list=$(cmake --build "$build_dir" --target help)
    if grep -qw curl_multi <<<"$target_list"; then
        targets+=(--target curl_multi)
    fi
    cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
fi
for b in codef-emulator benchmarks/throughput codef; do
    [ -x "$build_dir/$b" ] || { echo "compare.sh: $build_dir/$b is missing" >&2; exit 1; }
done
if has "$clients" curl_multi && [ ! -x "$build_dir/benchmarks/curl_multi" ]; then
    echo "compare.sh: curl_multi was not built (no libcurl headers?): left out" >&2
    clients=$(echo ",$clients," | sed 's/,curl_multi,/,/; s/^,//; s/,$//')
fi

if [ "$node_clients" = 1 ]; then
    want=$(sed -n 's/.*"easycodef-node": *"\([^"]*\)".*/\1/p' "$bench/package.json")
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
        "$bench/node_modules/easycodef-node/package.json" 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        (cd "$bench" && timeout 600 npm ci --no-audit --no-fund)
    fi
fi

# ---------------------------------------------------------------------------------------------
# Processes started here, stopped by their PIDs on the way out. Every client and helper runs
# under timeout, which leads a process group of its own: stopping that group by the timeout's
# PID stops the client too, even when timeout or /usr/bin/time goes first.
pids=()
track() { pids+=("$1"); }
untrack() {
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]+"${keep[@]}"}")
}
running() { # alive and not a zombie
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}
process_group() { # the third field after "pid (comm) " of /proc/PID/stat
    local s f
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    read -ra f <<<"$s"
    echo "${f[2]}"
}
stop() { # stop PID, or the process group it leads when it is a group leader
    local p=$1 target=$1
    [ "$(process_group "$p")" = "$p" ] && target=-$p
    kill -TERM -- "$target" 2>/dev/null || true
    for _ in $(seq 50); do running "$p" || break; sleep 0.1; done
    kill -KILL -- "$target" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
cleanup() {
    local p
    for p in "${pids[@]+"${pids[@]}"}"; do stop "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A thousand calls in flight need a thousand sockets at each end, ten thousand ten thousand: the
# limit is raised here, for the emulator and every client alike (they inherit it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if has "$scenarios" slow; then
    keep=()
    for n in "${slow_size_list[@]}"; do
        if [ "$fd_limit" != unlimited ] && [ $((n + 256)) -gt "$fd_limit" ]; then
            echo "compare.sh: $n calls in flight need more open files than the limit, $fd_limit: left out" >&2
        else
            keep+=("$n")
        fi
    done
    slow_size_list=("${keep[@]+"${keep[@]}"}")
fi

# One CA source for every client: the emulator's CA, given to each, and nothing else. OpenSSL
# (this library, libcurl) would also read the whole bundle that SSL_CERT_FILE names, and Node.js
# the file NODE_EXTRA_CA_CERTS names; neither is wanted. The system's CA directory stays set for
# OpenSSL (looked up by hash only when a chain needs a certificate the store lacks: never here).
unset SSL_CERT_FILE SSL_CERT_DIR NIX_SSL_CERT_FILE NODE_EXTRA_CA_CERTS CURL_CA_BUNDLE

cores=$(nproc)
if [ "$cores" -gt 1 ]; then server_core=1 client_core=0; else server_core=0 client_core=0; fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw=$out_dir/raw/$stamp
mkdir -p "$raw"
runs=$raw/runs.jsonl
ca=$raw/ca.pem

# start_emulator OUT CA SEED_IDS: an emulator pinned on the server core, tracked, in
# emulator_pid once it printed ready (its URLs are in OUT).
start_emulator() {
    local out=$1
    taskset -c "$server_core" "$build_dir/codef-emulator" --address 127.0.0.1 --port 0 \
        --ca-out "$2" --seed-ids "$3" >"$out" 2>&1 &
    emulator_pid=$!
    track "$emulator_pid"
    for _ in $(seq 100); do
        grep -q '^ready' "$out" && break
        running "$emulator_pid" || break
        sleep 0.1
    done
    grep -q '^ready' "$out" || {
        echo "compare.sh: the emulator did not start" >&2; cat "$out" >&2; exit 1; }
}
start_emulator "$raw/emulator.out" "$ca" 100
api_url=$(sed -n 's/^api_url=//p' "$raw/emulator.out")
oauth_url=$(sed -n 's/^oauth_url=//p' "$raw/emulator.out")
public_key=$(sed -n 's/^public_key=//p' "$raw/emulator.out")
emu() { "${PY[@]}" "$bench/lib/emuctl.py" "$api_url" "$ca" "$@"; }

# The one body: found once, given to every client (throughput finds the same one itself).
emu body "$oauth_url" "$raw/body.json" "$raw/body.txt"

server_ticks() { # utime + stime of the whole emulator process
    local s f
    s=$(cat "/proc/$emulator_pid/stat")
    s=${s##*) }
    read -ra f <<<"$s"
    # Fields 14 and 15 of the line, counted after "pid (comm) ".
    echo $((f[11] + f[12]))
}

# client_cmd SCENARIO CLIENT CALLS CONCURRENCY LIMIT: the command line, in cmd. Every client
# holds its token when its timed window starts (wrk is handed one; the others ask for it before
# the window) and makes no API call before it, so that opening its connections is inside the
# window for all; in the cold scenario this library starts with nothing (--no-warmup), and its
# first call asks for the token as the others' token request does.
client_cmd() {
    local scenario=$1 client=$2 n=$3 c=$4 limit=$5 node_pre=()
    case "$client" in
        codef)
            cmd=("$build_dir/benchmarks/throughput" --api-url "$api_url" --oauth-url "$oauth_url"
                --ca-file "$ca" --params-file "$raw/body.json" --path "$path" --calls "$n"
                --concurrency "$c" --json)
            [ "$scenario" != cold ] || cmd+=(--no-warmup) ;;
        wrk)
            # A fresh token each time: a storm run revokes every token issued before it.
            cmd=(wrk -t 1 -c "$c" -d "$((limit - 10))s" --timeout 30s
                -s "$bench/peers/wrk_post.lua" "$api_url$path" -- "$n" "$raw/body.txt"
                "$(emu token "$oauth_url")") ;;
        curl_multi)
            cmd=("$build_dir/benchmarks/curl_multi" --api-url "$api_url" --oauth-url "$oauth_url"
                --ca-file "$ca" --body-file "$raw/body.txt" --path "$path" --calls "$n"
                --concurrency "$c" --timeout "$((limit - 5))") ;;
        easycodef-node | easycodef-node-nodelay)
            [ "$client" = easycodef-node ] || node_pre=(--require "$bench/peers/node_nodelay.js")
            cmd=(node "${node_pre[@]}" "$bench/peers/easycodef_node.js"
                --api-url "$api_url" --oauth-url "$oauth_url" --ca-file "$ca"
                --public-key "$public_key" --params-file "$raw/body.json" --path "$path"
                --calls "$n" --concurrency "$c") ;;
        aiohttp)
            cmd=(/usr/bin/python3 "$bench/peers/aiohttp_client.py" --api-url "$api_url"
                --oauth-url "$oauth_url" --ca-file "$ca" --body-file "$raw/body.txt"
                --path "$path" --calls "$n" --concurrency "$c" --timeout "$((limit - 5))") ;;
    esac
}

# The emulator's peak RSS, per run: its high-water mark is reset before the run (clear_refs 5)
# and read after it. Empty where the kernel does not allow it.
reset_server_peak() { echo 5 >"/proc/$emulator_pid/clear_refs" 2>/dev/null || true; }
server_peak_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$emulator_pid/status" 2>/dev/null || true; }

# run_one SCENARIO CLIENT ROUND CALLS CONCURRENCY
run_one() {
    local scenario=$1 client=$2 round=$3 n=$4 c=$5
    local tag="$scenario-$client-r$round" rc=0 helper="" storm_file="" stats_file="" limit=$run_timeout
    local delay_ms="" server_peak
    if [ "$scenario" = slow ]; then
        tag="$scenario-c$c-$client-r$round" limit=$slow_timeout delay_ms=$slow_delay_ms
        emu faults "{\"reply_delay\": $slow_delay_ms}"
    fi
    client_cmd "$scenario" "$client" "$n" "$c" "$limit"
    [ "$scenario" = cold ] || emu reset
    reset_server_peak
    local k0 t0 t1 k1 pid
    if [ "$scenario" = storm ]; then
        storm_file=$raw/$tag.storm.json
        # Not through emu(): a function run with & is a subshell, and its PID is not timeout's.
        "${PY[@]}" "$bench/lib/emuctl.py" "$api_url" "$ca" storm "$raw/$tag.pid" "$raw/$tag.ready" \
            "$path" "$storm_after" "$storm_concurrency" "$((run_timeout - 5))" "$storm_file" &
        helper=$!
        track "$helper"
        for _ in $(seq 200); do
            [ -e "$raw/$tag.ready" ] && break
            running "$helper" || break
            sleep 0.05
        done
    fi
    k0=$(server_ticks)
    t0=$(date +%s%N)
    timeout -k 5 "$limit" taskset -c "$client_core" \
        /usr/bin/time -f '%e %U %S %M' -o "$raw/$tag.time" "${cmd[@]}" \
        >"$raw/$tag.out" 2>"$raw/$tag.err" &
    pid=$!
    track "$pid"
    echo "$pid" >"$raw/$tag.pid"
    wait "$pid" || rc=$?
    t1=$(date +%s%N)
    k1=$(server_ticks)
    server_peak=$(server_peak_kib)
    untrack "$pid"
    if [ -n "$helper" ]; then
        wait "$helper" || echo "compare.sh: the storm helper failed ($tag)" >&2
        untrack "$helper"
    fi
    if [ "$scenario" != cold ]; then
        stats_file=$raw/$tag.stats.json
        emu stats >"$stats_file"
    fi
    [ "$scenario" != slow ] || emu faults '{"reply_delay": 0}'
    "${PY[@]}" "$bench/lib/results.py" record "$runs" scenario="$scenario" client="$client" \
        round="$round" calls="$n" concurrency="$c" rc="$rc" wall_ns="$((t1 - t0))" \
        server_ticks="$((k1 - k0))" stdout="$raw/$tag.out" time_file="$raw/$tag.time" \
        stats_file="$stats_file" storm_file="$storm_file" delay_ms="$delay_ms" \
        server_peak_kib="$server_peak"
}

# run_callgrind CLIENT CALLS CONCURRENCY: the client process alone under callgrind.
run_callgrind() {
    local client=$1 n=$2 c=$3 rc=0 pid
    local tag="callgrind-$client-n$n"
    client_cmd callgrind "$client" "$n" "$c" "$run_timeout"
    timeout -k 5 "$((run_timeout * 3))" taskset -c "$client_core" \
        valgrind --tool=callgrind --callgrind-out-file="$raw/$tag.callgrind" "${cmd[@]}" \
        >"$raw/$tag.out" 2>"$raw/$tag.err" &
    pid=$!
    track "$pid"
    wait "$pid" || rc=$?
    untrack "$pid"
    "${PY[@]}" "$bench/lib/results.py" record "$runs" scenario=callgrind client="$client" \
        round=1 calls="$n" concurrency="$c" rc="$rc" stdout="$raw/$tag.out" \
        callgrind_file="$raw/$tag.callgrind"
}

IFS=, read -ra client_list <<<"$clients"
# Each round starts with the next client, so that none always runs first (or last).
rotated() {
    local r=$1 n=${#client_list[@]} i
    for ((i = 0; i < n; i++)); do echo "${client_list[$(((i + r) % n))]}"; done
}

for ((round = 1; round <= rounds; round++)); do
    echo "=== round $round of $rounds" >&2
    for scenario in throughput storm cold; do
        has "$scenarios" "$scenario" || continue
        for client in $(rotated "$round"); do
            case "$scenario" in
                throughput) run_one throughput "$client" "$round" "$calls" "$concurrency" ;;
                storm) run_one storm "$client" "$round" "$storm_calls" "$storm_concurrency" ;;
                cold) run_one cold "$client" "$round" 1 1 ;;
            esac
        done
    done
    # The slow CODEF: every API reply after --slow-delay-ms, with as many calls in flight (and
    # connections) as each size says. wrk is left out: it is the ceiling of a busy server, and
    # here the server waits.
    if has "$scenarios" slow; then
        for size in "${slow_size_list[@]+"${slow_size_list[@]}"}"; do
            for client in $(rotated "$round"); do
                [ "$client" != wrk ] || continue
                [ "$client" != aiohttp ] || [ "$size" -le "$slow_aiohttp_max" ] || continue
                run_one slow "$client" "$round" "$((size * slow_factor))" "$size"
            done
        done
    fi
done

# Instructions are counted, not timed: one run each is enough. The programs that valgrind can
# meaningfully count are the native ones.
if has "$scenarios" callgrind; then
    echo "=== callgrind" >&2
    for client in codef curl_multi; do
        has "$clients" "$client" || continue
        run_callgrind "$client" "$cg_calls" "$cg_concurrency"
        run_callgrind "$client" 1 1
    done
fi

# The sweep: the command-line tool over an emulator of its own seeded with --sweep-ids
# connectedIds, one call each (/v1/account/list needs nothing but the connectedId), at the steady
# runs' concurrency, its NDJSON written to disk. Wall time, calls/s and the peak RSS of the whole
# process are what it reports.
if has "$scenarios" sweep; then
    echo "=== sweep of $sweep_ids connectedIds" >&2
    steady_emulator=$emulator_pid
    start_emulator "$raw/sweep-emulator.out" "$raw/sweep-ca.pem" "$sweep_ids"
    sweep_emulator=$emulator_pid
    emulator_pid=$steady_emulator
    sweep_api=$(sed -n 's/^api_url=//p' "$raw/sweep-emulator.out")
    sweep_oauth=$(sed -n 's/^oauth_url=//p' "$raw/sweep-emulator.out")
    tag=sweep-codef
    rc=0
    s0=$(awk '{print $14 + $15}' "/proc/$sweep_emulator/stat")
    t0=$(date +%s%N)
    timeout -k 5 "$run_timeout" taskset -c "$client_core" \
        /usr/bin/time -f '%e %U %S %M' -o "$raw/$tag.time" \
        "$build_dir/codef" --api-url "$sweep_api" --oauth-url "$sweep_oauth" --ca-file "$raw/sweep-ca.pem" \
        --concurrency "$concurrency" --quiet sweep /v1/account/list --out "$raw/sweep.ndjson" \
        >"$raw/$tag.log" 2>"$raw/$tag.err" &
    pid=$!
    track "$pid"
    wait "$pid" || rc=$?
    untrack "$pid"
    t1=$(date +%s%N)
    s1=$(awk '{print $14 + $15}' "/proc/$sweep_emulator/stat")
    lines=$(wc -l <"$raw/sweep.ndjson")
    bytes=$(stat -c %s "$raw/sweep.ndjson")
    failed=$(grep -c '"status":"failed"' "$raw/sweep.ndjson" || true)
    rm -f "$raw/sweep.ndjson" # its size grows with --sweep-ids; the counts are kept
    curl -s --cacert "$raw/sweep-ca.pem" "$sweep_api/_emulator/stats" >"$raw/$tag.stats.json" || true
    echo "{\"lines\": $lines, \"bytes\": $bytes, \"failed\": $failed, \"errors\": $failed}" >"$raw/$tag.out"
    stop "$sweep_emulator"
    untrack "$sweep_emulator"
    "${PY[@]}" "$bench/lib/results.py" record "$runs" scenario=sweep client=codef round=1 \
        calls="$sweep_ids" concurrency="$concurrency" rc="$rc" wall_ns="$((t1 - t0))" \
        server_ticks="$((s1 - s0))" stdout="$raw/$tag.out" time_file="$raw/$tag.time" \
        stats_file="$raw/$tag.stats.json"
fi

# What the report says about where it ran.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit (with local changes)"
versions=(
    "libcurl=$(curl-config --version 2>/dev/null | sed 's/^libcurl //')"
    "wrk=$(wrk -v 2>&1 | sed -n '1s/^wrk \([^ ]*\).*/\1/p')"
    "Node.js=$(node --version 2>/dev/null || echo -)"
    "easycodef-node=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$bench/node_modules/easycodef-node/package.json" 2>/dev/null || echo -)"
    "Python=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')"
    "aiohttp=$(/usr/bin/python3 -c 'import aiohttp; print(aiohttp.__version__)' 2>/dev/null || echo -)"
    "g++=$(g++ -dumpfullversion 2>/dev/null || echo -)"
)
slow_json=$(IFS=,; echo "${slow_size_list[*]+"${slow_size_list[*]}"}")
"${PY[@]}" - "$raw/meta.json" "${versions[@]}" <<EOF
import json, sys
meta = {
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')", "commit": "$commit",
    "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)",
    "cores": $cores, "server_core": $server_core, "client_core": $client_core,
    "emulator_threads": 1, "path": "$path", "body": open("$raw/body.json").read(),
    "calls": $calls, "concurrency": $concurrency, "rounds": $rounds,
    "storm_calls": $storm_calls, "storm_concurrency": $storm_concurrency,
    "storm_after": $storm_after, "sweep_ids": $sweep_ids,
    "slow_sizes": [$slow_json], "slow_factor": $slow_factor,
    "slow_delay_ms": $slow_delay_ms, "slow_aiohttp_max": $slow_aiohttp_max,
    "slow_timeout": $slow_timeout, "fd_limit": "$fd_limit",
    "versions": dict(v.split("=", 1) for v in sys.argv[2:]),
}
json.dump(meta, open(sys.argv[1], "w"))
EOF

"${PY[@]}" "$bench/lib/results.py" report "$runs" "$out_dir" "$raw/meta.json"
cp "$out_dir/compare.md" "$raw/"
[ -f "$out_dir/compare.png" ] && cp "$out_dir/compare.png" "$raw/"
echo >&2
echo "compare.sh: $out_dir/compare.md, $out_dir/compare.png; raw output in $raw" >&2
