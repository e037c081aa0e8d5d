#!/usr/bin/env bash
# Every test: installs what is missing, then builds and runs the whole suite twice, once built
# with g++ and once with clang 14 under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for flavour in release asan; do
    echo "=== $flavour: build"
    scripts/build.sh "$flavour"
    echo "=== $flavour: test"
    ctest --test-dir "build/$flavour" --output-on-failure --timeout 900
done
echo "=== all tests passed"
