#!/usr/bin/env bash
# The README's second command: install what is missing, build the app, and run every check
# and test: formatting, clippy, unit tests, end-to-end tests (server process, JS client,
# samod, SIGKILL, headless chromium), on SQLite and on PostgreSQL clusters the tests start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/build-app.sh
cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# The end-to-end tests start the real binary: build it first (cargo test does not build
# another package's binaries).
cargo build --locked -p plansync-server
log=$(mktemp)
set +e
cargo test --locked --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# No browser may outlive the tests (each test stops its chromedriver's whole process group).
sleep 1
left=$(pgrep -ax chromium | grep -- '--headless' || true)
if [ -n "$left" ]; then
  echo "test: headless Chromium processes were left running after the tests:" >&2
  echo "$left" | head -20 >&2
  pkill -KILL -x chromium || true
  status=1
fi
# Nor may a test's PostgreSQL cluster (each is stopped when its test ends).
left=$(pgrep -af 'postgres.*plansync-pg' || true)
if [ -n "$left" ]; then
  echo "test: PostgreSQL clusters of the tests were left running:" >&2
  echo "$left" | head -20 >&2
  pkill -KILL -f 'postgres.*plansync-pg' || true
  status=1
fi
# Each failure's message again at the end, where a report that keeps only the last lines
# shows it (a backtrace printed with it would otherwise push it out).
awk '/ panicked at /{ n = 8; print "failed: " $0; next } /^stack backtrace:/{ n = 0 } n > 0 { print "  " $0; n-- }' "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
