#!/usr/bin/env bash
# Uses codef as its users would, four ways, each building test/cmake_install_test/main.cpp and
# making one call against codef::emulator:
#   (a) find_package(codef) on a `cmake --install` of BUILD_DIR to a temporary prefix,
#   (b) pkg-config (codef-emulator, which requires codef) on the same install,
#   (c) add_subdirectory of this checkout from a parent that sets nothing,
#   (d) add_subdirectory with CODEF_ASIO_SEPARATE_COMPILATION=OFF from a parent that compiles
#       Asio itself.
#   scripts/consumer-test.sh BUILD_DIR      (a configured and built build directory)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:?usage: scripts/consumer-test.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "--- install $build to a temporary prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null

echo "--- (a) find_package"
cmake -S test/cmake_install_test -B "$work/a" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/a" -j "$(nproc)" >/dev/null
"$work/a/app"

echo "--- (b) pkg-config"
libdir=$(find "$work/prefix" -name codef.pc -printf '%h\n' | head -1)
# shellcheck disable=SC2046 # the flags are words
g++ test/cmake_install_test/main.cpp -o "$work/b-app" \
    $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs codef-emulator)
"$work/b-app"

echo "--- (c) add_subdirectory"
cmake -S test/cmake_install_test/subdirectory -B "$work/c" -DCODEF_SOURCE_DIR="$root" >/dev/null
cmake --build "$work/c" -j "$(nproc)" >/dev/null
"$work/c/app"

echo "--- (d) add_subdirectory, the application compiling Asio"
cmake -S test/cmake_install_test/own_asio -B "$work/d" -DCODEF_SOURCE_DIR="$root" >/dev/null
cmake --build "$work/d" -j "$(nproc)" >/dev/null
"$work/d/app"
