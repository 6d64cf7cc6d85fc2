#!/bin/sh
# Starts Debian's PostgreSQL cluster (installed by install-system-deps.sh) on 127.0.0.1
# and prints a postgres:// URL for it. CI uses it to run the integration suites once
# against a system server as well as the embedded one.
set -eu
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
cluster=$(pg_lsclusters -h | awk -v v="$ver" '$1==v {print $2; exit}')
if [ -z "$cluster" ]; then pg_createcluster "$ver" main >/dev/null; cluster=main; fi
port=$(pg_lsclusters -h | awk -v v="$ver" -v c="$cluster" '$1==v && $2==c {print $3}')
pg_ctlcluster "$ver" "$cluster" start >/dev/null 2>&1 || true
password=vmledger-ci
su postgres -c "psql -q -p $port -c \"alter user postgres password '$password'\"" >/dev/null
echo "postgres://postgres:$password@127.0.0.1:$port/postgres"
