"""The CLI is its own small package: requests only, a `slipway` console script, no controller imports."""
from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import tomllib


CLI = pathlib.Path(__file__).resolve().parents[2] / "cli"


def test_pyproject():
    meta = tomllib.loads((CLI / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["scripts"] == {"slipway": "slipway_cli.main:main"}
    assert [d.split(">")[0].split("=")[0].strip() for d in project["dependencies"]] == ["requests"]
    assert project["requires-python"] == ">=3.11"


def test_imports_stay_inside_the_package():
    """Only the standard library, requests and slipway_cli itself (never controller_app)."""
    allowed = set(sys.stdlib_module_names) | {"requests", "slipway_cli"}
    for path in (CLI / "slipway_cli").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module]
            else:
                continue
            for m in mods:
                assert m.split(".")[0] in allowed, f"{path.name} imports {m}"


def test_module_entry_point(home):
    env = dict(os.environ, PYTHONPATH=str(CLI))
    r = subprocess.run([sys.executable, "-m", "slipway_cli", "--version"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.startswith("slipway ")


def test_console_script_when_installed(home):
    script = pathlib.Path(sys.executable).parent / "slipway"
    assert script.exists(), "the CLI is not installed in the venv (scripts/install.sh runs pip install -e cli)"
    r = subprocess.run([str(script), "help"], capture_output=True, text=True)
    assert r.returncode == 0 and "apps:create" in r.stdout
