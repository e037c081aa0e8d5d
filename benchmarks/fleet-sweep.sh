#!/usr/bin/env bash
# A distributed sweep (codef sweep --queue, codef::fleet) against a local one: the same connectedIds
# swept by the codef program once into an NDJSON file, then by 1, 2 and 4 worker processes sharing
# a job in PostgreSQL, all at the same concurrency, against one emulator (its own process) and one
# throwaway PostgreSQL 15 on a Unix socket. Prints, for each, the wall time, the connectedIds per
# second, and the CPU per connectedId of the codef processes (user + system, every worker's summed;
# the emulator's and PostgreSQL's are not counted), and its ratio to the local sweep's.
# The emulator answers after DELAY ms on average, so that every process waits on its calls as it
# would at the real CODEF (where a call takes seconds) rather than on the CPU it shares with the
# others on this machine; DELAY 0 measures the machine's ceiling instead. The replies' times are
# scattered (POST /_emulator/faults: reply_delay DELAY/2 and reply_jitter DELAY, each reply waiting
# a time drawn evenly between DELAY/2 and 3 DELAY/2): replies that all took the same time would
# come back in step, many to a wakeup, and flatter whichever process kept its calls in step longest.
#   benchmarks/fleet-sweep.sh BUILD_DIR [IDS (default 50000)] [CONCURRENCY (default 64)] [DELAY (default 20)]
set -euo pipefail
build=${1:?usage: benchmarks/fleet-sweep.sh BUILD_DIR [IDS] [CONCURRENCY] [DELAY_MS]}
ids=${2:-50000}
concurrency=${3:-64}
delay=${4:-20}
[ -x "$build/codef" ] || { echo "fleet-sweep: $build/codef is not built" >&2; exit 2; }
command -v curl >/dev/null || { echo "fleet-sweep: needs curl" >&2; exit 2; }

# One CA source, the emulator's, given by --ca-file: OpenSSL would also parse the whole bundle that
# SSL_CERT_FILE names (set on some machines, not on a fresh Debian) at every process's start, about
# 35 ms of CPU that each added worker would pay once and a single local sweep only once in all.
unset SSL_CERT_FILE NIX_SSL_CERT_FILE

source "$(dirname "$0")/lib/emulator.sh"
source "$(dirname "$0")/lib/postgres.sh"
work=$(mktemp -d)
trap 'stop_emulator; stop_postgres; rm -rf "$work"' EXIT
# With two cores or more, the emulator and PostgreSQL run on core 1 and every codef process on
# core 0: the servers' work then neither takes the codef processes' core nor evicts their caches,
# which on a shared core made their CPU per connectedId vary by a quarter from one run to the next.
client_cpu=() server_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
    client_cpu=(taskset -c 0) server_cpu=(taskset -c 1)
fi
start_emulator "$build" "$work" "$ids" "${server_cpu[@]}"
start_postgres "$work" "${server_cpu[@]}"

codef=("$build/codef" --api-url "$api_url" --oauth-url "$oauth_url" --ca-file "$work/ca.pem"
    --quiet --concurrency "$concurrency")
"${codef[@]}" connected-ids >"$work/ids"
curl -sS --fail --cacert "$work/ca.pem" -H 'Content-Type: application/json' \
    -d "{\"reply_delay\": $((delay / 2)), \"reply_jitter\": $delay}" "$api_url/_emulator/faults" >/dev/null
echo "$ids connectedIds, concurrency $concurrency, replies after $((delay / 2)) to $((delay / 2 + delay)) ms"
[ "$(wc -l <"$work/ids")" -eq "$ids" ] || { echo "fleet-sweep: the listing is short" >&2; exit 1; }
sweep=(sweep /v1/kr/bank/p/account/account-list --params '{"organization":"0004"}'
    --ids-file "$work/ids")

# Runs a command and appends its CPU seconds (user + system of the command) to the file $1.
cpu_of() {
    local out=$1
    shift
    bash -c '"$@" || exit $?; times' _ "$@" | awk 'NR == 2 {
        split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' >>"$out"
}
now() { date +%s.%N; }
sum() { awk '{ t += $1 } END { printf "%.3f", t }' "$1"; }

# CALLGRIND=1: instead, the local sweep and one worker under valgrind's callgrind, which counts the
# instructions each executes in user space: the same every run, whatever else the machine does.
if [ "${CALLGRIND:-0}" = 1 ]; then
    command -v valgrind >/dev/null || { echo "fleet-sweep: CALLGRIND=1 needs valgrind" >&2; exit 2; }
    instructions() {
        valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$@" 2>&1 |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    }
    local_i=$(instructions "${codef[@]}" "${sweep[@]}" --out "$work/local.ndjson")
    worker_i=$(instructions "${codef[@]}" "${sweep[@]}" --queue "$pg_uri" --job callgrind)
    awk -v l="$local_i" -v w="$worker_i" -v n="$ids" 'BEGIN {
        printf "%-16s %24s\n", "run", "instructions/connectedId"
        printf "%-16s %24.0f\n", "local NDJSON", l / n
        printf "%-16s %24.0f  %+.1f%%\n", "1 worker", w / n, (w / l - 1) * 100 }'
    exit 0
fi

# ROUNDS rounds (default 3), each: the local sweep, then 1, 2 and 4 workers; the medians are
# printed (a shared 2-core machine is noisy from one run to the next).
rounds=${ROUNDS:-3}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for ((round = 1; round <= rounds; round++)); do
    start=$(now)
    rm -f "$work/local.ndjson"
    cpu_of "$work/cpu.local.$round" "${client_cpu[@]}" "${codef[@]}" "${sweep[@]}" --out "$work/local.ndjson"
    awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }' >>"$work/wall.local"
    sum "$work/cpu.local.$round" >>"$work/total.local"
    echo >>"$work/total.local"
    for workers in 1 2 4; do
        job="r${round}w$workers"
        start=$(now)
        pids=()
        for ((i = 0; i < workers; i++)); do
            cpu_of "$work/cpu.$job" "${client_cpu[@]}" "${codef[@]}" "${sweep[@]}" --queue "$pg_uri" --job "$job" &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p"; done
        awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }' >>"$work/wall.$workers"
        done_ids=$("${codef[@]}" job status --queue "$pg_uri" --job "$job" --compact |
            sed -n 's/.*"done":\([0-9]*\).*/\1/p')
        [ "$done_ids" = "$ids" ] || { echo "fleet-sweep: job $job recorded $done_ids of $ids" >&2; exit 1; }
        sum "$work/cpu.$job" >>"$work/total.$workers"
        echo >>"$work/total.$workers"
    done
    echo "round $round of $rounds done" >&2
done

printf '%-16s %9s %14s %18s %9s %16s\n' "run (median)" "wall s" "connectedIds/s" "CPU µs/connectedId" \
    "vs local" "CPU µs min-max"
per_id() { awk -v c="$1" -v n="$ids" 'BEGIN { printf "%.1f", c * 1e6 / n }'; }
report() { # name wall cpu_seconds_file (a round's total a line)
    local per range
    per=$(per_id "$(grep . "$3" | median)")
    range="$(per_id "$(grep . "$3" | sort -g | head -1)")-$(per_id "$(grep . "$3" | sort -g | tail -1)")"
    [ -n "${local_per:-}" ] || local_per=$per
    printf '%-16s %9.2f %14.0f %18s %+8.1f%% %16s\n' "$1" "$2" \
        "$(awk -v w="$2" -v n="$ids" 'BEGIN { print n / w }')" "$per" \
        "$(awk -v p="$per" -v l="$local_per" 'BEGIN { print (p / l - 1) * 100 }')" "$range"
}
report "local NDJSON" "$(median <"$work/wall.local")" "$work/total.local"
for workers in 1 2 4; do
    report "$workers worker(s)" "$(median <"$work/wall.$workers")" "$work/total.$workers"
done
