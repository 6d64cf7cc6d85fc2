#!/usr/bin/env bash
# Builds the govmomi reference capture from Debian's govmomi package with Debian's Go
# (scripts/provision.ts govmomi installs both; bench/vcenter_capture.ts asks for them).
# Usage: bench/govmomi-capture/build.sh OUT_BINARY
set -euo pipefail
out=${1:?usage: build.sh OUT_BINARY}
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/vmware/govmomi ]; then
  echo "govmomi-capture: Go or govmomi is missing: sudo node_modules/.bin/node scripts/provision.ts govmomi" >&2
  exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-/tmp/go-cache} go build -o "$tmp" "$here/main.go"
mv -f "$tmp" "$out"
