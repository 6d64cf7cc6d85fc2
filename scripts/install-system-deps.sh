#!/bin/sh
# Installs the Debian packages the full test suite and benchmarks use:
#   postgresql            a system PostgreSQL for the DATABASE_URL mode of the suite
#   golang-go + govmomi   to build vcsim, VMware's vCenter simulator (scripts/vcsim/)
#   chromium              headless browser tests (playwright-core drives /usr/bin/chromium)
#   libreoffice-calc      opens generated XLSX files in tests
# Usage: scripts/install-system-deps.sh [group ...]   (groups: postgres vcsim browser office; default all)
set -eu
groups=${*:-postgres vcsim browser office}
pkgs=""
for g in $groups; do
  case "$g" in
    postgres) ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || pkgs="$pkgs postgresql" ;;
    vcsim) { command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/github.com/vmware/govmomi ]; } || pkgs="$pkgs golang-go golang-github-vmware-govmomi-dev" ;;
    browser) [ -x /usr/bin/chromium ] || pkgs="$pkgs chromium" ;;
    office) command -v soffice >/dev/null 2>&1 || pkgs="$pkgs libreoffice-calc-nogui" ;;
    *) echo "unknown group $g" >&2; exit 2 ;;
  esac
done
if [ -n "$pkgs" ]; then
  echo "installing:$pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi
