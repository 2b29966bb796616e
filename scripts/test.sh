#!/usr/bin/env bash
# The project's test command (what CI runs). Two things run side by side, since both spend most of their time
# waiting on packages, containers and deploys rather than on the machine's cores:
#   A. the molecule `default` scenario: the all-in-one platform on a Debian 13 systemd host, converged first from
#      an earlier commit and then upgraded to this tree under load (tests/upgrade), then idempotence and verify
#      (each component doing its job, a restore drill), kept up for step C;
#   B. every pytest suite against real services on this machine: Docker Engine (single-node Swarm), a throwaway
#      PostgreSQL, nginx, sshd, git, a registry, Pebble, Prometheus; test images built from Debian packages.
#      pytest-xdist spreads the test files over SLIPWAY_TEST_WORKERS processes (each file stays on one, with its
#      fixtures); the longest files start first. The role test host (tests/agents/test_role_host.py) converges
#      its own container with its own package cache: apt locks the folder, and A installs at the same time.
#   C. then the end-to-end push suite (tests/e2e) and the adversarial suite (tests/security) on A's host, and last
#      the uninstall and install again (tests/upgrade/test_uninstall.py); the host is destroyed.
# Every step prints how long it took.
#   scripts/test.sh tests/controller -k deploy    # a subset: arguments go to pytest, A and C are skipped
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
WORKERS=${SLIPWAY_TEST_WORKERS:-4}
START=$(date +%s)
took() { echo "== $1: $(( ($(date +%s) - START) / 60 )) min since the start" >&2; }

scripts/dev-services.sh >/dev/null
scripts/build-test-image.sh
if [ $# -gt 0 ]; then
  exec .venv/bin/pytest -q -ra "$@"
fi

scripts/build-host-image.sh
# molecule keeps its state outside the checkout (~/.ansible/tmp): a host left by an earlier run, even from
# another clone, would make `molecule test --destroy=never` skip create and prepare and converge a stopped
# container. Start from nothing.
molecule destroy >/dev/null 2>&1 || true
PLATFORM_LOG=$(mktemp)
# A: the upgrade test converges the host twice (the earlier commit, then this tree). When it fails, this tree is
# converged anyway, so the other suites still run on the host and say what they find.
platform_track() {
  molecule syntax && molecule create || return 1
  took "the host created" 2>&1
  local upgrade=0
  .venv/bin/pytest -q -ra -s tests/upgrade/test_upgrade.py || upgrade=1
  echo "$upgrade" >"$PLATFORM_LOG.upgrade"
  took "the upgrade test" 2>&1
  if [ "$upgrade" != 0 ]; then
    echo "the upgrade test failed: converging this tree for the other suites"
    molecule converge || return 1
  fi
  molecule idempotence && took "idempotence" 2>&1 && molecule verify && took "verify" 2>&1
}
( platform_track >"$PLATFORM_LOG" 2>&1; echo $? >"$PLATFORM_LOG.rc" ) &
platform=$!

status=0
# the longest files first, so no worker starts one near the end
LONGEST=(tests/agents/test_role_host.py tests/collection/test_integration_targets.py tests/collection/test_sanity_lint.py)
SLIPWAY_APT_VOLUME=slipway-agents-host-apt .venv/bin/pytest -q -ra -n "$WORKERS" --dist loadfile \
  --durations=15 "${LONGEST[@]}" $(sed -n 's/^testpaths = \[\(.*\)\]/\1/p' pyproject.toml | tr -d '",') \
  || status=$?
# leave nothing of ours running on the shared engine
docker service ls -q --filter label=slipway.managed=1 | xargs -r docker service rm >/dev/null || true
took "the pytest suites"

wait "$platform" || true
if [ "$(cat "$PLATFORM_LOG.upgrade" 2>/dev/null)" != 0 ]; then
  cat "$PLATFORM_LOG"
  echo "the upgrade test failed (above)" >&2
  status=1
fi
if [ "$(cat "$PLATFORM_LOG.rc")" = 0 ]; then
  grep -E '^\[upgrade\]|^== |passed|failed' "$PLATFORM_LOG" | tail -n 12
  took "the all-in-one platform (upgrade under load, idempotence, verify)"
  SLIPWAY_E2E_CONVERGE=0 .venv/bin/pytest -q -ra --durations=15 tests/e2e tests/security || status=$?
  took "the end-to-end and adversarial suites"
  .venv/bin/pytest -q -ra -s tests/upgrade/test_uninstall.py || status=$?
  took "uninstall and install again"
else
  cat "$PLATFORM_LOG"
  echo "the all-in-one platform did not converge and verify: the end-to-end suites did not run" >&2
  status=1
fi
molecule destroy >/dev/null 2>&1 || true
rm -f "$PLATFORM_LOG" "$PLATFORM_LOG.rc" "$PLATFORM_LOG.upgrade"
exit $status
