#!/usr/bin/env bash
# Throughput of this library against the emulator run as its own process, the two pinned to
# different cores when there are two. Release build.
#   benchmarks/run-throughput.sh [throughput options, e.g. --calls 20000 --concurrency 32]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh curl util-linux
scripts/build.sh release throughput codef-emulator >/dev/null

cores=$(nproc)
server_cpu=$((cores > 1 ? 1 : 0))
work=$(mktemp -d)
emulator_pid=""
cleanup() { [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

taskset -c "$server_cpu" build/release/codef-emulator --port 0 --ca-out "$work/ca.pem" --seed-ids 100 \
    >"$work/emulator.out" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/emulator.out" && break; sleep 0.1; done
grep -q '^ready' "$work/emulator.out" || { echo "the emulator did not start" >&2; cat "$work/emulator.out" >&2; exit 1; }
api_url=$(sed -n 's/^api_url=//p' "$work/emulator.out")
oauth_url=$(sed -n 's/^oauth_url=//p' "$work/emulator.out")

server_cpu_before=$(awk '{print $14 + $15}' "/proc/$emulator_pid/stat")
taskset -c 0 build/release/benchmarks/throughput --api-url "$api_url" --oauth-url "$oauth_url" \
    --ca-file "$work/ca.pem" "$@"
server_cpu_after=$(awk '{print $14 + $15}' "/proc/$emulator_pid/stat")
ticks=$(getconf CLK_TCK)
echo "  emulator CPU during the run: $(( (server_cpu_after - server_cpu_before) * 100 / ticks / 100 )).$(( (server_cpu_after - server_cpu_before) * 100 / ticks % 100 )) s"
echo "  emulator counters: $(curl -s --cacert "$work/ca.pem" "$api_url/_emulator/stats")"
