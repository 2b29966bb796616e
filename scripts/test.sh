#!/usr/bin/env bash
# The project's test command (what CI runs). Two tracks run side by side, since both spend much of their time
# waiting on packages, containers and deploys rather than on the machine's cores: A then C on the all-in-one host,
# and B on this machine.
#   A. the molecule `default` scenario: the all-in-one platform on a Debian 13 systemd host, converged first from
#      an earlier commit and then upgraded to this tree under load (tests/upgrade), then idempotence and verify
#      (each component doing its job, a restore drill), kept up for step C;
#   B. every pytest suite against real services on this machine: Docker Engine (single-node Swarm), a throwaway
#      PostgreSQL, nginx, sshd, git, a registry, Pebble, Prometheus; test images built from Debian packages.
#      pytest-xdist spreads the test files over SLIPWAY_TEST_WORKERS processes (each file stays on one, with its
#      fixtures); the longest files start first. The role test host (tests/agents/test_role_host.py) converges
#      its own container with its own package cache: apt locks the folder, and A installs at the same time.
#   C. after A, the end-to-end push suite (tests/e2e) and the adversarial suite (tests/security) on A's host, and
#      last the backups' move from an earlier version's unencrypted repository (tests/upgrade/test_backup_move.py)
#      and the uninstall and install again (tests/upgrade/test_uninstall.py); the host is destroyed.
# A then C is the longest path: B's own processes run at a lower priority (the containers B starts are dockerd's
# children and are not lowered), and C does not wait for B.
# Every step prints how long it took.
#   scripts/test.sh tests/controller -k deploy    # a subset: arguments go to pytest, A and C are skipped
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
WORKERS=${SLIPWAY_TEST_WORKERS:-4}
START=$(date +%s)
took() { echo "== $1: $(( ($(date +%s) - START) / 60 )) min since the start"; }

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
LOGS=$(mktemp -d)
# A: the upgrade test converges the host twice (the earlier commit, then this tree). When it fails, this tree is
# converged anyway, so the other suites still run on the host and say what they find.
platform_track() {
  molecule syntax && molecule create || return 1
  took "the host created"
  local upgrade=0
  .venv/bin/pytest -q -ra -s tests/upgrade/test_upgrade.py || upgrade=1
  echo "$upgrade" >"$LOGS/upgrade.rc"
  took "the upgrade test"
  if [ "$upgrade" != 0 ]; then
    echo "the upgrade test failed: converging this tree for the other suites"
    molecule converge || return 1
  fi
  molecule idempotence && took "idempotence" && molecule verify && took "verify"
}
# C, on A's host as soon as A is done (B may still be running): each suite's exit status in its own file
host_suites() {
  local rc=0
  SLIPWAY_E2E_CONVERGE=0 .venv/bin/pytest -q -ra --durations=15 tests/e2e tests/security || rc=$?
  echo "$rc" >"$LOGS/e2e.rc"
  took "the end-to-end and adversarial suites"
  rc=0
  .venv/bin/pytest -q -ra -s tests/upgrade/test_backup_move.py tests/upgrade/test_uninstall.py || rc=$?
  echo "$rc" >"$LOGS/uninstall.rc"
  took "the backups' move, uninstall and install again"
}
: >"$LOGS/host"
(
  rc=0
  platform_track >"$LOGS/platform" 2>&1 || rc=$?
  echo "$rc" >"$LOGS/platform.rc"
  if [ "$rc" = 0 ]; then host_suites >"$LOGS/host" 2>&1 || true; fi
) &
host=$!

status=0
# B's processes yield the cores to the host's track (its converges and deploys are the longest path). The longest
# files first, so no worker starts one near the end.
LONGEST=(tests/agents/test_role_host.py tests/collection/test_integration_targets.py tests/collection/test_sanity_lint.py)
SLIPWAY_APT_VOLUME=slipway-agents-host-apt nice -n 10 .venv/bin/pytest -q -ra -n "$WORKERS" --dist loadfile \
  --durations=15 "${LONGEST[@]}" $(sed -n 's/^testpaths = \[\(.*\)\]/\1/p' pyproject.toml | tr -d '",') \
  || status=$?
# leave nothing of ours running on the shared engine
docker service ls -q --filter label=slipway.managed=1 | xargs -r docker service rm >/dev/null || true
took "the pytest suites"

# A's outcome, then C's output as it comes (so a run cut short still shows how far it got)
while [ ! -e "$LOGS/platform.rc" ] && kill -0 "$host" 2>/dev/null; do sleep 5; done
if [ "$(cat "$LOGS/platform.rc" 2>/dev/null)" != 0 ]; then
  cat "$LOGS/platform"
  echo "the all-in-one platform did not converge and verify: the end-to-end suites did not run" >&2
  status=1
else
  if [ "$(cat "$LOGS/upgrade.rc")" != 0 ]; then
    cat "$LOGS/platform"
    echo "the upgrade test failed (above)" >&2
    status=1
  else
    grep -E '^\[upgrade\]|^== |passed|failed' "$LOGS/platform" | tail -n 12
  fi
  tail -n +1 -f --pid="$host" "$LOGS/host"
  for suite in e2e uninstall; do
    [ "$(cat "$LOGS/$suite.rc" 2>/dev/null)" = 0 ] || status=1
  done
fi
wait "$host" || true
molecule destroy >/dev/null 2>&1 || true
rm -rf "$LOGS"
exit $status
