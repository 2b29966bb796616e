#!/usr/bin/env bash
# The multi-host platform end to end, one command: build the host image when absent, then `molecule test -s
# cluster` (five host containers slipway-cl-*, prepare, converge, idempotence, verify = tests/cluster, destroy),
# then print the figures (spread, failed requests and recovery time on a node's loss, the drain, a fourth node
# added with one inventory line and a site.yml re-run) and the time.
#
#   scripts/cluster-test.sh                      # everything (about 31 min on a 2-core machine)
#   scripts/cluster-test.sh --destroy never      # keep the hosts afterwards (then: pytest tests/cluster -s)
#
# Not part of `make test` (CI's time budget). Extra arguments go to `molecule test`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
# A known ephemeral folder: tests/cluster finds the scenario's inventory and secrets there.
export MOLECULE_EPHEMERAL_DIRECTORY=${MOLECULE_EPHEMERAL_DIRECTORY:-$ROOT/.cache/molecule-cluster}
export SLIPWAY_CLUSTER_FIGURES=${SLIPWAY_CLUSTER_FIGURES:-$ROOT/.cache/cluster-figures.json}

scripts/dev-services.sh >/dev/null
scripts/build-host-image.sh
rm -f "$SLIPWAY_CLUSTER_FIGURES"
started=$(date +%s)
rc=0
molecule destroy -s cluster >/dev/null  # `--destroy never` also skips the first destroy: start clean anyway
molecule test -s cluster "$@" || rc=$?
echo "==== cluster figures ($SLIPWAY_CLUSTER_FIGURES) ===="
cat "$SLIPWAY_CLUSTER_FIGURES" 2>/dev/null || echo "(none: the suite did not get that far)"
echo "cluster test: $(( $(date +%s) - started )) s, exit $rc"
exit "$rc"
