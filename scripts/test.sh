#!/usr/bin/env bash
# Every test: installs what is missing, compiles the READMEs' C++ blocks and checks the reference
# docs (scripts/docs-check.sh); builds and runs the whole suite twice, once built with g++ and once
# with clang 14 under AddressSanitizer and UndefinedBehaviorSanitizer; builds the plain g++
# flavour (no build type) and runs its unit tests; builds four programs that use the installed or
# embedded library as users do; runs the concurrency tests (the fleet's threaded ones among them)
# once more under ThreadSanitizer, each fuzz target for 15 s, each benchmark program once, tiny,
# and the official Node client through two-way authentication against the emulator. The fleet
# tests (codef::fleet) run a PostgreSQL 15 of their own in each ctest run.
set -euo pipefail
cd "$(dirname "$0")/.."
# spdlog: example/spdlog_logging.cpp; postgresql-15: the fleet tests start a server of their own.
scripts/install-deps.sh pkg-config doxygen libspdlog-dev postgresql-15

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/test/tsan.supp"

echo "=== README: every C++ block compiles"
scripts/readme-snippets.sh

echo "=== docs: Doxygen on the public headers, no warning, every public entity documented"
scripts/docs-check.sh

for flavour in release asan; do
    echo "=== $flavour: build"
    scripts/build.sh "$flavour"
    echo "=== $flavour: test"
    ctest --test-dir "build/$flavour" --output-on-failure --timeout 900
done

# The README's plain build: g++ with no build type (RelWithDebInfo), which Release alone would
# not catch (GCC warns differently at -O2 -g).
echo "=== plain (g++, no build type): build and unit tests"
scripts/build.sh plain
ctest --test-dir build/plain -R '^unit$' --output-on-failure --timeout 900

echo "=== consumers: find_package, pkg-config and add_subdirectory, each making one call"
scripts/consumer-test.sh build/release

echo "=== tsan: build"
scripts/build.sh tsan unit_tests concurrency_tests
# The fleet's threaded tests too, when codef::fleet is built (libpq found, as install-deps makes it).
if grep -q '^CODEF_WITH_POSTGRESQL:BOOL=ON' build/tsan/CMakeCache.txt; then
    scripts/build.sh tsan fleet_tests
fi
echo "=== tsan: test (label concurrency)"
ctest --test-dir build/tsan -L concurrency --output-on-failure --timeout 900

echo "=== fuzz: the libFuzzer targets (clang 14, ASan, UBSan), 15 s each from their seed corpora"
scripts/fuzz.sh --seconds 15

echo "=== benchmarks: one tiny run each, so that they cannot rot"
benchmarks/smoke.sh build/release

echo "=== the official Node client, easycodef-node, through two-way authentication on the emulator"
scripts/easycodef-node-two-way.sh build/release
echo "=== all tests passed"
