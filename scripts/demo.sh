#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs the quickstart against the CODEF emulator
# embedded in the quickstart's own process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release quickstart codef-emulator
build/release/example/quickstart
