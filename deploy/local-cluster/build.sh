#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl) and etcd from source through the Go module proxy, into a cache keyed by version.
# Idempotent: a second run finds the stamped binaries and returns in well under a second.
#
#   KUBE_VERSION   Kubernetes release (default below); staging modules are pinned to v0.<minor>.<patch>
#   ETCD_VERSION   etcd release built from go.etcd.io/etcd/server/v3 (default below)
#   KILN_CACHE     cache root (default $HOME/.cache/kiln); binaries land in $KILN_CACHE/k8s/<v>/bin
#   GO_VERSION     toolchain got from the module proxy if no suitable `go` is on PATH (deploy/go-toolchain.sh)
#
# Prints the bin directory on its last line of stdout, so callers can `bin=$(build.sh | tail -1)`.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
log() { echo "[local-cluster build] $*" >&2; }

# The Go toolchain and the one shared Go module and build cache (a rebuild after a version bump reuses
# unchanged packages; Helm's build shares them too): see deploy/go-toolchain.sh.
source "$(dirname "$0")/../go-toolchain.sh"

build_module() { # <dir> <stamp-text> <go.mod text> <ldflags> <packages...>
  local dir="$1" stamp="$2" gomod="$3" ldflags="$4"
  shift 4
  local bin="$dir/bin"
  if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ]; then
    log "cached: $bin ($stamp)"
    return 0
  fi
  mkdir -p "$dir/src" "$bin"
  printf '%s\n' "$gomod" >"$dir/src/go.mod"
  log "building $* with $GOV into $bin"
  local t0=$SECONDS
  (cd "$dir/src" && nice -n 10 go build -p "$GOMAXPROCS" -trimpath -ldflags="-s -w $ldflags" -o "$bin/" "$@")
  echo "$stamp" >"$dir/stamp"
  log "built in $((SECONDS - t0)) s"
}

# --- Kubernetes: require k8s.io/kubernetes and pin every staging module it replaces locally ---
KDIR="$CACHE/k8s/$KUBE_VERSION"
STAGING_V="v0.${KUBE_VERSION#v1.}"
kmod_file="$KDIR/kubernetes.mod"
if [ ! -s "$kmod_file" ]; then
  mkdir -p "$KDIR"
  curl -fsSL "$PROXY/k8s.io/kubernetes/@v/$KUBE_VERSION.mod" -o "$kmod_file.tmp"
  mv "$kmod_file.tmp" "$kmod_file"
fi
replaces="$(awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r&&/=> \.\/staging/{print "\t" $1 " => " $1 " '"$STAGING_V"'"}' "$kmod_file")"
go_line="$(awk '/^go /{print; exit}' "$kmod_file")"
kgomod="module kiln.dev/k8s-build

$go_line

require k8s.io/kubernetes $KUBE_VERSION

