#!/usr/bin/env bash
# The local platform in one command: Postgres and Redis (scripts/services.sh), migrations, the API, the
# dashboard (production build, rebuilt only when its sources changed) and, with --cluster, the local
# Kubernetes control plane with the CRDs installed, the operator (Lease in kiln-system, which this
# creates) and the sweep worker. The cluster's node agent runs the image registry.example/kiln-trainer
# from this checkout (KILN_IMAGE_MAP), so `kubectl apply -f examples/digits/trainingjob.yaml` trains at
# once. Fixed default ports (override with the variables):
#   API        http://127.0.0.1:8080   KILN_API_PORT
#   dashboard  http://127.0.0.1:3000   KILN_WEB_PORT
#   operator   http://127.0.0.1:8081   KILN_OPERATOR_PORT (health, readiness, Prometheus)
# State (pids, logs, the generated admin token, mode 600) lives in $KILN_PLATFORM_HOME (~/.kiln/platform).
# `up` is idempotent (what runs is left running); `down` stops what `up` started (Postgres and Redis stay:
# `scripts/services.sh down` stops them).
# Usage: scripts/platform.sh up|down|status [--cluster]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HOME_DIR="${KILN_PLATFORM_HOME:-$HOME/.kiln/platform}"
API_PORT="${KILN_API_PORT:-8080}"
WEB_PORT="${KILN_WEB_PORT:-3000}"
OPERATOR_PORT="${KILN_OPERATOR_PORT:-8081}"
API_URL="http://127.0.0.1:${API_PORT}"
WEB_URL="http://127.0.0.1:${WEB_PORT}"
export DATABASE_URL="${DATABASE_URL:-postgresql://kiln:kiln@127.0.0.1:5432/kiln}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export NEXT_TELEMETRY_DISABLED=1
with_cluster=false
[ "${2:-}" = "--cluster" ] && with_cluster=true

log() { printf '[platform] %s\n' "$*" >&2; }
mkdir -p "$HOME_DIR"
chmod 700 "$HOME_DIR"

alive() { [ -f "$HOME_DIR/$1.pid" ] && kill -0 "$(cat "$HOME_DIR/$1.pid")" 2>/dev/null; }

wait_http() { # name url log
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    alive "$1" || { log "$1 exited; its log ($3):"; tail -20 "$3" >&2; exit 1; }
    sleep 0.5
  done
  log "$1 not ready at $2 after 120 s; its log ($3):"; tail -20 "$3" >&2; exit 1
}

start() { # name cwd command...
  local name=$1 cwd=$2; shift 2
  if alive "$name"; then return 0; fi
  ( cd "$cwd" && exec setsid "$@" ) >"$HOME_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$HOME_DIR/$name.pid"
}

