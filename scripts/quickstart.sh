#!/usr/bin/env bash
# One command from a fresh machine to a training run recorded by the platform and opened in the dashboard:
# installs what the Trainer and the API need (no control plane build), starts the local platform
# (scripts/platform.sh: Postgres, Redis, migrations, API on :8080, dashboard on :3000), then runs
# scripts/quickstart.ts (`kiln fit examples/digits/train.ts` with the platform logger), which ends by
# printing a one-time sign-in link to the run's page. The platform stays up: `bash scripts/platform.sh down`.
# Extra arguments go to `kiln fit` (e.g. --max-epochs 2 --backend cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --trainer
bash scripts/platform.sh up
exec node --conditions=kiln-src --import @swc-node/register/esm-register scripts/quickstart.ts "$@"
