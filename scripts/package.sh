#!/usr/bin/env bash
# Builds the Debian package: target/debian/plansync_VERSION_amd64.deb (the release binary
# with the app inside, the systemd service, the default config), then checks it with
# lintian. Installs what building needs, skipping what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
bash scripts/setup.sh
# dpkg-shlibdeps (dpkg-dev) works out the package's dependencies; lintian checks it.
missing=()
for p in dpkg-dev lintian; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq && as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo deb --version 2>/dev/null | grep -qx 'cargo-deb 3.8.0' || cargo install cargo-deb --version 3.8.0 --locked
bash scripts/build-app.sh
cargo deb --locked -p plansync-server "$@"
deb=$(ls -t target/debian/plansync_*.deb | head -1)
# Clean but for the tags the package overrides, each explained in deploy/debian/lintian-overrides.
lintian --fail-on error,warning "$deb"
echo "package: $deb"