replace (
$replaces
)"
# The version stamp Kubernetes' own build (hack/lib/version.sh) injects, so `kubectl version` and
# clients that check the server version see the real release instead of v0.0.0-master.
minor="${KUBE_VERSION#v1.}"
minor="${minor%%.*}"
kstamp="kubernetes $KUBE_VERSION $GOV versioned"
kversion=""
release_time=""
if [ "$(cat "$KDIR/stamp" 2>/dev/null)" != "$kstamp" ]; then
  release_time="$(curl -fsSL "$PROXY/k8s.io/kubernetes/@v/$KUBE_VERSION.info" | sed -n 's/.*"Time": *"\([^"]*\)".*/\1/p')"
fi
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kversion="$kversion -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kversion="$kversion -X $pkg.gitTreeState=clean -X $pkg.buildDate=${release_time:-unknown}"
done
build_module "$KDIR" "$kstamp" "$kgomod" "$kversion" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl

# --- etcd: Debian's 3.4 is older than this apiserver supports, so build the server the same way ---
EDIR="$CACHE/etcd/$ETCD_VERSION"
egomod="module kiln.dev/etcd-build

go ${GO_MIN%.*}

require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
build_module "$EDIR" "etcd $ETCD_VERSION $GOV" "$egomod" "" go.etcd.io/etcd/server/v3
# go names the binary after the path element before the major-version suffix: "server".
if [ -f "$EDIR/bin/server" ]; then mv -f "$EDIR/bin/server" "$EDIR/bin/etcd"; fi
ln -sf "$EDIR/bin/etcd" "$KDIR/bin/etcd"

# --- Cluster Autoscaler with only the externalgrpc cloud provider (the node agent's local cloud) ---
# The proxy serves one recent CA commit (the 1.33.0 release). Its go.mod replaces modules by local path,
# so it is built from a wrapper module that pins those replacements; the checksum database has no record
# of the commit, so go.sum pins it (hashes checked file by file against the upstream commit).
CA_VERSION="${CA_VERSION:-v0.0.0-20250613073258-1959f5f61f6c}"
CA_APIS_VERSION="v0.0.0-20240830133931-adfbe7e45277"
CDIR="$CACHE/cluster-autoscaler/$CA_VERSION"
cgomod="module kiln.dev/ca-build

go 1.24.0

require k8s.io/autoscaler/cluster-autoscaler $CA_VERSION

replace (
	k8s.io/apiextensions-apiserver => k8s.io/apiextensions-apiserver v0.33.1
	k8s.io/code-generator => k8s.io/code-generator v0.33.1
	k8s.io/cri-api => k8s.io/cri-api v0.33.1
	k8s.io/csi-translation-lib => k8s.io/csi-translation-lib v0.33.1
	k8s.io/kube-scheduler => k8s.io/kube-scheduler v0.33.1
	k8s.io/kubectl => k8s.io/kubectl v0.33.1
	k8s.io/mount-utils => k8s.io/mount-utils v0.33.1
	k8s.io/kms => k8s.io/kms v0.33.1
	k8s.io/cri-client => k8s.io/cri-client v0.33.1
	k8s.io/autoscaler/cluster-autoscaler/apis => k8s.io/autoscaler/cluster-autoscaler/apis $CA_APIS_VERSION
)"
cstamp="cluster-autoscaler $CA_VERSION $GOV externalgrpc"
if [ "$(cat "$CDIR/stamp" 2>/dev/null)" != "$cstamp" ]; then
  mkdir -p "$CDIR/src"
  if [ "$CA_VERSION" = "v0.0.0-20250613073258-1959f5f61f6c" ] && ! grep -qs "$CA_VERSION h1:" "$CDIR/src/go.sum"; then
    printf '%s\n' \
      "k8s.io/autoscaler/cluster-autoscaler $CA_VERSION h1:gGUthCoel/TlD1fh33foTFCs1n75w8sqmpD3qf2zqk4=" \
      "k8s.io/autoscaler/cluster-autoscaler $CA_VERSION/go.mod h1:/1vry++ARaSAifwfBxWxGejNkgroz+/N8HyI0Xo7F8U=" \
      >>"$CDIR/src/go.sum"
  fi
  rm -f "$CDIR/stamp"
fi
build_module "$CDIR" "$cstamp" "$cgomod" "" -tags externalgrpc k8s.io/autoscaler/cluster-autoscaler
# What the local cloud and the operator read from the same modules, by import path: the externalgrpc
# proto with the k8s.io protos it imports (an include tree of links into the module cache) and the
# ProvisioningRequest CRD.
[ -e "$CDIR/proto/externalgrpc.proto" ] && [ -e "$CDIR/crd/provisioningrequests.yaml" ] || (
  cd "$CDIR/src"
  inc="$CDIR/proto"
  mkdir -p "$inc/k8s.io"
  ln -sfn "$(go list -m -f '{{.Dir}}' k8s.io/api)" "$inc/k8s.io/api"
  ln -sfn "$(go list -m -f '{{.Dir}}' k8s.io/apimachinery)" "$inc/k8s.io/apimachinery"
  ca="$(go list -m -f '{{.Dir}}' k8s.io/autoscaler/cluster-autoscaler)"
  ln -sfn "$ca/cloudprovider/externalgrpc/protos/externalgrpc.proto" "$inc/externalgrpc.proto"
  apis="$(go list -m -f '{{.Dir}}' k8s.io/autoscaler/cluster-autoscaler/apis)"
  mkdir -p "$CDIR/crd"
  ln -sfn "$apis/config/crd/autoscaling.x-k8s.io_provisioningrequests.yaml" "$CDIR/crd/provisioningrequests.yaml"
)
ln -sf "$CDIR/bin/cluster-autoscaler" "$KDIR/bin/cluster-autoscaler"

log "ready: $(ls "$KDIR/bin" | tr '\n' ' ')"
echo "$KDIR/bin"
