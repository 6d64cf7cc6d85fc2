#!/bin/sh
# Installs the project's npm dependencies when node_modules is missing or older than the
# lockfile, so `npm start` and `npm test` work on a fresh clone. Runs under the machine's
# npm; the project's own Node (the `node` npm package) is used from then on.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.vmledger-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/node ]; then
  echo "vmledger: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi
