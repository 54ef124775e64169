#!/usr/bin/env bash
# Installs what is missing, builds the release preset and runs the main job: for now the demo that
# makes a demo PKI, signs the sample packages and verifies them. Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target lienthong
exec build/release/app/lienthong demo "$@"
