#!/usr/bin/env bash
# Converge roles/common and roles/monitor on a throwaway Debian 13 systemd container, twice (the second run must
# change nothing), verify Prometheus inside it (verify.sh), and check from this machine, which is no monitor
# host, that the node exporter's port does not answer it.
#   tests/monitor/host/run.sh [--keep]
# Env: SLIPWAY_MONITOR_APT_VOLUME (default slipway-monitor-apt, this host's own: apt locks the folder), ANSIBLE_PLAYBOOK.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
NAME=slipway-monitor-host
PLAYBOOK=${ANSIBLE_PLAYBOOK:-$ROOT/.venv/bin/ansible-playbook}
KEEP=${1:-}
# shellcheck source=../../systemd_host.sh
. "$ROOT/tests/systemd_host.sh"

start_systemd_host "$NAME" "${SLIPWAY_MONITOR_APT_VOLUME:-slipway-monitor-apt}"

export SLIPWAY_TEST_SECRETS=$WORK/secrets
# plain output whatever the caller's environment asks: the idempotence check reads the recap
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
cd "$ROOT"
start=$(date +%s)
"$PLAYBOOK" -i "$HERE/inventory.yml" "$HERE/converge.yml" | tee "$WORK/converge.log" | tail -n 25
echo "== idempotence"
"$PLAYBOOK" -i "$HERE/inventory.yml" "$HERE/converge.yml" | tee "$WORK/again.log" | tail -n 5
grep -Eq "$NAME +: ok=[0-9]+ +changed=0 " "$WORK/again.log" || { grep -B3 'changed:' "$WORK/again.log"; exit 1; }
echo "IDEMPOTENT"
echo "== verify"
docker cp "$HERE/verify.sh" "$NAME:/root/verify.sh"
docker exec "$NAME" bash /root/verify.sh | tee "$WORK/verify.log"
addr=$(sed -n 's/^MONITOR ADDRESS //p' "$WORK/verify.log")
echo "== the node exporter from this machine (not a monitor host)"
if curl -fsS --max-time 5 "http://$addr:9100/metrics" >/dev/null 2>&1; then
  echo "FAIL: $addr:9100 answers a host that is no monitor"; exit 1
fi
# and it was the wall that refused it (its drop counted the attempt)
docker exec "$NAME" nft list chain inet slipway metrics_slipway_input | grep -E 'counter packets [1-9]' >/dev/null \
  || { echo "FAIL: the metrics wall counted no drop"; exit 1; }
echo "WALLED OFF ($(($(date +%s) - start)) s)"
