#!/usr/bin/env bash
# Makes Kiln's `tensorflow` backend work offline: builds @tensorflow/tfjs-node's native addon against
# the TensorFlow C library shipped inside PyPI's tensorflow-cpu wheel (tfjs-node's own install script
# downloads libtensorflow from a Google bucket, which is unreachable here and years old).
#
#   bash scripts/tensorflow/install.sh          # CPU: tensorflow-cpu wheel -> @tensorflow/tfjs-node
#   bash scripts/tensorflow/install.sh --gpu    # CUDA: tensorflow wheel -> @tensorflow/tfjs-node-gpu
#
# Idempotent. Everything built is cached under ${KILN_CACHE:-$HOME/.cache/kiln}/tensorflow/<version>-<variant>
# (wheel, libs, headers, the compiled addon), so a second run only relinks and takes about a second.
# Env: KILN_TF_VERSION (default below), KILN_TF_COPY=1 copies the libraries into the package instead of
# symlinking the cache (for container images that drop the cache), KILN_TF_PROJECT=<dir> installs into
# <dir>/node_modules instead of this checkout's (a user's project that installed Kiln's packed tarballs
# with --ignore-scripts: the addon compiled here is reused, nothing is rebuilt or downloaded).
set -euo pipefail

# 2.18.1: the newest release whose C API still compiles with tfjs-node 4.22's binding unchanged and
# whose cp311 wheel carries the C and eager C API in libtensorflow_cc.so.2 (checked with nm -D).
TF_VERSION="${KILN_TF_VERSION:-2.18.1}"
VARIANT=cpu
[[ "${1:-}" == "--gpu" ]] && VARIANT=gpu

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${KILN_CACHE:-$HOME/.cache/kiln}/tensorflow/${TF_VERSION}-${VARIANT}"
if [[ $VARIANT == gpu ]]; then WHEEL_NAME=tensorflow PKG=tfjs-node-gpu; else WHEEL_NAME=tensorflow-cpu PKG=tfjs-node; fi
PROJECT="$(cd "${KILN_TF_PROJECT:-$ROOT}" && pwd)"
PKG_DIR="$PROJECT/node_modules/@tensorflow/$PKG"
log() { echo "[tensorflow/install] $*" >&2; }
die() { echo "[tensorflow/install] error: $*" >&2; exit 1; }

# One install at a time per cache entry (setup scripts may run concurrently on a shared machine).
mkdir -p "$CACHE" && exec 9>"$CACHE/.lock" && flock 9
if [[ ! -f "$PKG_DIR/package.json" ]]; then
  [[ $VARIANT == cpu ]] && die "$PKG_DIR is missing: run \`npm ci\` first (it is an optional dependency of @kiln/trainer)"
  die "$PKG_DIR is missing: npm install --no-save --ignore-scripts @tensorflow/tfjs-node-gpu@4.22.0"
fi
TFJS_VERSION="$(node -p "require('$PKG_DIR/package.json').version")"
NAPI=8 # tfjs-node 4.22 builds napi-v3..v8; Node >= 20 supports 8