stop() { # name
  alive "$1" || { rm -f "$HOME_DIR/$1.pid"; return 0; }
  local pid; pid=$(cat "$HOME_DIR/$1.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$HOME_DIR/$1.pid"
  log "stopped $1"
}

src_node=(node --conditions=kiln-src --import @swc-node/register/esm-register)

install_crds() { # kubeconfig: the CRDs from crds/ (Established), and the operator's Lease namespace
  local bin kubectl
  bin="${KILN_K8S_BIN:-$(bash "$ROOT/deploy/local-cluster/build.sh" 2>/dev/null | tail -1)}"
  kubectl="$bin/kubectl"
  printf 'export KUBECONFIG=%s\nexport PATH="%s:$PATH"\n' "$1" "$bin" >"$HOME_DIR/cluster.env"
  "$kubectl" --kubeconfig="$1" apply --server-side --force-conflicts -f "$ROOT/crds/" >/dev/null
  "$kubectl" --kubeconfig="$1" wait --for=condition=Established --timeout=60s -f "$ROOT/crds/" >/dev/null
  "$kubectl" --kubeconfig="$1" get namespace kiln-system >/dev/null 2>&1 ||
    "$kubectl" --kubeconfig="$1" create namespace kiln-system >/dev/null
}

up() {
  bash "$ROOT/scripts/services.sh" up >/dev/null
  local kubeconfig=none
  if $with_cluster; then
    # read when the cluster starts: a cluster already running keeps the map it started with
    export KILN_IMAGE_MAP="${KILN_IMAGE_MAP:-{\"registry.example/kiln-trainer\": {\"root\": \"$ROOT\", \"workdir\": \"/kiln\"}}}"
    kubeconfig=$(bash "$ROOT/scripts/services.sh" up --cluster | sed -n 's/^export KUBECONFIG=//p' | head -1)
    [ -n "$kubeconfig" ] || { log "the local cluster did not report a kubeconfig"; exit 1; }
    install_crds "$kubeconfig"
  fi
  (cd "$ROOT" && npm run --silent db:setup >/dev/null)
  [ -s "$HOME_DIR/admin-token" ] || (umask 077 && openssl rand -hex 24 >"$HOME_DIR/admin-token")
  node "$ROOT/apps/web/scripts/build.mjs"
  KILN_ADMIN_TOKEN="$(cat "$HOME_DIR/admin-token")" PORT="$API_PORT" KILN_KUBECONFIG="$kubeconfig" \
    start api "$ROOT" "${src_node[@]}" apps/api/src/main.ts
  KILN_API_URL="$API_URL" KILN_WEB_URL="$WEB_URL" \
    start web "$ROOT/apps/web" node "$ROOT/node_modules/next/dist/bin/next" start -p "$WEB_PORT" -H 127.0.0.1
  if $with_cluster; then
    KUBECONFIG="$kubeconfig" start worker "$ROOT" "${src_node[@]}" apps/worker/src/main.ts
    # checkpoints of jobs without a volume go here (the default /kiln/checkpoints is the image's path)
    KUBECONFIG="$kubeconfig" start operator "$ROOT" node apps/operator/bin/kiln-operator.mjs \
      --lease-namespace=kiln-system --health-host=127.0.0.1 --health-port="$OPERATOR_PORT" \
      --tracking-url="$API_URL" --checkpoint-root="$HOME_DIR/checkpoints"
  fi
  wait_http api "$API_URL/readyz" "$HOME_DIR/api.log"
  wait_http web "$WEB_URL/signin" "$HOME_DIR/web.log"
  if $with_cluster; then wait_http operator "http://127.0.0.1:$OPERATOR_PORT/readyz" "$HOME_DIR/operator.log"; fi
  cat >"$HOME_DIR/env" <<ENV
KILN_API_URL=$API_URL
KILN_WEB_URL=$WEB_URL
KILN_ADMIN_TOKEN_FILE=$HOME_DIR/admin-token
ENV
  status
}

status() {
  for n in api web worker operator; do
    if alive "$n"; then echo "$n: up (pid $(cat "$HOME_DIR/$n.pid"), log $HOME_DIR/$n.log)"; else echo "$n: down"; fi
  done
  echo "API        $API_URL  (OpenAPI at $API_URL/api/docs; admin token in $HOME_DIR/admin-token)"
  echo "dashboard  $WEB_URL"
  if alive operator; then
    echo "operator   http://127.0.0.1:$OPERATOR_PORT/readyz"
    echo "cluster    source $HOME_DIR/cluster.env   (kubectl and its config), then:"
    echo "           kubectl apply -f examples/digits/trainingjob.yaml && kubectl get tj -w"
  fi
}

case "${1:-}" in
  up) up ;;
  down)
    stop operator; stop worker; stop web; stop api
    if $with_cluster; then node "$ROOT/deploy/local-cluster/bin/kiln-cluster.mjs" down >/dev/null || true; fi
    status ;;
  status) status ;;
  *) echo "usage: $0 up|down|status [--cluster]" >&2; exit 2 ;;
esac
