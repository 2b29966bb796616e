#!/usr/bin/env bash
# Install everything the platform's control node and its tests need on a fresh Debian 12/13 machine:
# Debian packages (Docker Engine, PostgreSQL, nginx, OpenSSH, git, debootstrap, Prometheus, shellcheck for
# ansible-test sanity, ...), the Python venv with pinned tools (.venv), the CLI, and the Ansible collections the
# roles use. Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PKGS=(docker.io postgresql postgresql-client libpq-dev busybox-static nginx libnginx-mod-http-lua lua-cjson
      openssh-server openssh-client git debootstrap wrk curl ca-certificates docker-registry pebble python3-venv
      python3-dev build-essential iproute2 tini mtail pgbackrest prometheus
      chromium chromium-driver shellcheck)
# promtool (the monitor's rule tests): in the prometheus package on Debian 12, a package of its own on Debian 13
if apt-cache show promtool >/dev/null 2>&1; then PKGS+=(promtool); fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  # no init system here: keep package scripts from trying to start services
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
STAMP=$(cat requirements/*.txt | sha256sum | cut -c1-16)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$STAMP" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements/dev.txt -c requirements/constraints.txt
  echo "$STAMP" > .venv/.installed
fi
.venv/bin/pip install -q --no-deps -e cli
PYTHON=.venv/bin/python molecule/install-collections.sh