# 1. The wheel (pinned), once.
WHEEL_DIR="$CACHE/wheel"
if ! compgen -G "$WHEEL_DIR/*.whl" >/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || die "pip is needed to fetch the wheel: apt-get install -y python3-pip"
  log "downloading $WHEEL_NAME==$TF_VERSION from PyPI"
  mkdir -p "$WHEEL_DIR"
  # The C libraries are the same for every Python version; pinning one keeps the cache key simple.
  python3 -m pip download "$WHEEL_NAME==$TF_VERSION" --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_17_x86_64 -d "$WHEEL_DIR.tmp" -q
  mv "$WHEEL_DIR.tmp"/*.whl "$WHEEL_DIR/" && rmdir "$WHEEL_DIR.tmp"
fi
WHEEL="$(compgen -G "$WHEEL_DIR/*.whl" | head -1)"

# 2. Shared libraries and headers out of the wheel, laid out the way binding.gyp expects
#    (-ltensorflow -ltensorflow_framework from deps/lib, tensorflow/c/... from deps/include).
LIB="$CACHE/lib" INC="$CACHE/include"
if [[ ! -f "$LIB/.done" ]]; then
  log "extracting libraries and headers from $(basename "$WHEEL")"
  rm -rf "$CACHE/x" "$LIB" "$INC" && mkdir -p "$CACHE/x" "$LIB"
  unzip -q -o "$WHEEL" 'tensorflow/libtensorflow_cc.so.*' 'tensorflow/libtensorflow_framework.so.*' \
    'tensorflow/include/*' -d "$CACHE/x"
  # Which library exports the C API (TF_*) and the eager C API (TFE_*) moved between releases;
  # refuse to link against a wheel where they are not where we look.
  CC_LIB="$(cd "$CACHE/x/tensorflow" && ls libtensorflow_cc.so.? | head -1)"
  FW_LIB="$(cd "$CACHE/x/tensorflow" && ls libtensorflow_framework.so.? | head -1)"
  nm -D --defined-only "$CACHE/x/tensorflow/$CC_LIB" >"$CACHE/x/symbols.txt"
  for sym in TFE_NewContext TFE_Execute TF_Version TF_NewGraph; do
    grep -q " T ${sym}\(@\|$\)" "$CACHE/x/symbols.txt" ||
      die "$CC_LIB in $(basename "$WHEEL") does not export $sym; this TensorFlow version lays out its C API differently"
  done
  mv "$CACHE/x/tensorflow/$CC_LIB" "$CACHE/x/tensorflow/$FW_LIB" "$LIB/"
  # Link-time names; the addon records the sonames (libtensorflow_cc.so.2, libtensorflow_framework.so.2).
  ln -sf "$CC_LIB" "$LIB/libtensorflow.so"
  ln -sf "$FW_LIB" "$LIB/libtensorflow_framework.so"
  mv "$CACHE/x/tensorflow/include" "$INC"
  rm -rf "$CACHE/x"
  touch "$LIB/.done"
fi

# 3. Put them where the package looks: its rpath is $ORIGIN/../../deps/lib.
rm -rf "$PKG_DIR/deps" && mkdir -p "$PKG_DIR/deps"
if [[ "${KILN_TF_COPY:-0}" == 1 ]]; then
  cp -a "$LIB" "$PKG_DIR/deps/lib"
else
  ln -s "$LIB" "$PKG_DIR/deps/lib"
fi
ln -s "$INC" "$PKG_DIR/deps/include"

# 4. The addon, compiled once per (tfjs-node version, napi version, TF version, Kiln's patch), in a
#    build folder of its own so the package's sources stay as npm unpacked them. The patch
#    (tfjs-node-functions.patch) adds registerFunction/removeFunction: a GraphDef registered as a
#    function with the eager context, which compiled training steps execute by name.
PATCH="$ROOT/scripts/tensorflow/tfjs-node-functions.patch"
PATCH_ID="$(sha256sum "$PATCH" | cut -c1-12)"
ADDON_CACHE="$CACHE/addon/$PKG-$TFJS_VERSION-napi-v$NAPI-kiln-$PATCH_ID/tfjs_binding.node"
MODULE_PATH="$PKG_DIR/lib/napi-v$NAPI"
if [[ ! -f "$ADDON_CACHE" ]]; then
  NODE_GYP="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [[ -f "$NODE_GYP" ]] || die "node-gyp not found at $NODE_GYP (it ships with npm)"
  NODEDIR_ARGS=()
  # Node's headers: Debian's nodejs puts them under /usr/include/node; else node-gyp downloads them.
  [[ -f /usr/include/node/node_api.h ]] && NODEDIR_ARGS=(--nodedir=/usr)
  command -v g++ >/dev/null && command -v make >/dev/null || die "a C++ toolchain is needed: apt-get install -y g++ make"
  command -v patch >/dev/null || die "patch is needed: apt-get install -y patch"
  BUILD="$CACHE/addon-build"
  rm -rf "$BUILD" && mkdir -p "$BUILD/deps"
  cp -r "$PKG_DIR/binding" "$PKG_DIR/binding.gyp" "$PKG_DIR/package.json" "$BUILD/"
  ln -s "$LIB" "$BUILD/deps/lib" && ln -s "$INC" "$BUILD/deps/include"
  (cd "$BUILD" && patch -p1 --forward --quiet <"$PATCH") ||
    die "$(basename "$PATCH") does not apply to $PKG $TFJS_VERSION's binding sources"
  log "compiling tfjs_binding.node ($PKG $TFJS_VERSION + $(basename "$PATCH"), napi v$NAPI) against TensorFlow $TF_VERSION"
  (cd "$BUILD" && node "$NODE_GYP" rebuild -j "$(nproc)" "${NODEDIR_ARGS[@]}" \
    --module_name=tfjs_binding --module_path="$BUILD/out" --napi_build_version=$NAPI >&2)
  mkdir -p "$(dirname "$ADDON_CACHE")"
  cp "$BUILD/build/Release/tfjs_binding.node" "$ADDON_CACHE.tmp" && mv "$ADDON_CACHE.tmp" "$ADDON_CACHE"
  rm -rf "$BUILD"
fi
mkdir -p "$MODULE_PATH"
# a new file renamed into place: processes that already loaded the old addon keep their mapping
cp "$ADDON_CACHE" "$MODULE_PATH/tfjs_binding.node.tmp" && mv "$MODULE_PATH/tfjs_binding.node.tmp" "$MODULE_PATH/tfjs_binding.node"

# 5. Prove it loads and computes, without LD_LIBRARY_PATH.
(cd "$PROJECT" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
const tf = require('@tensorflow/$PKG');
const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync();
if (y[0] !== 3) throw new Error('native matMul gave ' + y[0]);
if (typeof tf.backend().binding.registerFunction !== 'function') throw new Error('the addon lacks registerFunction (Kiln patch)');
console.error('[tensorflow/install] ok: backend', tf.getBackend(), 'TensorFlow', tf.backend().binding.TF_Version);
")
