#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Plansync needs, skipping what is
# present. Only package registries are used: crates.io, npm, Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
want_test=${1:-}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "$want_test" = "--test" ]; then
  missing=()
  for p in chromium chromium-driver postgresql nginx poppler-utils python3-aiosmtpd prometheus lintian systemd dpkg-dev; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq && as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
  # The Debian package's test builds it (scripts/package.sh builds the release one).
  cargo deb --version 2>/dev/null | grep -qx 'cargo-deb 3.8.0' || cargo install cargo-deb --version 3.8.0 --locked
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
trunk --version 2>/dev/null | grep -qx 'trunk 0.21.14' || cargo install trunk --version 0.21.14 --locked
wb=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
# No --locked: its lockfile pins a crate version the registry here does not serve.
wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wb" || cargo install wasm-bindgen-cli --version "$wb"
# binaryen 132 from npm; Debian's binaryen 108 breaks wasm-bindgen 0.2.130 output.
[ -x tools/node_modules/.bin/wasm-opt ] || npm install --prefix tools --no-audit --no-fund --save-exact binaryen@132.0.0 >/dev/null
if [ "$want_test" = "--test" ]; then
  # The official JS client (interoperability), axe-core (the accessibility test) and
  # oidc-provider with jose (real OpenID providers for the sign-in tests).
  { [ -d tests/js/node_modules/@automerge/automerge-repo-storage-nodefs ] && [ -f tests/js/node_modules/axe-core/axe.min.js ] \
    && [ -f tests/js/node_modules/oidc-provider/package.json ] && [ -f tests/js/node_modules/jose/package.json ]; } || npm install --prefix tests/js --no-audit --no-fund >/dev/null  # not `npm ci`: npm 11 writes a lockfile its own ci rejects (cbor-extract optionals)
fi
