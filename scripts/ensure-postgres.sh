#!/usr/bin/env bash
# CI: make sure PostgreSQL answers on 127.0.0.1:5432 and lets user postgres in without a password,
# for the database tests (test/support/databases.ts). Idempotent: does nothing when it already does.
# Starts an installed but stopped cluster, installs PostgreSQL when it is missing (Debian/Ubuntu),
# and only as a last resort adds a trust rule for 127.0.0.1 to pg_hba.conf.
# CCAT_TEST_POSTGRES_PORT / CCAT_TEST_POSTGRES_CLUSTER choose another local cluster (default 5432, main).
set -euo pipefail

host=127.0.0.1
port="${CCAT_TEST_POSTGRES_PORT:-5432}"
cluster="${CCAT_TEST_POSTGRES_CLUSTER:-main}"
wait_seconds=60

if [[ ",${CCAT_TEST_DATABASES:-postgres}," != *",postgres,"* ]]; then
  echo "ensure-postgres: CCAT_TEST_DATABASES leaves out postgres; nothing to do"
  exit 0
fi

say() { echo "ensure-postgres: $*"; }

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@"
  else
    say "need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$host" -p "$port" -t 2
  else
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

can_connect() {
  PGCONNECT_TIMEOUT=5 psql -w -h "$host" -p "$port" -U postgres -d postgres -Atc "SELECT 1" >/dev/null 2>&1
}

version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

if ! answers; then
  if [[ -z "$(version)" ]]; then
    say "PostgreSQL is not installed; installing it"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  fi
  v="$(version)"
  if [[ -z "$v" || ! -d "/etc/postgresql/$v/$cluster" ]]; then
    say "no cluster $cluster under /etc/postgresql" >&2
    exit 1
  fi
  say "starting PostgreSQL $v/$cluster"
  # Fails when the package's own start got there first; the wait below decides.
  as_root pg_ctlcluster --skip-systemctl-redirect "$v" "$cluster" start || true
fi

for ((i = 0; i < wait_seconds * 4; i++)); do
  answers && break
  sleep 0.25
done
if ! answers; then
  say "PostgreSQL does not answer on $host:$port after ${wait_seconds}s" >&2
  exit 1
fi

if ! can_connect; then
  v="$(version)"
  hba="/etc/postgresql/$v/$cluster/pg_hba.conf"
  say "user postgres cannot connect on $host:$port; trusting 127.0.0.1 in $hba"
  as_root sed -i "1i host all all 127.0.0.1/32 trust  # added by ccat scripts/ensure-postgres.sh" "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$v" "$cluster" reload
  for ((i = 0; i < 20; i++)); do
    can_connect && break
    sleep 0.25
  done
  if ! can_connect; then
    say "user postgres still cannot connect on $host:$port" >&2
    exit 1
  fi
fi

say "PostgreSQL answers on $host:$port"
