#!/usr/bin/env bash
# The PyTorch side of bench/vs-pytorch: a venv with torch and lightning from PyPI, pinned and cached
# under ${KILN_CACHE:-$HOME/.cache/kiln}/pytorch/<versions>/venv. Idempotent; prints the venv's python.
#
# PyPI's only linux x86_64 torch wheel is the CUDA build (torch 2.15.0: a 539 MB wheel that requires the
# CUDA 13 runtime wheels, about 3 GB more); PyTorch's CPU-only wheels live on its own index, which is not
# reachable here. The CUDA build runs on the CPU like the CPU build (same MKL-DNN/oneDNN CPU kernels),
# but `import torch` needs the CUDA libraries present, so they are installed too.
set -euo pipefail
TORCH_VERSION="${KILN_TORCH_VERSION:-2.15.0}"
LIGHTNING_VERSION="${KILN_LIGHTNING_VERSION:-2.6.6}"
VENV="${KILN_CACHE:-$HOME/.cache/kiln}/pytorch/torch-${TORCH_VERSION}-lightning-${LIGHTNING_VERSION}/venv"
if [[ ! -f "$VENV/.done" ]]; then
  echo "[vs-pytorch/setup] installing torch==$TORCH_VERSION lightning==$LIGHTNING_VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --no-cache-dir "torch==$TORCH_VERSION" "lightning==$LIGHTNING_VERSION" numpy >&2
  "$VENV/bin/python" -c "import torch, lightning; print(torch.__version__, lightning.__version__)" >&2
  touch "$VENV/.done"
fi
echo "$VENV/bin/python"
