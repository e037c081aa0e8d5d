#!/usr/bin/env bash
# Configures and builds one flavour of the project into build/<flavour>.
#   scripts/build.sh release|debug|plain|asan|tsan|fuzz [cmake targets...]
# release: g++, optimised. plain: g++ with no build type given, as the README's plain build
# (RelWithDebInfo). asan: clang 14 with AddressSanitizer and UndefinedBehaviorSanitizer.
# tsan: clang 14 with ThreadSanitizer. fuzz: clang 14, ASan, UBSan and the libFuzzer targets
# (CODEF_BUILD_FUZZERS; scripts/fuzz.sh runs them).
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:?usage: scripts/build.sh release|debug|plain|asan|tsan|fuzz [targets...]}
shift
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
case "$flavour" in
    release) args=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++) ;;
    debug) args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++) ;;
    plain) args=(-DCMAKE_CXX_COMPILER=g++) ;;
    asan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 "-DCODEF_SANITIZE=address,undefined") ;;
    tsan) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 -DCODEF_SANITIZE=thread) ;;
    fuzz) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 "-DCODEF_SANITIZE=address,undefined" -DCODEF_BUILD_FUZZERS=ON) ;;
    *) echo "build.sh: unknown flavour $flavour" >&2; exit 2 ;;
esac

cmake -S . -B "build/$flavour" "${args[@]}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "build/$flavour" -j "$(nproc)" "${targets[@]}"
