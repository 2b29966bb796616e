"""One version for the whole project: galaxy.yml's. The packages, their pyproject files and every document or file
that names the collection's tarball say the same, so a release moves them together."""
from __future__ import annotations

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERSION = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
PACKAGES = ["agents/slipway_agents/__init__.py", "cli/slipway_cli/__init__.py", "controller_app/__init__.py"]
PYPROJECTS = ["pyproject.toml", "cli/pyproject.toml"]
TARBALL_NAMED_IN = ["README.md", "docs/install.md", "docs/development.md", "awx/requirements.yml"]


def test_the_packages_and_their_pyproject_files_carry_galaxys_version():
    for path in PACKAGES:
        assert re.findall(r'^__version__ = "([^"]+)"$', (ROOT / path).read_text(), re.M) == [VERSION], path
    for path in PYPROJECTS:
        assert re.findall(r'^version = "([^"]+)"$', (ROOT / path).read_text(), re.M) == [VERSION], path


def test_every_mention_of_the_tarball_names_this_version():
    for path in TARBALL_NAMED_IN:
        named = re.findall(r"slipway-paas-(\d[^/\s]*?)\.tar\.gz", (ROOT / path).read_text())
        assert named and set(named) == {VERSION}, (path, named)
