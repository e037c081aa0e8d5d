#!/usr/bin/env bash
# What an observer costs a call: benchmarks/throughput with and without --observer (an observer
# counting every event with relaxed atomics), three runs of each, alternating, against an emulator
# run as its own process (pinned to another core when there are two). Prints the median CPU
# microseconds per call of each (the client's process only) and the overhead in percent.
#   benchmarks/observer-overhead.sh BUILD_DIR [throughput options, default --calls 20000 --concurrency 64]
set -euo pipefail
build=${1:?usage: benchmarks/observer-overhead.sh BUILD_DIR [throughput options]}
shift
[ $# -gt 0 ] || set -- --calls 20000 --concurrency 64
for program in "$build/benchmarks/throughput" "$build/codef-emulator"; do
    [ -x "$program" ] || { echo "observer-overhead: $program is not built" >&2; exit 2; }
done

client_cpu=() server_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
    client_cpu=(taskset -c 0) server_cpu=(taskset -c 1)
fi
source "$(dirname "$0")/lib/emulator.sh"
work=$(mktemp -d)
clean_up_on_exit "$work"
start_emulator "$build" "$work" 100 "${server_cpu[@]}"

# One run: the CPU microseconds per call it took (a failed run ends the script).
run() {
    local line
    line=$("${client_cpu[@]}" "$build/benchmarks/throughput" --api-url "$api_url" \
        --oauth-url "$oauth_url" --ca-file "$work/ca.pem" --json "$@")
    local us errors
    us=$(sed -n 's/.*"cpu_us_per_call":\([-+0-9.eE]*\).*/\1/p' <<<"$line")
    errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$line")
    [ -n "$us" ] && [ "$errors" = 0 ] || {
        echo "observer-overhead: a run failed: $line" >&2; exit 1; }
    awk -v x="$us" 'BEGIN { printf "%.2f\n", x }'
}

median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

without=() with=()
for i in 1 2 3; do
    x=$(run "$@")
    without+=("$x")
    x=$(run "$@" --observer)
    with+=("$x")
    echo "run $i: without ${without[-1]} us/call, with --observer ${with[-1]} us/call"
done
base=$(median "${without[@]}")
observed=$(median "${with[@]}")
echo "throughput $*, emulator in its own process"
echo "median CPU per call: without an observer $base us, with --observer $observed us"
awk -v a="$base" -v b="$observed" 'BEGIN { printf "observer overhead: %+.1f%% CPU per call\n", (b - a) * 100 / a }'
