#!/usr/bin/env bash
# The project's test command (what CI runs). Two things run side by side, since both spend most of their time
# waiting on packages, containers and deploys rather than on the machine's cores:
#   A. the molecule `default` scenario: the all-in-one platform converged on a Debian 13 systemd host,
#      idempotence, verify (each component doing its job, a restore drill), kept up for step C;
#   B. every pytest suite against real services on this machine: Docker Engine (single-node Swarm), a throwaway
#      PostgreSQL, nginx, sshd, git, a registry, Pebble, Prometheus; test images built from Debian packages.
#      pytest-xdist spreads the test files over SLIPWAY_TEST_WORKERS processes (each file stays on one, with its
#      fixtures); the longest files start first. The role test host (tests/agents/test_role_host.py) converges
#      its own container with its own package cache: apt locks the folder, and A installs at the same time.
#   C. then the end-to-end push suite (tests/e2e) and the adversarial suite (tests/security) on A's host; the host
#      is destroyed.
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
( molecule test --destroy=never >"$PLATFORM_LOG" 2>&1; echo $? >"$PLATFORM_LOG.rc" ) &
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
if [ "$(cat "$PLATFORM_LOG.rc")" = 0 ]; then
  tail -n 5 "$PLATFORM_LOG"
  took "the all-in-one platform (converge, idempotence, verify)"
  SLIPWAY_E2E_CONVERGE=0 .venv/bin/pytest -q -ra --durations=15 tests/e2e tests/security || status=$?
  took "the end-to-end and adversarial suites"
else
  cat "$PLATFORM_LOG"
  echo "the all-in-one platform did not converge and verify: the end-to-end suites did not run" >&2
  status=1
fi
molecule destroy >/dev/null 2>&1 || true
rm -f "$PLATFORM_LOG" "$PLATFORM_LOG.rc"
exit $status
