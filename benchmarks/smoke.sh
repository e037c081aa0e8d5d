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
    source "$(dirname "$0")/lib/emulator.sh"
    work=$(mktemp -d)
    clean_up_on_exit "$work"
    start_emulator "$build" "$work" 10
    # The connectedId list takes no parameters, so no lookup is needed first: the body is {},
    # percent-encoded as CODEF wants it.
    printf '%%7B%%7D' >"$work/body.txt"
    timeout 120 "$build/benchmarks/curl_multi" \
        --api-url "$api_url" --oauth-url "$oauth_url" \
        --ca-file "$work/ca.pem" --body-file "$work/body.txt" --path /v1/account/connectedId-list \
        --calls 200 --concurrency 8 --timeout 100
fi
