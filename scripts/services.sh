#!/usr/bin/env bash
# Starts the services Kiln's tests and dev setup need, on loopback: Postgres (database `kiln`) and Redis,
# and with --cluster the local Kubernetes control plane with its node agent (deploy/local-cluster; tests
# start their own per file, so they do not need it). Idempotent: installs from Debian's packages when
# missing, starts what is not running, prints URLs.
# Usage: scripts/services.sh up|down|status [--cluster]
set -euo pipefail

PG_VERSION=${PG_VERSION:-15}
PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
DATABASE_URL_DEFAULT="postgresql://kiln:kiln@127.0.0.1:${PG_PORT}/kiln"
REDIS_URL_DEFAULT="redis://127.0.0.1:${REDIS_PORT}"

log() { printf '[services] %s\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Serialised: several setup steps may install packages at once.
  flock /tmp/kiln-apt.lock sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}" >/dev/null
}

pg_running() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; }

# Settings for a metrics store (tens of millions of small appended rows), in conf.d so Debian's file stays
# untouched. Durability stays as shipped (fsync, synchronous_commit on): the API acknowledges a batch only
# once it is on disk, and one WAL flush per batch of thousands of points costs nothing measurable.
# shared_buffers takes effect at the next start; the rest on reload.
pg_conf() {
  local dir="/etc/postgresql/${PG_VERSION}/main/conf.d" want
  want=$(cat <<'CONF'
# Written by scripts/services.sh (Kiln): settings for the metric store.
shared_buffers = 1GB            # keeps metric_points' primary key and recent pages in memory
wal_compression = lz4           # smaller full-page images after each checkpoint
max_wal_size = 4GB              # checkpoints far apart under sustained ingest
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
jit = off                       # metric queries are short; compiling them costs more than it saves
CONF
)
  [ "$(cat "$dir/kiln.conf" 2>/dev/null)" = "$want" ] && return 0
  mkdir -p "$dir" && printf '%s\n' "$want" > "$dir/kiln.conf"
  pg_running && pg_ctlcluster "$PG_VERSION" main reload || true
}

postgres_up() {
  apt_install "postgresql-${PG_VERSION}" postgresql-client-common
  pg_conf
  pg_running || pg_ctlcluster "$PG_VERSION" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "postgres did not become ready"; exit 1; }
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='kiln'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE kiln LOGIN SUPERUSER PASSWORD 'kiln'\""
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='kiln'\"" | grep -q 1 ||
    su postgres -c "createdb -O kiln kiln"
}

redis_running() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_up() {
  apt_install redis-server
  # Debian's package may start its own instance through the init system; either way PONG means up.
  redis_running || redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis_running && break; sleep 0.1; done
  redis_running || { log "redis did not become ready"; exit 1; }
}

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
with_cluster=false
[ "${2:-}" = "--cluster" ] && with_cluster=true
cluster() { node "$ROOT/deploy/local-cluster/bin/kiln-cluster.mjs" "$@"; }

status() {
  if pg_running; then echo "postgres: up   DATABASE_URL=${DATABASE_URL_DEFAULT}"; else echo "postgres: down"; fi
  if redis_running; then echo "redis:    up   REDIS_URL=${REDIS_URL_DEFAULT}"; else echo "redis:    down"; fi
}

case "${1:-}" in
  up)
    postgres_up; redis_up
    if $with_cluster; then bash "$ROOT/deploy/local-cluster/build.sh" >/dev/null; cluster up; fi
    status ;;
  down)
    pg_running && pg_ctlcluster "$PG_VERSION" main stop || true
    redis_running && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if $with_cluster; then cluster down; fi
    status ;;
  status) status; if $with_cluster; then cluster status || true; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
