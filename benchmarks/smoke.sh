#!/usr/bin/env bash
# One tiny run of each benchmark program, so that CI notices when one stops working.
#   benchmarks/smoke.sh BUILD_DIR
# curl_multi, the libcurl peer of compare.sh, is built only where libcurl's headers are; when it
# was, it runs against an emulator started (and stopped, by its PID) here.
set -euo pipefail
build=${1:?usage: benchmarks/smoke.sh BUILD_DIR}
"$build/benchmarks/throughput" --calls 200 --concurrency 8
# With an observer counting every event (benchmarks/observer-overhead.sh measures its cost).
"$build/benchmarks/throughput" --calls 200 --concurrency 8 --observer
# The cold start's form: parameters given, no warm-up (the connectedId list takes none).
params=$(mktemp)
echo '{}' >"$params"
"$build/benchmarks/throughput" --calls 1 --concurrency 1 --path /v1/account/connectedId-list \
    --params-file "$params" --no-warmup --json
rm -f "$params"

if [ -x "$build/benchmarks/curl_multi" ] && [ -x "$build/codef-emulator" ]; then
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

    "$build/codef-emulator" --address 127.0.0.1 --port 0 --ca-out "$work/ca.pem" --seed-ids 10 \
        >"$work/emulator.out" 2>&1 &
    emulator_pid=$!
    for _ in $(seq 100); do
        grep -q '^ready' "$work/emulator.out" && break
        kill -0 "$emulator_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^ready' "$work/emulator.out" || {
        echo "smoke: the emulator did not start" >&2; cat "$work/emulator.out" >&2; exit 1; }
    # The connectedId list takes no parameters, so no lookup is needed first: the body is {},
    # percent-encoded as CODEF wants it.
    printf '%%7B%%7D' >"$work/body.txt"
    timeout 120 "$build/benchmarks/curl_multi" \
        --api-url "$(sed -n 's/^api_url=//p' "$work/emulator.out")" \
        --oauth-url "$(sed -n 's/^oauth_url=//p' "$work/emulator.out")" \
        --ca-file "$work/ca.pem" --body-file "$work/body.txt" --path /v1/account/connectedId-list \
        --calls 200 --concurrency 8 --timeout 100
fi
