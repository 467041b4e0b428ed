#!/usr/bin/env bash
# Sets up the database layer on a fresh clone: generates the Prisma client (skipped when schema.prisma
# and the Prisma version are unchanged since the last generation) and applies migrations to
# $DATABASE_URL (default: the `kiln` database of scripts/services.sh). Idempotent; offline.
# Usage: bash libs/db/scripts/setup.sh [--no-migrate]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
out=libs/db/src/generated
prisma_version=$(node -p "require('./node_modules/prisma/package.json').version")
key="$prisma_version-$(sha256sum prisma/schema.prisma | cut -c1-16)"
if [ "$(cat "$out/.kiln-stamp" 2>/dev/null || true)" != "$key" ]; then
  bash libs/db/scripts/generate.sh >/dev/null
  echo "$key" > "$out/.kiln-stamp"
  echo "[db] generated the Prisma client ($key)" >&2
else
  echo "[db] Prisma client up to date ($key)" >&2
fi
if [ "${1:-}" != "--no-migrate" ]; then
  node --conditions=kiln-src --import @swc-node/register/esm-register libs/db/scripts/migrate.ts
fi
