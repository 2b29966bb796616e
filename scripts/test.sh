#!/usr/bin/env bash
# The project's test command (what CI runs):
#   1. every pytest suite against real services on this machine: Docker Engine (single-node Swarm), a
#      throwaway PostgreSQL, nginx, sshd, git, a registry, Pebble; test images built from Debian packages;
#   2. the molecule `default` scenario: the all-in-one platform converged on a Debian 13 systemd host,
#      idempotence, verify (each component doing its job, restore drills), kept up for
#   3. the end-to-end push suite (tests/e2e) and the adversarial suite (tests/security) on that host, then the
#      host is destroyed.
#   The role test host (tests/agents/roles/run.sh: the router and builder roles under the Engine's systemd cgroup
#   driver) converges on its own container while step 2 runs, instead of inside step 1's pytest run: two
#   converges spend most of their time waiting on packages and containers, not on the machine's cores.
#   scripts/test.sh tests/controller -k deploy    # a subset: arguments go to pytest, steps 2-3 are skipped
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
scripts/dev-services.sh >/dev/null
scripts/build-test-image.sh
status=0
ROLE_HOST_TEST=tests/agents/test_role_host.py
if [ $# -eq 0 ]; then
  .venv/bin/pytest -q -ra --deselect "$ROLE_HOST_TEST" || status=$?
else
  .venv/bin/pytest -q -ra "$@" || status=$?
fi
# leave nothing of ours running on the shared engine
docker service ls -q --filter label=slipway.managed=1 | xargs -r docker service rm >/dev/null || true
if [ $# -eq 0 ]; then
  scripts/build-host-image.sh
  ROLE_HOST_LOG=$(mktemp)
  # its own package cache: apt locks the folder, and the all-in-one host installs at the same time
  SLIPWAY_APT_VOLUME=slipway-agents-host-apt \
    .venv/bin/pytest -q -ra "$ROLE_HOST_TEST" >"$ROLE_HOST_LOG" 2>&1 &
  role_host=$!
  # molecule keeps its state outside the checkout (~/.ansible/tmp): a host left by an earlier run, even
  # from another clone, would make `molecule test --destroy=never` skip create and prepare and converge
  # a stopped container. Start from nothing.
  molecule destroy >/dev/null 2>&1 || true
  if molecule test --destroy=never; then
    SLIPWAY_E2E_CONVERGE=0 .venv/bin/pytest -q -ra tests/e2e tests/security || status=$?
  else
    status=1
  fi
  molecule destroy >/dev/null 2>&1 || true
  wait "$role_host" || { status=1; cat "$ROLE_HOST_LOG"; }
  tail -n 3 "$ROLE_HOST_LOG"
  rm -f "$ROLE_HOST_LOG"
fi
exit $status
