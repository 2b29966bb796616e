"""The router and builder roles on a Debian 13 systemd host whose Docker Engine runs the systemd cgroup driver
(Docker's default on cgroup v2 hosts; tests/agents/roles/run.sh): converged, a real push end to end, and real builds
in slipway-build.slice, where a fork bomb is stopped by its TasksMax and a build over its memory is killed
(tests/agents/roles/verify_sandbox_cgroups.sh); the platform's firewall through a Docker restart, Debian's
nftables.service flushing the ruleset, and a reboot (tests/agents/roles/verify_firewall.sh)."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import ROOT

RUN = os.path.join(ROOT, "tests", "agents", "roles", "run.sh")


@pytest.mark.timeout(3600)
def test_router_and_builder_roles_and_the_sandbox_under_the_systemd_cgroup_driver():
    r = subprocess.run([RUN], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=3500)
    assert r.returncode == 0 and "ROLES OK" in r.stdout, r.stdout[-20000:]
    assert "SANDBOX CGROUPS OK (systemd driver)" in r.stdout, r.stdout[-20000:]
    assert re.search(r"SYSTEMD CGROUP DRIVER OK \(\d+ s\)", r.stdout), r.stdout[-20000:]
    assert "FIREWALL OK" in r.stdout, r.stdout[-20000:]
