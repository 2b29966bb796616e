#!/usr/bin/env bash
# Runs inside the role test host after the builder converged: real Dockerfile builds through the sandbox's entry
# point (the git user through sudo, as a push's deploy starts them) run in a cgroup of their own below
# slipway-build.slice under the Engine's cgroup driver, a fork bomb is stopped at the build's process limit, a build
# over its memory is killed, the build's cgroup goes with it, and the builder still builds afterwards.
#   verify_sandbox_cgroups.sh DRIVER     (systemd or cgroupfs: the driver the Engine must be running with)
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND exited $?"' ERR
DRIVER=$1
SLICE=slipway-build.slice
INI=/etc/slipway/builder/sandbox.ini
SANDBOX=/opt/slipway/agents/bin/slipway-sandbox
WORK_ROOT=/var/lib/slipway/builder/work
BUILDS=/root/sandbox-builds
APP=hello
setting() { sed -n "s/^$1 = //p" "$INI"; }
# a cgroup v1 controller's (or the v2 unified) path of a process, as the kernel places it
cgroup_of() { { grep -m1 "^[0-9]*:$2:" "/proc/$1/cgroup" || grep -m1 '^0::' "/proc/$1/cgroup"; } | cut -d: -f3-; }

engine_driver=$(docker info --format '{{.CgroupDriver}}')
[ "$engine_driver" = "$DRIVER" ] || fail "the Engine runs the $engine_driver cgroup driver, not $DRIVER"
parent=$(setting cgroup_parent)
if [ "$DRIVER" = systemd ]; then want=$SLICE; else want=$(systemctl show -P ControlGroup "$SLICE"); fi
[ "$parent" = "$want" ] || fail "the sandbox's cgroup_parent is '$parent', not '$want' ($DRIVER driver)"
echo "cgroup parent ($DRIVER driver): $parent"

# the slice as the kernel has it (systemd's path in the hierarchy, below its own root on a containerised host)
slice_dir=$(systemctl show -P ControlGroup "$SLICE")
pids_fs=/sys/fs/cgroup/pids$slice_dir
[ -d "$pids_fs" ] || pids_fs=/sys/fs/cgroup$slice_dir
tasks_max=$(systemctl show -P TasksMax "$SLICE")
[ "$(cat "$pids_fs/pids.max")" = "$tasks_max" ] || fail "$pids_fs/pids.max is not the slice's TasksMax $tasks_max"
memory=$(setting memory)
pids=$(setting pids)
[ "$pids" -lt "$tasks_max" ] || fail "the build's process limit $pids is not below the slice's TasksMax $tasks_max"
memory_bytes=$(python3 -c 'import sys; n, u = sys.argv[1][:-1], sys.argv[1][-1].lower()
print(int(float(n) * 1024 ** "bkmg".index(u)) if u in "bkmg" else int(sys.argv[1]))' "$memory")
echo "slice: $slice_dir, TasksMax $tasks_max; build memory $memory ($memory_bytes bytes)"

# a push's credential from the stand-in controller, which the registry takes for the push account
if ! systemctl is-active --quiet fake-controller; then
  echo '{"perms": {"hello": ["alice"]}}' >/etc/fake-controller.json
  systemd-run --quiet --unit=fake-controller python3 /usr/local/bin/fake-controller
  sleep 1
fi
token=$(curl -fsS -H 'X-Deis-Builder-Auth: builder-secret' -H 'Content-Type: application/json' \
        -d "{\"receive_repo\": \"$APP\", \"receive_user\": \"alice\"}" http://127.0.0.1:8000/v2/hooks/push/ |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["push_token"])')
uuid=$(python3 -c 'import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, sys.argv[1]))' "$APP")
htpasswd -Bb /etc/docker/registry/htpasswd push "$token" 2>/dev/null
systemctl restart docker-registry
for _ in $(seq 50); do curl -fs -o /dev/null -u "push:$token" http://127.0.0.1:5000/v2/ && break; sleep 0.2; done

# the builds: a Dockerfile at the root of each tree, its RUN step new to the Engine's build cache
rm -rf "$BUILDS" && mkdir -p "$BUILDS"/{forks,memory,probe}
nonce=$(date +%s%N)
for name in forks memory probe; do
  printf 'FROM 127.0.0.1:5000/slipway/stack:trixie\nCOPY %s /%s\nRUN %s %s\n' "$name.run" "$name.run" \
    "$( [ $name = probe ] && echo "sh /probe.run" || echo "python3 /$name.run")" "$nonce" >"$BUILDS/$name/Dockerfile"
done
cat >"$BUILDS/forks/forks.run" <<'PY'
import os
n = 0
try:
    while n < 20000:
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "300"])
        n += 1
except OSError as e:
    print("forks stopped at", n, "-", e, flush=True)
    raise SystemExit(1)
