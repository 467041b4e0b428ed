# Sourced (not run) by the scripts that build Go programs from the module proxy (deploy/local-cluster/
# build.sh, deploy/helm/build.sh): one Go module and build cache under $KILN_CACHE, shared by every build,
# and a Go toolchain: the `go` on PATH if it is new enough, else the official release zip, which the
# module proxy serves as the module golang.org/toolchain (no other download site needed).
#   KILN_CACHE   cache root (default $HOME/.cache/kiln)
#   GO_VERSION   toolchain fetched when no suitable `go` is on PATH
#   GOMAXPROCS   parallelism of the build (default 2)
# Sets CACHE, PROXY, GOV and the Go environment; defines go_log if the caller has no `log`.
GO_VERSION="${GO_VERSION:-1.26.8}"
GO_MIN="1.26.0"
CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
PROXY="${GOPROXY:-https://proxy.golang.org}"
PROXY="${PROXY%%,*}"

export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOMAXPROCS="${GOMAXPROCS:-2}"
mkdir -p "$GOMODCACHE" "$GOCACHE"

go_ok() { command -v go >/dev/null && [ "$(printf '%s\n%s\n' "go$GO_MIN" "$(go env GOVERSION)" | sort -V | head -1)" = "go$GO_MIN" ]; }
if ! go_ok; then
  tc="$CACHE/go/toolchain/go$GO_VERSION"
  if [ ! -x "$tc/go/bin/go" ]; then
    echo "[go-toolchain] fetching Go $GO_VERSION toolchain from $PROXY" >&2
    mkdir -p "$tc"
    zip="$tc/toolchain.zip"
    curl -fsSL "$PROXY/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip" -o "$zip"
    (cd "$tc" && python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(".")' "$zip")
    # The zip holds golang.org/toolchain@v0.0.1-go<ver>.linux-amd64/{bin,pkg,src}; zipfile drops modes.
    mv "$tc"/golang.org/toolchain@*/ "$tc/go" && rm -rf "$tc/golang.org" "$zip"
    chmod -R u+x "$tc/go/bin" "$tc/go/pkg/tool"
  fi
  export PATH="$tc/go/bin:$PATH"
  export GOROOT="$tc/go"
fi
GOV="$(go env GOVERSION)"
