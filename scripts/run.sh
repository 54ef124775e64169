#!/usr/bin/env bash
# Installs what is missing, builds the release preset and runs the node on its embedded demo
# configuration (SQLite in ./var, demo agencies, demo PKI and tokens, http://127.0.0.1:8080).
# Extra arguments go to `lienthong serve` (e.g. --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target lienthong
exec build/release/app/lienthong serve "$@"
