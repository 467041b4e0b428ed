#!/usr/bin/env bash
# Installs everything Kiln needs on a fresh Debian machine: system packages, npm dependencies, and the
# pieces built from package registries, each cached under $KILN_CACHE keyed by version. Idempotent:
# a second run takes seconds.
#   bash scripts/setup.sh              # everything (CI, development)
#   bash scripts/setup.sh --trainer    # only what `kiln fit` needs (no control plane build)
set -euo pipefail
cd "$(dirname "$0")/.."
export KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
export DEBIAN_FRONTEND=noninteractive
only_trainer=false
[ "${1:-}" = "--trainer" ] && only_trainer=true
t0=$(date +%s)
step() { printf '[setup %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }

# patch: scripts/tensorflow/install.sh applies Kiln's patch to the tfjs-node addon sources before building
apt_packages=(build-essential patch python3 openssl ca-certificates unzip postgresql redis-server)
# Chromium (Debian's) drives the dashboard's browser tests and benchmarks through playwright-core.
$only_trainer || apt_packages+=(chromium fonts-liberation)
missing=()
for pkg in "${apt_packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  flock /tmp/kiln-apt.lock sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}" >/dev/null
fi

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step "native TensorFlow backend (tfjs-node against the tensorflow-cpu wheel)"
bash scripts/tensorflow/install.sh

step "example data sets"
python3 scripts/datasets/fetch.py

step "TensorBoard (its own reader checks our event files in tests)"
bash libs/trainer/test/loggers-tensorboard/setup.sh >/dev/null

step "Prisma client"
bash libs/db/scripts/setup.sh --no-migrate

step "Schemathesis (the API's OpenAPI contract test)"
$only_trainer || bash apps/api/test/schemathesis/setup.sh >/dev/null

if ! $only_trainer; then
  step "dashboard production build (skipped when apps/web's sources are unchanged)"
  nice -n 10 node apps/web/scripts/build.mjs

  step "Kubernetes control plane and etcd from source"
  bash deploy/local-cluster/build.sh >/dev/null

  step "Helm from the Go module proxy, and the chart and image checks (kubernetes-validate, hadolint)"
  bash deploy/helm/build.sh >/dev/null
  bash deploy/helm/tools.sh >/dev/null
fi
step "done"
