#!/usr/bin/env bash
# One tiny run of each benchmark program, so that CI notices when one stops working.
#   benchmarks/smoke.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: benchmarks/smoke.sh BUILD_DIR}
"$build/benchmarks/throughput" --calls 200 --concurrency 8
