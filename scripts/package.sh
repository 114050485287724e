#!/usr/bin/env bash
# Builds the Debian package: target/debian/plansync_VERSION_amd64.deb (the release binary
# with the app inside, the systemd service, the default config), then checks it with
# lintian when lintian is installed. Installs what building needs, skipping what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo deb --version 2>/dev/null | grep -qx 'cargo-deb 3.8.0' || cargo install cargo-deb --version 3.8.0 --locked
bash scripts/build-app.sh
cargo deb --locked -p plansync-server "$@"
deb=$(ls -t target/debian/plansync_*.deb | head -1)
if command -v lintian >/dev/null; then
  # Clean but for the tags the package overrides, each explained in deploy/debian/lintian-overrides.
  lintian --fail-on error,warning "$deb"
fi
echo "package: $deb"
