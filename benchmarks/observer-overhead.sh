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
work=$(mktemp -d)
emulator_pid=""
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$emulator_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"${server_cpu[@]}" "$build/codef-emulator" --address 127.0.0.1 --port 0 --ca-out "$work/ca.pem" \
    --seed-ids 100 >"$work/emulator.out" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
    grep -q '^ready' "$work/emulator.out" && break
    kill -0 "$emulator_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q '^ready' "$work/emulator.out" || {
    echo "observer-overhead: the emulator did not start" >&2; cat "$work/emulator.out" >&2; exit 1; }
api_url=$(sed -n 's/^api_url=//p' "$work/emulator.out")
oauth_url=$(sed -n 's/^oauth_url=//p' "$work/emulator.out")

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
