#!/usr/bin/env bash
# Installs TensorBoard (the Python package, pinned) into a virtual environment under the Kiln cache, so
# the logger tests can read our event files with TensorBoard's own reader. Idempotent
# (scripts/tool-venv.sh). Prints its python.
set -euo pipefail
TB_VERSION=2.20.0
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
# numpy and protobuf come in as TensorBoard's dependencies; setuptools for its pkg_resources import
venv=$(bash "$root/scripts/tool-venv.sh" "tensorboard-$TB_VERSION" "tensorboard==$TB_VERSION" "setuptools<81")
echo "$venv/bin/python"
