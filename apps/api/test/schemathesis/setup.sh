#!/usr/bin/env bash
# Installs Schemathesis (the OpenAPI fuzzer, pinned) into a virtual environment under the Kiln cache, for
# the API's contract test. Idempotent (scripts/tool-venv.sh). Prints the path of its `st` command.
set -euo pipefail
ST_VERSION=4.32.5
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
venv=$(bash "$root/scripts/tool-venv.sh" "schemathesis-$ST_VERSION" "schemathesis==$ST_VERSION")
echo "$venv/bin/st"
