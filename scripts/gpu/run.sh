#!/usr/bin/env bash
# The one GPU-machine check for the WebGPU backend, run there in the repo root with .gpu-pack/ carried
# (made here by scripts/gpu/pack.sh). That machine has no Node and reaches nothing: this unpacks Node,
# the packages and the Vulkan loader, prints the adapter, runs the Trainer's WebGPU tests and
# bench/vs-pytorch-gpu. Bounded to about 8 minutes; logs and the bench JSON go to $OUT (or /tmp).
#   run tool: command "bash scripts/gpu/run.sh", carry [".gpu-pack"], timeout_s 540
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
pack="$root/.gpu-pack"
out="${OUT:-/tmp/kiln-gpu-out}"
mkdir -p "$out"
step() { echo; echo "=== $* ($(date -u +%T))"; }
[[ -f "$pack/node.xz" && -f "$pack/node_modules.tar.xz" ]] || { echo "run.sh: $pack is missing: run scripts/gpu/pack.sh here first and carry .gpu-pack" >&2; exit 1; }

step unpack
# python3 (the machine's own, with torch) does the xz: no reliance on xz-utils being installed
mkdir -p /tmp/kiln-node/bin
python3 - "$pack" "$root" <<'PY' || exit 1
import lzma, shutil, sys, tarfile
pack, root = sys.argv[1:]
with lzma.open(f"{pack}/node.xz") as src, open("/tmp/kiln-node/bin/node", "wb") as dst:
    shutil.copyfileobj(src, dst)
with tarfile.open(f"{pack}/node_modules.tar.xz") as t:
    t.extractall(root, filter="data")
PY
chmod +x /tmp/kiln-node/bin/node
export PATH="/tmp/kiln-node/bin:$PATH"
node --version || exit 1
# the Vulkan loader and GL libraries (as the device README says: dpkg -x into /, then ldconfig)
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  for f in "$pack"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
ldconfig -p | grep libvulkan || echo "no libvulkan.so.1 after unpacking the debs"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [[ -z "${VK_DRIVER_FILES:-}" && -f "$icd" ]]; then export VK_DRIVER_FILES="$icd"; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"

loader=(--conditions=kiln-src --import @swc-node/register/esm-register)
step adapter
timeout 60 node "${loader[@]}" scripts/gpu/adapter.ts | tee "$out/adapter.json"
adapter_rc=${PIPESTATUS[0]}

step "trainer tests on webgpu"
if ((adapter_rc == 0)); then
  timeout 120 node "${loader[@]}" --test --test-force-exit libs/trainer/test/backend-webgpu-device.gpu.ts 2>&1 |
    tee "$out/tests.log"
  tests_rc=${PIPESTATUS[0]}
  step "trainer-core on webgpu (KILN_FORCE_BACKEND, as CI runs it on tensorflow; at most 100 s)"
  KILN_FORCE_BACKEND=webgpu timeout 100 node scripts/test.mjs libs/trainer/test/trainer-core >"$out/trainer-core.log" 2>&1
  core_rc=$?
  grep -E '^# (tests|pass|fail)|^not ok|^    not ok' "$out/trainer-core.log"
else
  echo "skipped: no adapter (above)"
  tests_rc=1
  core_rc=1
fi

step "bench/vs-pytorch-gpu"
bench_rc=1
if ((adapter_rc == 0)); then
  timeout 270 node "${loader[@]}" bench/vs-pytorch-gpu/run.ts --budget-s 240 --json "$out/vs-pytorch-gpu.json" 2>&1 |
    tee "$out/bench.log"
  bench_rc=${PIPESTATUS[0]}
fi

step done
echo "adapter rc=$adapter_rc tests rc=$tests_rc trainer-core rc=$core_rc bench rc=$bench_rc"
((adapter_rc == 0 && tests_rc == 0 && core_rc == 0 && bench_rc == 0))
