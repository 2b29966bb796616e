"""No dead code in controller_app, cli, plugins and agents: vulture (configured in pyproject.toml's [tool.vulture])
finds no unused function, class, variable, attribute or import. What it cannot see used is in
tests/codebase/vulture_whitelist.py, each line with its user; keep that list short."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_vulture_finds_nothing():
    proc = subprocess.run([sys.executable, "-m", "vulture"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout


def test_the_whitelist_stays_short_and_explained():
    with open(os.path.join(ROOT, "tests", "codebase", "vulture_whitelist.py"), encoding="utf-8") as fh:
        entries = [line for line in fh.read().split('"""')[-1].splitlines() if line.strip()
                   and not line.startswith("#")]
    assert len(entries) <= 12, entries
    assert all("  # " in line for line in entries), "every entry names its user after '  # '"
