#!/usr/bin/env bash
# Build the buildpack stack images from Debian packages (debootstrap; no image is pulled), unless present:
#   slipway/stack:trixie        the runtime stack apps run on (python3, nodejs/npm, curl, git, CA certificates)
#   slipway/stack:trixie-build  the build variant buildpacks compile in (+ python3-venv, python3-pip,
#                               build-essential): the runtime root filesystem plus those packages (apt in a chroot)
#
#   scripts/build-stack-image.sh [--force]
# Environment: SLIPWAY_STACK_MIRROR (default http://deb.debian.org/debian), SLIPWAY_STACK_SUITE (trixie),
# SLIPWAY_STACK_IMAGE (slipway/stack).  Takes ~2-4 min on 2 cores; a no-op (well under a second) when both exist.
set -euo pipefail
MIRROR=${SLIPWAY_STACK_MIRROR:-http://deb.debian.org/debian}
SUITE=${SLIPWAY_STACK_SUITE:-trixie}
IMAGE=${SLIPWAY_STACK_IMAGE:-slipway/stack}
BASE_PKGS=${SLIPWAY_STACK_PACKAGES:-python3,ca-certificates,curl,git}
# installed with apt in a chroot (debootstrap's own resolver fails to configure npm's dependency tree)
RUNTIME_PKGS=${SLIPWAY_STACK_EXTRA_PACKAGES:-nodejs npm}
BUILD_PKGS=${SLIPWAY_STACK_BUILD_PACKAGES:-python3-venv python3-pip build-essential pkg-config}
FORCE=0; [ "${1:-}" = --force ] && FORCE=1

have() { [ "$FORCE" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }
if have "$IMAGE:$SUITE" && have "$IMAGE:$SUITE-build"; then exit 0; fi

WORK=$(mktemp -d /var/tmp/slipway-stack.XXXXXX)
cleanup() {
  for r in rootfs build; do for m in proc dev; do umount -l "$WORK/$r/$m" 2>/dev/null || true; done; done
  rm -rf "$WORK"
}
trap cleanup EXIT

import() {  # rootfs image:tag message
  tar -C "$1" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' --message "$3" - "$2" >/dev/null
}
trim() {
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/archives/*.deb "$1"/var/log/*.log "$1"/var/log/apt/*
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$1/etc/apt/sources.list"
}

apt_in() {  # rootfs packages...
  local root=$1; shift
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  local rc=0
  chroot "$root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $*" \
    >"$WORK/apt.log" 2>&1 || rc=$?
  umount -l "$root/proc" "$root/dev"
  [ $rc -eq 0 ] || { tail -30 "$WORK/apt.log"; exit 1; }
  : > "$root/etc/resolv.conf"
}

echo "-----> debootstrap $SUITE ($BASE_PKGS)"
debootstrap --variant=minbase --include="$BASE_PKGS" "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -30 "$WORK/debootstrap.log"; exit 1; }
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$WORK/rootfs/etc/apt/sources.list"
echo "-----> runtime packages ($RUNTIME_PKGS)"
apt_in "$WORK/rootfs" $RUNTIME_PKGS
cp -a "$WORK/rootfs" "$WORK/build"
trim "$WORK/rootfs"
import "$WORK/rootfs" "$IMAGE:$SUITE" "Slipway stack ($SUITE, debootstrap + $RUNTIME_PKGS)"
echo "-----> $IMAGE:$SUITE imported"

echo "-----> build variant (+ $BUILD_PKGS)"
apt_in "$WORK/build" $BUILD_PKGS
trim "$WORK/build"
import "$WORK/build" "$IMAGE:$SUITE-build" "Slipway build stack ($SUITE, debootstrap + $RUNTIME_PKGS $BUILD_PKGS)"
echo "-----> $IMAGE:$SUITE-build imported"
