"""End-to-end CLI: autoscale:* and ps:history against a live controller deploying on this machine's Swarm
(tests/live.py; the `admin` fixture is conftest.py's)."""
from __future__ import annotations

import os
import subprocess

import pytest

pytestmark = pytest.mark.timeout(300)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_autoscale_commands_and_history(admin):
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh")], check=True, capture_output=True)
    admin.ok("apps:create", "as-app")
    admin.ok("pull", "slipway-test/web:1", "-a", "as-app")
    assert "No autoscaled" in admin.ok("autoscale:list", "-a", "as-app")
    out = admin.ok("autoscale:set", "cmd", "--min", "1", "--max", "3", "--cpu-percent", "70", "-a", "as-app")
    assert "1 to 3 processes at 70% CPU" in out
    assert admin.json("autoscale:list", "-a", "as-app") == {"cmd": {"min": 1, "max": 3, "cpu_percent": 70}}
    assert "70%" in admin.ok("autoscale", "-a", "as-app")
    admin.fails("ps:scale", "cmd=2", "-a", "as-app", match="cmd is autoscaled")
    admin.fails("autoscale:set", "cmd", "--min", "2", "--max", "1", "--cpu-percent", "50", "-a", "as-app",
                match="--max at least --min")
    admin.fails("autoscale:set", "nope", "--min", "1", "--max", "2", "--cpu-percent", "50", "-a", "as-app",
                match="does not exist")
    admin.ok("autoscale:unset", "cmd", "-a", "as-app")
    assert admin.json("autoscale:list", "-a", "as-app") == {}
    admin.ok("ps:scale", "cmd=2", "-a", "as-app")
    history = admin.ok("ps:history", "-a", "as-app")
    assert "scaled by" in history and "cmd=2" in history and "deployed slipway-test/web:1" in history
    assert [d["structure"] for d in admin.json("ps:history", "-a", "as-app")["results"]] == [{"cmd": 2},
                                                                                           {"cmd": 1}]
    admin.ok("apps:destroy", "-a", "as-app", "--confirm", "as-app")
