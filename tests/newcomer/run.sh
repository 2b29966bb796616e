#!/usr/bin/env bash
# The newcomer test: docs/install.md followed word for word. A fresh Debian 13 systemd container at the guide's
# address (198.51.100.10, on a Docker network of its own) is the host; this machine is the control node, as an
# unprivileged user with an empty home. The commands and files are the ones the guide marks `newcomer`
# (tests/newcomer/extract.py); the test adds only what a hosting provider and a DNS zone would give:
#   - the host, named paas1 (the last --hostname wins over start_systemd_host's): sshd with the control node
#     user's key for root, and two dockerd settings a container needs
#     (molecule/default/prepare.yml has the same for the all-in-one test host);
#   - the wildcard record: the guide's names in an /etc/hosts seen only by the test (a mount namespace of its own).
# Ends with the sample app serving (the guide's last curl). Not part of `make test`: about 25 minutes.
#   tests/newcomer/run.sh [--keep]     (--keep leaves the host and the control node's folder for a look)
# Env: SLIPWAY_NEWCOMER_APT_VOLUME (default slipway-newcomer-apt, this host's own: apt locks the folder).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NAME=slipway-newcomer
NET=slipway-newcomer
ADDRESS=198.51.100.10
USER_NAME=slipway-newcomer
KEEP=${1:-}
[ "$(id -u)" = 0 ] || { echo "run as root (Docker, a mount namespace, a user for the control node)" >&2; exit 1; }
for tool in docker unshare runuser python3 git ssh ssh-keyscan openssl unzip gpg curl getent; do
  command -v "$tool" >/dev/null || { echo "the control node needs $tool" >&2; exit 1; }
done
# shellcheck source=../systemd_host.sh
. "$ROOT/tests/systemd_host.sh"
cleanup() {
  if [ "$KEEP" = "--keep" ]; then
    echo "kept: the host $NAME and the control node's home $WORK/home"
    return
  fi
  # the gpg agent the guide's backup started, stopped by its own command
  runuser -u "$USER_NAME" -- env HOME="$WORK/home" gpgconf --kill all >/dev/null 2>&1 || true
  rm -rf "$WORK"
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm -f "$NAME-docker" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
start=$(date +%s)
say() { echo "-----> $* ($(($(date +%s) - start)) s)"; }

say "The host: a fresh Debian 13 container at $ADDRESS"
docker network inspect "$NET" >/dev/null 2>&1 || docker network create --subnet 198.51.100.0/24 "$NET" >/dev/null
docker rm -f "$NAME" >/dev/null 2>&1 || true
docker volume rm -f "$NAME-docker" >/dev/null 2>&1 || true  # no Swarm or images left from an earlier run
start_systemd_host "$NAME" "${SLIPWAY_NEWCOMER_APT_VOLUME:-slipway-newcomer-apt}" \
  --hostname paas1 --network "$NET" --ip "$ADDRESS" --device-cgroup-rule='a *:* rwm' -v "$NAME-docker:/var/lib/docker"
for _ in $(seq 60); do  # systemd up (degraded is fine: a container lacks a few units' devices)
  docker exec "$NAME" systemctl is-system-running 2>/dev/null | grep -Eq '^(running|degraded)$' && break
  sleep 2
done

say "The control node: user $USER_NAME, home $WORK/home"
chmod 755 "$WORK"
HOME_DIR=$WORK/home
id "$USER_NAME" >/dev/null 2>&1 || useradd --system --shell /bin/bash --no-create-home "$USER_NAME"
usermod -d "$HOME_DIR" "$USER_NAME"
mkdir -p "$HOME_DIR/.ssh" "$HOME_DIR/.config/pip"
# this machine's package index settings (its PyPI mirror), as the user's own
for conf in /root/.config/pip/pip.conf /root/.pip/pip.conf; do
  [ -f "$conf" ] && cp "$conf" "$HOME_DIR/.config/pip/pip.conf" && break
done
ssh-keygen -q -t ed25519 -N '' -C "$USER_NAME" -f "$HOME_DIR/.ssh/id_ed25519"
# the source tree as a release would hold it: the checkout's files, uncommitted changes included
mkdir -p "$HOME_DIR/slipway-src"
git -C "$ROOT" ls-files -z -co --exclude-standard | tar -C "$ROOT" --null -T - -cf - | tar -C "$HOME_DIR/slipway-src" -xf -
python3 "$HERE/extract.py" "$HOME_DIR/slipway-src/docs/install.md" > "$WORK/guide.sh"
chown -R "$USER_NAME" "$HOME_DIR"

say "What the provider gives: sshd with the user's key for root"
docker exec "$NAME" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null &&
  mkdir -p -m 700 /root/.ssh && systemctl enable --now ssh >/dev/null 2>&1'
docker cp "$HOME_DIR/.ssh/id_ed25519.pub" "$NAME:/root/.ssh/authorized_keys"
docker exec "$NAME" sh -c 'chown root:root /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys'
# dockerd in a container: IPv4-only interfaces, and /proc/sys writable for the sysctls it sets on its bridges
docker exec "$NAME" sh -c 'mkdir -p /etc/systemd/system/docker.service.d &&
  printf "[Service]\nEnvironment=DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1\n" \
    > /etc/systemd/system/docker.service.d/10-allow-ipv6-on-ipv4.conf &&
  printf "[Service]\nExecStartPre=-/bin/mount -o remount,rw /proc/sys\n" \
    > /etc/systemd/system/docker.service.d/20-writable-proc-sys.conf'

say "What the DNS zone gives: the guide's names at $ADDRESS (this test's own /etc/hosts)"
{ cat /etc/hosts
  echo "$ADDRESS slipway.apps.example.com hello.apps.example.com shop.apps.example.com"; } > "$WORK/hosts"
chmod 644 "$WORK/hosts"

say "docs/install.md, word for word ($WORK/guide.sh)"
set +e
# shellcheck disable=SC2016  # the inner script expands its own arguments
unshare --mount --propagation private bash -c '
  mount --bind "$1" /etc/hosts &&
  exec runuser -u "$2" -- env -i HOME="$3" USER="$2" LOGNAME="$2" SHELL=/bin/bash LANG=C.UTF-8 \
    PATH=/usr/local/bin:/usr/bin:/bin PIP_DISABLE_PIP_VERSION_CHECK=1 \
    bash -c "cd ~/slipway-src && bash \"\$0\"" "$4"' \
  _ "$WORK/hosts" "$USER_NAME" "$HOME_DIR" "$WORK/guide.sh" 2>&1 | tee "$WORK/guide.log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
  say "NEWCOMER FAILED (exit $rc): the last block above is the guide's line that failed"
  exit "$rc"
fi
grep -q '^Hi (v' "$WORK/guide.log" || { say "NEWCOMER FAILED: the app did not answer with its new config"; exit 1; }
say "NEWCOMER OK: the guide's app serves"
