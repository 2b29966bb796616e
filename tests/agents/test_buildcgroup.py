"""A Dockerfile build's own cgroup (slipway_agents.buildcgroup) under the Engine's cgroupfs driver, with this
machine's real Engine and cgroup hierarchy: a build that forks without end is held to the build's process limit, and
nothing of the build's cgroup is left afterwards. (The systemd driver's per-build slice runs on the role test host:
tests/agents/roles/verify_sandbox_cgroups.sh.)"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import AGENTS, ROOT

sys.path.insert(0, AGENTS)
from slipway_agents import engine  # noqa: E402
from slipway_agents.buildcgroup import ROOT as CGROUPS, build_cgroup  # noqa: E402

PARENT = "/slipway-test-builds"


@pytest.fixture(scope="module")
def parent():
    if subprocess.run(["docker", "info", "--format", "{{.CgroupDriver}}"], capture_output=True, text=True,
                      check=True).stdout.strip() != "cgroupfs":
        pytest.fail("these tests need the Engine's cgroupfs driver (scripts/dev-services.sh starts it so)")
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh"), "web"], check=True, capture_output=True)
    unified = os.path.exists(os.path.join(CGROUPS, "cgroup.controllers"))
    os.makedirs((CGROUPS if unified else os.path.join(CGROUPS, "pids")) + PARENT, exist_ok=True)
    return PARENT


def test_a_dockerfile_build_that_forks_without_end_is_held_to_its_own_limit(parent, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM slipway-test/web:1\n"
        'RUN for i in $(seq 400); do sleep 300 & done; echo "forked: $(ls /proc | grep -c "^[0-9]")"\n')
    out = tmp_path / "out"
    with build_cgroup(parent, 40) as cgroup:
        folder = glob.glob(CGROUPS + cgroup) + glob.glob(os.path.join(CGROUPS, "pids") + cgroup)
        assert cgroup.startswith(f"{parent}/build-") and len(folder) == 1, (cgroup, folder)
        assert open(os.path.join(folder[0], "pids.max")).read().strip() == "40"
        with open(out, "w") as fh:
            rc = engine.build({"t": "slipway-test/forks:1", "version": "1", "pull": "0", "rm": "1", "forcerm": "1",
                               "nocache": "1", "cgroupparent": cgroup}, str(tmp_path), {}, 120, out=fh)
        peak = int(open(os.path.join(folder[0], "pids.peak")).read())
    assert rc == 1 and not re.search(r"^forked: \d+", out.read_text(), re.M), out.read_text()[-2000:]
    assert "can't fork" in out.read_text() and 30 < peak <= 40, peak  # forks were refused at the limit
    left = glob.glob(CGROUPS + cgroup) + glob.glob(os.path.join(CGROUPS, "*") + cgroup)
    assert left == [], left


def test_without_a_parent_the_engine_places_the_build(parent):
    with build_cgroup("", 40) as cgroup:
        assert cgroup == ""
    assert glob.glob(os.path.join(CGROUPS, "*", parent.strip("/"), "build-*")) == []
