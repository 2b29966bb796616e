#!/usr/bin/env bash
# Start what the tests need on the machine that runs them (no systemd needed): Docker Engine with a single-node
# Swarm, and a throwaway PostgreSQL on 127.0.0.1:${SLIPWAY_TEST_PGPORT:-55432}. Idempotent.
set -euo pipefail
PGPORT=${SLIPWAY_TEST_PGPORT:-55432}
PGDATA=${SLIPWAY_TEST_PGDATA:-/var/tmp/slipway-test-pg}

if ! docker info >/dev/null 2>&1; then
  nohup dockerd >/var/log/slipway-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null
fi
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if ! pg_isready -h 127.0.0.1 -p "$PGPORT" -q; then
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA" && chown postgres: "$PGDATA"
    su postgres -c "$PGBIN/initdb -D $PGDATA -U postgres --auth=trust -E UTF8" >/dev/null
  fi
  su postgres -c "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/log -w -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off' start" >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
