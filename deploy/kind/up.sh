#!/usr/bin/env bash
# Kiln on kind, on a machine with Docker: creates the kind cluster (kind-cluster.yaml), builds the platform
# and trainer images from this checkout, loads them into the cluster's nodes (no registry) and installs
# charts/kiln with the bundled evaluation Postgres and Redis. Idempotent: an existing cluster is reused and
# the release upgraded. NOT RUN in this repository's CI or dev machines (no Docker engine there).
#   bash deploy/kind/up.sh          # create/build/load/install; prints how to reach the API
#   bash deploy/kind/up.sh down     # delete the kind cluster
#   KIND_CLUSTER=kiln  KILN_IMAGE_TAG=dev  HELM=/path/to/helm  (defaults; without HELM, helm on PATH or
#   deploy/helm/build.sh builds one with Go)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
NAME="${KIND_CLUSTER:-kiln}"
TAG="${KILN_IMAGE_TAG:-dev}"
REGISTRY=registry.example/kiln
NAMESPACE=kiln-system
log() { printf '[kind] %s\n' "$*" >&2; }

if [ "${1:-}" = "down" ]; then
  kind delete cluster --name "$NAME"
  exit 0
fi
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { log "$tool is not installed (needs Docker, kind and kubectl)"; exit 1; }
done
docker info >/dev/null 2>&1 || { log "no Docker engine answers (docker info failed)"; exit 1; }
HELM="${HELM:-$(command -v helm || bash "$ROOT/deploy/helm/build.sh" | tail -1)}"

if ! kind get clusters | grep -qx "$NAME"; then
  log "creating kind cluster $NAME"
  kind create cluster --name "$NAME" --config "$ROOT/deploy/kind/kind-cluster.yaml"
fi
kubectl config use-context "kind-$NAME" >/dev/null

# target of deploy/images/platform.Dockerfile -> image name the chart uses (values.yaml: *.image.repository)
images=()
for pair in operator:kiln-operator api:kiln-api worker:kiln-worker dashboard:kiln-web; do
  target="${pair%%:*}" image="$REGISTRY/${pair#*:}:$TAG"
  log "building $image (target $target)"
  docker build -f "$ROOT/deploy/images/platform.Dockerfile" --target "$target" -t "$image" "$ROOT"
  images+=("$image")
done
log "building $REGISTRY/kiln-trainer:$TAG"
docker build -f "$ROOT/deploy/images/trainer.Dockerfile" -t "$REGISTRY/kiln-trainer:$TAG" "$ROOT"
images+=("$REGISTRY/kiln-trainer:$TAG")
log "loading ${#images[@]} images into the nodes"
kind load docker-image --name "$NAME" "${images[@]}"

log "installing charts/kiln into $NAMESPACE"
"$HELM" upgrade --install kiln "$ROOT/charts/kiln" --namespace "$NAMESPACE" --create-namespace --wait --timeout 10m \
  --set image.registry="$REGISTRY" --set image.tag="$TAG" --set image.pullPolicy=Never \
  --set postgres.enabled=true --set redis.enabled=true
kubectl -n "$NAMESPACE" get pods
cat >&2 <<EOT
[kind] Kiln is up. TrainingJobs use the image $REGISTRY/kiln-trainer:$TAG (loaded into the nodes).
  kubectl -n $NAMESPACE port-forward svc/kiln-api 8080 &
  kubectl -n $NAMESPACE get secret kiln -o jsonpath='{.data.admin-token}' | base64 -d
EOT
