#!/usr/bin/env bash
# Builds scripts/vcsim/main.go (govmomi's simulator with a flag-driven inventory) from
# Debian's govmomi package with Debian's Go (scripts/provision.ts govmomi installs both);
# no module proxy is needed or used.
# Usage: scripts/vcsim/build.sh [OUT_BINARY]   (default: <repo>/.tmp/bin/vcsim)
# Prints the binary's path. Skips the build when the binary is newer than the source.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/.tmp/bin/vcsim}
if [ -x "$out" ] && [ "$out" -nt "$here/main.go" ] && [ "$out" -nt "$here/build.sh" ]; then
  echo "$out"
  exit 0
fi
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/vmware/govmomi ]; then
  echo "vcsim: Go or govmomi is missing: sudo node_modules/.bin/node scripts/provision.ts govmomi" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
# Build to a temp name and rename, so a concurrent caller never runs a half-written binary.
tmp="$out.tmp.$$"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-/tmp/go-cache} go build -o "$tmp" "$here/main.go"
mv -f "$tmp" "$out"
echo "$out"
