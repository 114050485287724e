#!/usr/bin/env bash
# The README's first command: install what is missing, build the app and the server, and
# start the server with the demo plan on an embedded SQLite file (plansync.db).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-app.sh
cargo build --release --locked -p plansync-server
exec ./target/release/plansync serve --demo --db plansync.db "$@"
