#!/usr/bin/env bash
# Installs what building and testing codef needs, from Debian 12's packages, if it is missing.
# Run as root (or with sudo available). Extra packages may be named as arguments.
set -euo pipefail

packages=(
    cmake make g++ clang-14 libclang-rt-14-dev
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-test1.81-dev
    libssl-dev libcurl4-openssl-dev
    libcli11-dev help2man
    libpq-dev # codef::fleet (CODEF_WITH_POSTGRESQL): built when libpq is found
    "$@"
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
