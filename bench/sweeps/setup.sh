#!/usr/bin/env bash
# The Optuna side of bench/sweeps: a venv with optuna, cmaes and scipy from PyPI, pinned and cached under
# ${KILN_CACHE:-$HOME/.cache/kiln}/optuna/<versions>/venv. Idempotent; prints the venv's python. Never run in CI.
set -euo pipefail
OPTUNA_VERSION="${KILN_OPTUNA_VERSION:-5.0.0}"
CMAES_VERSION="${KILN_CMAES_VERSION:-0.13.1}"
SCIPY_VERSION="${KILN_SCIPY_VERSION:-1.17.1}"
VENV="${KILN_CACHE:-$HOME/.cache/kiln}/optuna/optuna-${OPTUNA_VERSION}-cmaes-${CMAES_VERSION}-scipy-${SCIPY_VERSION}/venv"
if [[ ! -f "$VENV/.done" ]]; then
  echo "[sweeps/setup] installing optuna==$OPTUNA_VERSION cmaes==$CMAES_VERSION scipy==$SCIPY_VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --no-cache-dir --disable-pip-version-check \
    "optuna==$OPTUNA_VERSION" "cmaes==$CMAES_VERSION" "scipy==$SCIPY_VERSION" >&2
  "$VENV/bin/python" -c "import optuna, cmaes, scipy; print('optuna', optuna.__version__, 'scipy', scipy.__version__)" >&2
  touch "$VENV/.done"
fi
echo "$VENV/bin/python"
