#!/usr/bin/env bash
# Installs TensorBoard (the Python package, pinned) into a virtual environment under the Kiln cache, so
# the logger tests can read our event files with TensorBoard's own reader. Idempotent: a finished
# environment carries a stamp file and is reused; an unfinished one is rebuilt. Prints its python.
set -euo pipefail
TB_VERSION=2.20.0
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
venv="$cache/tools/tensorboard-$TB_VERSION"
python="${PYTHON:-python3}"
if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || {
    echo "setup.sh: '$python -m venv' failed; on Debian: apt-get install -y python3-venv" >&2
    exit 1
  }
  # numpy and protobuf come in as TensorBoard's dependencies; setuptools for its pkg_resources import
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "tensorboard==$TB_VERSION" "setuptools<81" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
