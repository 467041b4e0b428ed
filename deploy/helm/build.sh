#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4) from the Go module proxy into a cache keyed by version, with the Go
# toolchain and caches the Kubernetes build uses (deploy/go-toolchain.sh; client-go is shared with it).
# Idempotent: a stamped binary returns at once. Prints the helm binary's path on its last line.
#   HELM_VERSION   default below
#   GOMAXPROCS     build parallelism (default 2; 1 is kinder while another Go build runs)
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
source "$(dirname "$0")/../go-toolchain.sh"

dir="$CACHE/helm/$HELM_VERSION"
stamp="helm $HELM_VERSION $GOV"
if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "[helm build] building helm $HELM_VERSION with $GOV into $dir/bin" >&2
  t0=$SECONDS
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" nice -n 10 go install -p "$GOMAXPROCS" -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  echo "$stamp" >"$dir/stamp"
  echo "[helm build] built in $((SECONDS - t0)) s" >&2
fi
echo "$dir/bin/helm"
