"""The common and monitor roles on a Debian 13 systemd host (tests/monitor/host/run.sh): converged twice (the
second run changes nothing); Prometheus inside scrapes the node exporter on the host's platform address, loads the
platform's rules, fires the backup alert (60 s window, no backup) and clears it once the textfile collector reports
a backup; the node exporter does not answer this machine, which is no monitor host."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN = os.path.join(HERE, "host", "run.sh")


@pytest.mark.timeout(1800)
def test_common_and_monitor_roles_on_a_host():
    env = dict(os.environ, ANSIBLE_PLAYBOOK=os.path.join(os.path.dirname(sys.executable), "ansible-playbook"))
    r = subprocess.run([RUN], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=1700)
    assert r.returncode == 0 and "IDEMPOTENT" in r.stdout and "MONITOR OK" in r.stdout, r.stdout[-20000:]
    assert re.search(r"WALLED OFF \(\d+ s\)", r.stdout), r.stdout[-20000:]
