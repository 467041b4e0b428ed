#!/usr/bin/env bash
# Installs everything Kiln needs on a fresh Debian machine: system packages, npm dependencies, and the
# pieces built from registries (each cached under $KILN_CACHE, keyed by version). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
export DEBIAN_FRONTEND=noninteractive

apt_packages=(build-essential python3 openssl ca-certificates postgresql redis-server)
missing=()
for pkg in "${apt_packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${missing[*]}"
  flock /tmp/kiln-apt.lock sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}"
fi

echo "[setup] npm ci"
npm ci --no-audit --no-fund