print("forks unbounded", n, flush=True)
PY
echo "x = b'a' * ($memory_bytes * 2); print('ATE-' + 'ALL', len(x), flush=True)" >"$BUILDS/memory/memory.run"
cat >"$BUILDS/probe/probe.run" <<'SH'
sed 's/^/cgroup /' /proc/self/cgroup
echo "memory limit $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
i=0
while [ ! -e /tmp/go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
echo "probe done"
SH
# build NAME: its tree pushed at a fresh commit id, built through sudo as the git user; output in $BUILDS/NAME.log
build() {
  local dir sha
  sha=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
  dir=$(mktemp -d "$WORK_ROOT/$APP-$1.XXXXXX")
  cp -r "$BUILDS/$1" "$dir/src" && chown -R git: "$dir" && chmod -R go-rwx "$dir"
  echo "$token" | sudo -u git -- sudo -n "$SANDBOX" build "$APP" "$uuid" "$sha" "$dir" >"$BUILDS/$1.log" 2>&1
}
show() { tail -n 15 "$BUILDS/$1.log"; }

# 1. a fork bomb: stopped at the build's own process limit, below the slice's TasksMax; the build fails and says why
start=$(date +%s)
build forks && { show forks; fail "the fork bomb built"; }
grep -q "returned a non-zero code" "$BUILDS/forks.log" || { show forks; fail "the fork bomb's build did not fail"; }
stopped=$(sed -n 's/^forks stopped at \([0-9]*\) .*/\1/p' "$BUILDS/forks.log")
[ -n "$stopped" ] || { show forks; fail "the fork bomb was not stopped"; }
[ "$stopped" -lt "$pids" ] && [ "$stopped" -ge $((pids - 16)) ] ||
  { show forks; fail "the fork bomb stopped at $stopped forks, not at the build's limit of $pids processes"; }
for _ in $(seq 50); do [ "$(cat "$pids_fs/pids.current")" -lt 8 ] && break; sleep 0.2; done
[ "$(cat "$pids_fs/pids.current")" -lt 8 ] || fail "the fork bomb's processes outlived its build"
echo "fork bomb: stopped at $stopped forks by the build's limit of $pids processes, build failed ($(($(date +%s) - start)) s)"

# 2. memory: a build taking twice its limit is killed before it finishes
build memory && { show memory; fail "a build over its memory built"; }
grep -q "ATE-ALL" "$BUILDS/memory.log" && { show memory; fail "a build used twice its memory"; }
grep -q "returned a non-zero code: 137" "$BUILDS/memory.log" || { show memory; fail "a build over its memory not killed"; }
echo "memory: a build taking twice its $memory was killed (137)"

# 3. the builder still builds: a probe build, looked at while its RUN step runs
build probe &
job=$!
cid=""
for _ in $(seq 300); do
  cid=$(docker ps -q --no-trunc | head -n1)
  [ -n "$cid" ] && break
  sleep 0.1
done
[ -n "$cid" ] || { wait $job || true; show probe; fail "no build container ran"; }
for _ in $(seq 100); do [ "$(docker inspect -f '{{.State.Running}}' "$cid")" = true ] && break; sleep 0.1; done
read -r cparent cmemory pid < <(docker inspect -f '{{.HostConfig.CgroupParent}} {{.HostConfig.Memory}} {{.State.Pid}}' "$cid")
own=$(cgroup_of "$pid" pids)
if [ "$DRIVER" = systemd ]; then build_max=$(systemctl show -P TasksMax "$cparent"); else
  build_max=$(cat "/sys/fs/cgroup/pids$cparent/pids.max" 2>/dev/null || cat "/sys/fs/cgroup$cparent/pids.max"); fi
# the probe ends as soon as it sees the file, and an exec still running when a container's first process ends is
# killed (137): on a busy host that can be this touch, after it made the file
docker exec "$cid" touch /tmp/go || [ $? = 137 ]
wait $job || { show probe; fail "an ordinary build failed after the fork bomb"; }
case $cparent in
  "${parent%.slice}"-*.slice | "$parent"/build-*) ;;
  *) fail "the build container's cgroup parent is '$cparent', not one of its own below '$parent'" ;;
esac
[ "$build_max" = "$pids" ] || fail "the build's cgroup holds $build_max processes, not $pids"
[ "$cmemory" = "$memory_bytes" ] || fail "the build container's memory limit is $cmemory, not $memory_bytes"
case $own in "$slice_dir"/*) ;; *) fail "the build container runs in $own, not under $slice_dir" ;; esac
if [ "$DRIVER" = systemd ]; then
  [ "$own" = "$slice_dir/$cparent/docker-$cid.scope" ] || fail "the build container's cgroup is $own, not its scope"
  [ "$(systemctl show -P ActiveState "$cparent")" = inactive ] || fail "the build's slice $cparent outlived it"
  ls /run/systemd/system.control/"$cparent".d 2>/dev/null && fail "the build's slice left its settings behind"
fi
[ -z "$(ls -d "$pids_fs"/build-* "$pids_fs"/slipway-build-* 2>/dev/null)" ] || fail "builds' cgroups were left behind"
grep -q "^memory limit $memory_bytes$" "$BUILDS/probe.log" || { show probe; fail "the build saw no $memory limit"; }
grep -q "^probe done" "$BUILDS/probe.log" && grep -q "Successfully built" "$BUILDS/probe.log" || { show probe; fail "probe"; }
ls "$WORK_ROOT"/"$APP"-probe.*/image >/dev/null || fail "the probe build handed over no image"
echo "build container: cgroup parent $cparent (at most $build_max processes), in $own, memory $cmemory"
for unit in slipway-builder-sshd docker; do systemctl is-active --quiet "$unit" || fail "$unit is not active"; done
rm -rf "$WORK_ROOT"/"$APP"-{forks,memory,probe}.*
echo "SANDBOX CGROUPS OK ($DRIVER driver)"
