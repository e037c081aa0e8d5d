#!/usr/bin/env bash
# easycodef-node-two-way.sh: the official Node.js client, easycodef-node (as published, pinned in
# benchmarks/package.json, not one file of it changed), through two-way authentication end to
# end against the emulator program: simple authentication on the health-checkup product and a
# captcha on the insurance product, each challenge, answer and data
# (scripts/easycodef-node-two-way.js says what is checked).
#
#   scripts/easycodef-node-two-way.sh BUILD_DIR
#
# BUILD_DIR holds codef-emulator (its target: cmake --build BUILD_DIR --target codef-emulator).
# The emulator runs on 127.0.0.1 (free ports) with a pair of demo credentials of its own, and is
# stopped by its PID at the end. Exits non-zero unless every step came out as CODEF would answer
# it. Installs node and npm from Debian's packages (scripts/install-deps.sh) when they are missing,
# and easycodef-node with its dependencies from the npm registry into benchmarks/node_modules
# (npm ci, benchmarks/package-lock.json) when it is not there at the pinned version.
set -euo pipefail
if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '/^#   scripts/p' "$0" | sed 's/^# *//' >&2
    exit 2
fi
build_dir=$(cd "$1" 2>/dev/null && pwd) ||
    { echo "easycodef-node-two-way: no directory $1" >&2; exit 2; }
emulator=$build_dir/codef-emulator
[ -x "$emulator" ] || { echo "easycodef-node-two-way: $emulator is missing" >&2; exit 2; }
cd "$(dirname "$0")/.."
root=$PWD
bench=$root/benchmarks

# What it needs. A Node.js from elsewhere brings its own npm, which Debian's npm would conflict
# with: each is asked for only where its command is missing (as benchmarks/compare.sh does).
deps=()
command -v node >/dev/null || deps+=(nodejs)
command -v npm >/dev/null || deps+=(npm)
[ ${#deps[@]} -eq 0 ] || scripts/install-deps.sh "${deps[@]}"
want=$(sed -n 's/.*"easycodef-node": *"\([^"]*\)".*/\1/p' "$bench/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    "$bench/node_modules/easycodef-node/package.json" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    (cd "$bench" && timeout 600 npm ci --no-audit --no-fund)
fi

work=$(mktemp -d)
emulator_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill -TERM "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Node reads no other CA than the one given (NODE_EXTRA_CA_CERTS would add a file of its own).
unset NODE_EXTRA_CA_CERTS

client_id=easycodef-node-two-way-demo
client_secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
"$emulator" --address 127.0.0.1 --port 0 --ca-out "$work/ca.pem" \
    --client-id "$client_id" --client-secret "$client_secret" --environment development \
    >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
for _ in $(seq 300); do
    grep -qx ready "$work/emulator.out" 2>/dev/null && break
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        echo "easycodef-node-two-way: the emulator ended before it was ready:" >&2
        cat "$work/emulator.err" >&2
        exit 1
    fi
    sleep 0.1
done
grep -qx ready "$work/emulator.out" ||
    { echo "easycodef-node-two-way: the emulator was not ready after 30 s" >&2; exit 1; }
field() { sed -n "s/^$1=//p" "$work/emulator.out"; }

status=0
NODE_PATH=$bench/node_modules timeout 120 node "$root/scripts/easycodef-node-two-way.js" \
    --api-url "$(field api_url)" --oauth-url "$(field oauth_url)" --ca-file "$work/ca.pem" \
    --public-key "$(field public_key)" --client-id "$client_id" \
    --client-secret "$client_secret" || status=$?

# Stopped by its PID: SIGTERM, and it exits 0 once its threads have ended.
kill -TERM "$emulator_pid"
emulator_status=0
wait "$emulator_pid" || emulator_status=$?
emulator_pid=
if [ "$emulator_status" -ne 0 ]; then
    echo "easycodef-node-two-way: the emulator exited with status $emulator_status" >&2
    cat "$work/emulator.err" >&2
    [ "$status" -ne 0 ] || status=1
fi
[ "$status" -eq 0 ] || echo "easycodef-node-two-way: failed (status $status)" >&2
exit "$status"
