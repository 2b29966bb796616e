"""A build's wall-clock and CPU limits, for real: a Dockerfile build through the sandbox's entry point, as a push's
deploy runs it, on this machine's Engine. A build over its time is stopped (nothing of it keeps running) and the
push is rejected with the limit named, the running release untouched; a build that keeps two cores busy gets the
CPU share it is allowed and no more."""
from __future__ import annotations

import re
import subprocess
import time

from tests.controller.conftest import register
from tests.controller.deployhelp import endpoints, fetch

from .conftest import commit, deploy_command, run_deploy
from .test_deploy_playbook import base, ctl  # noqa: F401 (fixtures)


def extra_vars(ctl, registry, app, sha, user, bare, **limits):
    return {"slipway_app": app, "slipway_sha": sha, "slipway_user": user, "slipway_repo": str(bare),
            "slipway_registry": registry, "slipway_controller_url": ctl.url, "slipway_builder_key": ctl.builder_key,
            **limits}


def running_sleepers(marker: str) -> list[str]:
    return [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                                            check=True).stdout.splitlines() if marker in line]


def test_a_build_over_its_time_is_stopped_and_the_release_keeps_serving(ctl, registry, repo, base):  # noqa: F811
    bare, work = repo
    user = register(ctl, "slowbuild")
    app = user.post("/v2/apps/", {}).json()["id"]
    sha = commit(work, {"Dockerfile": f"FROM {base}\nRUN echo fast > /www/version\n"})
    with deploy_command(extra_vars(ctl, registry, app, sha, "slowbuild", bare)) as (argv, env):
        assert run_deploy(argv, env, timeout=300).returncode == 0
    marker = f"{time.time_ns() % 10**9 + 10**9}"  # a sleep length no other process here has
    sha = commit(work, {"Dockerfile": f"FROM {base}\nRUN sleep {marker}\n"})
    started = time.monotonic()
    with deploy_command(extra_vars(ctl, registry, app, sha, "slowbuild", bare,
                                   slipway_builder_build_timeout=8)) as (argv, env):
        r = run_deploy(argv, env, timeout=300)
    took = time.monotonic() - started
    assert r.returncode != 0 and "the build was stopped at its limits (8 s" in r.stdout, r.stdout[-3000:]
    assert took < 120, took
    for _ in range(50):  # the Engine stops the build whose client went away
        if not running_sleepers(f"sleep {marker}"):
            break
        time.sleep(0.2)
    assert running_sleepers(f"sleep {marker}") == []
    assert fetch(endpoints(ctl, app)[0], "/version").strip() == "fast"
    assert user.get(f"/v2/apps/{app}/releases/").json()["count"] == 2  # nothing made of the stopped build


def test_a_build_gets_its_cpu_share_and_no_more(ctl, registry, repo, base):  # noqa: F811
    bare, work = repo
    user = register(ctl, "cpubuild")
    app = user.post("/v2/apps/", {}).json()["id"]
    # the container's own CPU time (cgroup v1 cpuacct, or v2 cpu.stat) over 4 s of two busy loops, and how often
    # the kernel held it back for its quota
    run = ("u() { cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || "
           "echo $(( $(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat) * 1000 )); }; "
           "a=$(u); (while :; do :; done) & (while :; do :; done) & sleep 4; kill %1 %2; b=$(u); "
           "t=$(sed -n 's/^nr_throttled //p' /sys/fs/cgroup/cpu/cpu.stat /sys/fs/cgroup/cpu.stat 2>/dev/null); "
           "echo \"cpu-ms $(( (b - a) / 1000000 )) throttled $t\"")
    sha = commit(work, {"Dockerfile": f"FROM {base}\nRUN {run}\n"})
    with deploy_command(extra_vars(ctl, registry, app, sha, "cpubuild", bare,
                                   slipway_builder_build_cpus=0.1)) as (argv, env):
        r = run_deploy(argv, env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:]
    used, throttled = map(int, re.search(r"^cpu-ms (\d+) throttled (\d+)$", r.stdout, re.M).groups())
    # a tenth of a core over 4 s is about 400 ms (two free cores would give 8,000), and the kernel held the
    # build back to that share (on a busy host the build may get less, never more)
    assert throttled > 0 and 0 < used < 4000 * 0.1 * 1.5, (used, throttled)
