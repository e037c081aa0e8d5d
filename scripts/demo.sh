#!/usr/bin/env bash
# The demo: installs what is missing, builds, runs the quickstart against the CODEF emulator
# embedded in the quickstart's own process, then starts the emulator as a program with 10,000
# seeded connectedIds and sweeps them per organization with the command-line tool; then the
# examples that show what a client tells its operator: its log sent to spdlog, and its metrics
# served for Prometheus (scraped once here).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh curl libspdlog-dev
scripts/build.sh release quickstart spdlog_logging metrics_server codef-cli codef-emulator # and so all that `cmake --install` installs

echo "=== quickstart"
build/release/example/quickstart

echo
echo "=== a per-organization sweep over 10,000 connectedIds"
work=$(mktemp -d)
emulator_pid=""
cleanup() {
    if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
build/release/codef emulator --port 0 --ca-out "$work/ca.pem" --seed-ids 10000 >"$work/emulator.out" 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/emulator.out" && break; sleep 0.1; done
grep -q '^ready' "$work/emulator.out" || { cat "$work/emulator.out" >&2; exit 1; }
api_url=$(sed -n 's/^api_url=//p' "$work/emulator.out")
oauth_url=$(sed -n 's/^oauth_url=//p' "$work/emulator.out")

codef() { build/release/codef --api-url "$api_url" --oauth-url "$oauth_url" --ca-file "$work/ca.pem" "$@"; }
echo "\$ codef --concurrency 32 sweep /v1/kr/bank/p/account/account-list --per-organization --business-type BK --out sweep.ndjson"
codef --concurrency 32 sweep /v1/kr/bank/p/account/account-list --per-organization --business-type BK \
    --out "$work/sweep.ndjson"
echo "$(wc -l <"$work/sweep.ndjson") lines written; the first:"
head -n 1 "$work/sweep.ndjson" | cut -c 1-200
echo "emulator counters: $(curl -s --cacert "$work/ca.pem" "$api_url/_emulator/stats" 2>/dev/null | cut -c 1-200 || true)"

echo
echo "=== the client's log sent to spdlog; injected 503s retried"
build/release/example/spdlog_logging

echo
echo "=== the client's metrics at GET /metrics while calls run, for 2 s"
build/release/example/metrics_server --seconds 2 >"$work/metrics_server.out" 2>&1 &
metrics_pid=$!
for _ in $(seq 100); do grep -q '^metrics at' "$work/metrics_server.out" && break; sleep 0.05; done
metrics_url=$(sed -n 's/^metrics at \(http[^ ]*\) .*/\1/p' "$work/metrics_server.out")
sleep 1
echo "\$ curl -s $metrics_url | grep '^codef_calls_total'"
curl -s "$metrics_url" | grep '^codef_calls_total' || true
wait "$metrics_pid"
cat "$work/metrics_server.out"
