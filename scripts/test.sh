#!/usr/bin/env bash
# Installs what is missing, builds and runs every test.
#   scripts/test.sh          release build: unit tests and a benchmark smoke run
#   scripts/test.sh --asan   the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
preset=release
[ "${1:-}" = "--asan" ] && preset=asan
scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j2
