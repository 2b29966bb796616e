#!/usr/bin/env bash
# The project's test command (what CI runs): starts Docker Engine (single-node Swarm) and a throwaway
# PostgreSQL, builds the test images, then runs every pytest suite against those real services.
#   scripts/test.sh                 # everything
#   scripts/test.sh tests/controller -k deploy    # a subset (arguments go to pytest)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
scripts/dev-services.sh >/dev/null
scripts/build-test-image.sh
status=0
.venv/bin/pytest -q -ra "$@" || status=$?
# leave nothing of ours running on the shared engine
docker service ls -q --filter label=slipway.managed=1 | xargs -r docker service rm >/dev/null || true
exit $status
