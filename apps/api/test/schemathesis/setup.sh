#!/usr/bin/env bash
# Installs Schemathesis (the OpenAPI fuzzer, pinned) into a virtual environment under the Kiln cache, for
# the API's contract test. Idempotent: a finished environment carries a stamp file and is reused; an
# unfinished one is rebuilt. Prints the path of its `st` command.
set -euo pipefail
ST_VERSION=4.32.5
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
venv="$cache/tools/schemathesis-$ST_VERSION"
python="${PYTHON:-python3}"
if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" || {
    echo "setup.sh: '$python -m venv' failed; on Debian: apt-get install -y python3-venv" >&2
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/st"
