# Sourced by the role test hosts' run.sh (after setting ROOT, NAME and KEEP, the script's --keep): Ansible's paths
# for this checkout, a work folder $WORK, and a throwaway Debian 13 systemd container from the image
# scripts/build-host-image.sh makes, both removed on exit (the container kept with --keep).
#   start_systemd_host NAME APT_VOLUME [more docker run options...]
# A cgroup namespace of its own, its cgroup mounts made writable before systemd starts: systemd sits at the root
# of the hierarchy it sees, as on a real host. (In the machine's namespace runc's systemd cgroup driver places
# containers under the machine's root, outside the slices of the host's systemd.) The APT_VOLUME keeps downloaded
# Debian packages; apt locks it, so hosts that converge at the same time need volumes of their own.
start_systemd_host() {
  local name=$1 apt=$2 image=${SLIPWAY_HOST_IMAGE:-slipway/debian13-systemd:latest}
  shift 2
  docker image inspect "$image" >/dev/null 2>&1 || "$ROOT/scripts/build-host-image.sh"
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --hostname "$name" \
    --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns=private --tmpfs /run --tmpfs /run/lock "$@" \
    -v "$apt:/var/cache/apt/archives" --entrypoint /bin/sh "$image" \
    -c 'for m in /sys/fs/cgroup /sys/fs/cgroup/*; do mount -o remount,rw,bind "$m"; done; exec /sbin/init' >/dev/null
  docker exec "$name" sh -c 'mkdir -p /var/cache/apt/archives/partial && chown _apt:root /var/cache/apt/archives/partial'
}

export ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections ANSIBLE_ROLES_PATH=$ROOT/roles
export ANSIBLE_CONFIG=$ROOT/ansible.cfg
WORK=$(mktemp -d)
cleanup() {
  rm -rf "$WORK"
  [ "$KEEP" = "--keep" ] || docker rm -f "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT
