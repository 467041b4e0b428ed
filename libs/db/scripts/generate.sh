#!/usr/bin/env bash
# Generates the Prisma client (libs/db/src/generated, not committed) from prisma/schema.prisma.
# The Prisma CLI insists on a native schema engine binary it would download; `generate` never runs it, so
# any existing file satisfies the check (the prisma-client generator needs no engine at run time).
# Idempotent and offline; takes a few seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
export PRISMA_SCHEMA_ENGINE_BINARY=${PRISMA_SCHEMA_ENGINE_BINARY:-$root/prisma/schema.prisma}
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
exec npx --no-install prisma generate --schema prisma/schema.prisma
