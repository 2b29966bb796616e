#!/usr/bin/env bash
# Converge roles/router and roles/builder on a throwaway Debian 13 systemd container, check idempotence,
# then verify them end to end inside the host (a stand-in controller on its 127.0.0.1:8000, a real push); then
# switch the host's Docker Engine to the systemd cgroup driver, converge again and check the build sandbox's
# cgroups with real builds (verify_sandbox_cgroups.sh).
#   tests/agents/roles/run.sh [--keep]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
NAME=slipway-agents-host
IMAGE=${SLIPWAY_HOST_IMAGE:-slipway/debian13-systemd:latest}
KEEP=${1:-}
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections ANSIBLE_ROLES_PATH=$ROOT/roles
export ANSIBLE_CONFIG=$ROOT/ansible.cfg
WORK=$(mktemp -d)
cleanup() {
  rm -rf "$WORK"
  [ "$KEEP" = "--keep" ] || docker rm -f "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

docker image inspect "$IMAGE" >/dev/null 2>&1 || "$ROOT/scripts/build-host-image.sh"
docker rm -f "$NAME" >/dev/null 2>&1 || true
# A cgroup namespace of its own, its cgroup mounts made writable before systemd starts: systemd sits at the root
# of the hierarchy it sees, as on a real host. (In the machine's namespace runc's systemd cgroup driver places
# containers under the machine's root, outside the slices of the host's systemd.)
docker run -d --name "$NAME" --hostname "$NAME" \
  --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --cgroupns=private --tmpfs /run --tmpfs /run/lock \
  --device-cgroup-rule='a *:* rwm' -v slipway-agents-host-docker:/var/lib/docker \
  -v slipway-apt-archives:/var/cache/apt/archives --entrypoint /bin/sh "$IMAGE" \
  -c 'for m in /sys/fs/cgroup /sys/fs/cgroup/*; do mount -o remount,rw,bind "$m"; done; exec /sbin/init' >/dev/null
docker exec "$NAME" sh -c 'mkdir -p /var/cache/apt/archives/partial && chown _apt:root /var/cache/apt/archives/partial'

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

cd "$ROOT"
.venv/bin/ansible-playbook -i "$HERE/inventory.yml" "$HERE/converge.yml" | tee "$WORK/converge1.log" | tail -n 25
echo "== idempotence"
.venv/bin/ansible-playbook -i "$HERE/inventory.yml" "$HERE/converge.yml" >"$WORK/converge2.log" || { tail -n 40 "$WORK/converge2.log"; exit 1; }
grep -E 'changed=0 .*failed=0' "$WORK/converge2.log" || { grep -B3 -A8 'changed:' "$WORK/converge2.log" | head -80; echo "NOT IDEMPOTENT"; exit 1; }
echo "== verify"
docker cp "$HERE/verify.sh" "$NAME:/root/verify.sh"
docker exec "$NAME" bash /root/verify.sh
docker cp "$HERE/verify_sandbox_cgroups.sh" "$NAME:/root/verify_sandbox_cgroups.sh"
docker exec "$NAME" bash /root/verify_sandbox_cgroups.sh cgroupfs
echo "ROLES OK"

# The Engine's systemd cgroup driver, Docker's default on cgroup v2 hosts (Debian 13 servers): the builder role
# leaves daemon.json alone (the node role writes it on nodes, slipway_node_daemon_extra), so this host's is
# written here. systemd manages the cgroups of this host, so the driver runs on a cgroup v1 kernel too. The
# converge must give the sandbox the slice's name; builds then run with small limits, quick to reach.
echo "== the build sandbox under the Engine's systemd cgroup driver"
start=$(date +%s)
docker exec "$NAME" sh -c 'echo "{\"exec-opts\": [\"native.cgroupdriver=systemd\"]}" >/etc/docker/daemon.json
  systemctl restart docker.service'
echo '{"slipway_builder_build_tasks_max": 300, "slipway_builder_build_memory": "256m"}' >"$WORK/limits.json"
.venv/bin/ansible-playbook -i "$HERE/inventory.yml" "$HERE/converge.yml" -e "@$WORK/limits.json" \
  >"$WORK/converge3.log" || { tail -n 40 "$WORK/converge3.log"; exit 1; }
docker exec "$NAME" bash /root/verify_sandbox_cgroups.sh systemd
echo "SYSTEMD CGROUP DRIVER OK ($(($(date +%s) - start)) s)"
