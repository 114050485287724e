#!/usr/bin/env bash
# Builds the web app into dist/ with trunk (release, wasm-opt from npm's binaryen 132).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/node_modules/.bin:$PATH"
trunk --skip-version-check build --release --locked
