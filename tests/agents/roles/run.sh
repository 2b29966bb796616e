#!/usr/bin/env bash
# Converge roles/router and roles/builder on a throwaway Debian 13 systemd container whose Docker Engine runs the
# systemd cgroup driver, then verify them end to end inside the host (a stand-in controller on its 127.0.0.1:8000,
# a real push) and check the build sandbox's cgroups with real builds (verify_sandbox_cgroups.sh). The roles'
# idempotence is checked on the all-in-one host (molecule's default scenario).
#   tests/agents/roles/run.sh [--keep]
# Env: SLIPWAY_APT_VOLUME, the volume that keeps downloaded Debian packages (default slipway-apt-archives,
# shared with the other test hosts; give it one of its own when another host converges at the same time, since
# apt locks that folder).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
NAME=slipway-agents-host
KEEP=${1:-}
# shellcheck source=../../systemd_host.sh
. "$ROOT/tests/systemd_host.sh"

start_systemd_host "$NAME" "${SLIPWAY_APT_VOLUME:-slipway-apt-archives}" --device-cgroup-rule='a *:* rwm' -v slipway-agents-host-docker:/var/lib/docker

# a platform CA on the "control node"
export SLIPWAY_TEST_PKI=$WORK/pki
mkdir -p "$SLIPWAY_TEST_PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=test platform CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$SLIPWAY_TEST_PKI/ca.key" -out "$SLIPWAY_TEST_PKI/ca.crt" 2>/dev/null

# the stand-in controller inside the host
docker cp "$ROOT/tests/agents/fakes.py" "$NAME:/usr/local/lib/fakes.py"
docker cp "$HERE/fake_controller.py" "$NAME:/usr/local/bin/fake-controller"
docker exec "$NAME" sh -c 'chmod 755 /usr/local/bin/fake-controller'

# The Engine's systemd cgroup driver, Docker's default on cgroup v2 hosts (Debian 13 servers): the builder role
# leaves daemon.json alone (the node role writes it on nodes, slipway_node_daemon_extra), so this host's is written
# before the Engine is installed. systemd manages the cgroups of this host, so the driver runs on a cgroup v1 kernel
# too. (The cgroupfs driver is the all-in-one test host's: tests/security runs the sandbox's limits there.) The
# sandbox gets the slice's name from the converge; builds run with small limits, quick to reach.
docker exec "$NAME" sh -c 'mkdir -p /etc/docker && echo "{\"exec-opts\": [\"native.cgroupdriver=systemd\"]}" >/etc/docker/daemon.json'
echo '{"slipway_builder_build_tasks_max": 300, "slipway_builder_build_pids": 120, "slipway_builder_build_memory": "256m"}' \
  >"$WORK/limits.json"

cd "$ROOT"
start=$(date +%s)
.venv/bin/ansible-playbook -i "$HERE/inventory.yml" "$HERE/converge.yml" -e "@$WORK/limits.json" \
  | tee "$WORK/converge.log" | tail -n 25
echo "== verify"
docker cp "$HERE/verify.sh" "$NAME:/root/verify.sh"
docker exec "$NAME" bash /root/verify.sh
echo "ROLES OK"
echo "== the build sandbox under the Engine's systemd cgroup driver"
docker cp "$HERE/verify_sandbox_cgroups.sh" "$NAME:/root/verify_sandbox_cgroups.sh"
docker exec "$NAME" bash /root/verify_sandbox_cgroups.sh systemd
echo "SYSTEMD CGROUP DRIVER OK ($(($(date +%s) - start)) s)"

echo "== the firewall across restarts"
docker cp "$HERE/verify_firewall.sh" "$NAME:/root/verify_firewall.sh"
docker exec "$NAME" bash /root/verify_firewall.sh record
# deleted by hand, nothing else changed (before the reboot, which may give the host another address): the role's
# next run finds the table gone from the kernel
docker exec "$NAME" nft delete table inet slipway
.venv/bin/ansible-playbook -i "$HERE/inventory.yml" "$HERE/converge.yml" -e "@$WORK/limits.json" \
  >"$WORK/converge-again.log" || { tail -n 40 "$WORK/converge-again.log"; exit 1; }
echo "the role's run again changed: $(awk '/^(TASK|RUNNING HANDLER) \[/ {t=$0} /^changed:/ {print t}' \
  "$WORK/converge-again.log" | sed 's/ \**$//' | sort -u | paste -sd';')"
docker exec "$NAME" bash /root/verify_firewall.sh after-converge
docker restart "$NAME" >/dev/null  # a reboot: /run is empty again, systemd starts every unit
docker exec "$NAME" bash /root/verify_firewall.sh after-reboot
echo "FIREWALL OK"
