#!/usr/bin/env bash
# One command from a fresh machine to a training run recorded by the platform: installs what the Trainer
# and the API need (no control plane build), starts Postgres, applies migrations, then runs
# scripts/quickstart.ts (API + `kiln fit examples/digits/train.ts` with the platform logger).
# Extra arguments go to `kiln fit` (e.g. --max-epochs 2 --backend cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --trainer
bash scripts/services.sh up >/dev/null
npm run --silent db:migrate
exec node --conditions=kiln-src --import @swc-node/register/esm-register scripts/quickstart.ts "$@"
