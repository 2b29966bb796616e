#!/usr/bin/env bash
# Build the test host image: a Debian 13 (trixie) root filesystem with systemd as PID 1, made with
# debootstrap from Debian's mirror and `docker import`-ed (no container registry is needed).
#
#   scripts/build-host-image.sh            # build unless the image exists
#   scripts/build-host-image.sh --force    # rebuild
#
# Env: SLIPWAY_HOST_IMAGE (default slipway/debian13-systemd:latest), DEBIAN_MIRROR, DEBIAN_SUITE.
# About 45 s. Needs root, debootstrap and a running Docker Engine.
set -euo pipefail

IMAGE=${SLIPWAY_HOST_IMAGE:-slipway/debian13-systemd:latest}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${DEBIAN_SUITE:-trixie}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

if [ "$FORCE" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE exists (use --force to rebuild)"
  exit 0
fi

command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }

WORK=$(mktemp -d /var/tmp/slipway-rootfs.XXXXXX)
ROOT=$WORK/rootfs
trap 'rm -rf "$WORK"' EXIT

debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,gnupg,curl,less \
  "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log"; exit 1; }

cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
# Keep downloaded packages: test hosts mount a shared volume at /var/cache/apt/archives.
cat >"$ROOT/etc/apt/apt.conf.d/01keep-downloaded" <<'EOF'
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Keep-Downloaded-Packages "true";
EOF
rm -f "$ROOT/etc/apt/apt.conf.d/docker-clean"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$ROOT/etc/apt/apt.conf.d/02no-recommends"

# A container: no consoles, no udev, no hardware; machine-id made at first boot.
for unit in getty@tty1.service console-getty.service serial-getty@.service systemd-udevd.service \
            systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-firstboot.service \
            systemd-remount-fs.service sys-kernel-debug.mount sys-kernel-tracing.mount \
            dev-hugepages.mount systemd-modules-load.service; do
  ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
echo 'slipway-host' >"$ROOT/etc/hostname"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/archives/*.deb
# No package lists in the image: make them look stale so `apt update_cache` with cache_valid_time runs.
touch -d @0 "$ROOT/var/lib/apt/lists"

tar -C "$ROOT" -c . | docker import \
  --change 'ENV container=docker' \
  --change 'CMD ["/sbin/init"]' \
  - "$IMAGE" >/dev/null
echo "built $IMAGE"
