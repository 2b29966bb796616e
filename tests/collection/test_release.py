"""Releases: galaxy.yml's version is semver, changelogs/ (antsibull-changelog) records every release up to it,
CHANGELOG.rst is what antsibull-changelog makes of them, and changes made since the last release wait as
fragments for a version galaxy.yml has already moved on to."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import yaml
from ansible.utils.version import SemanticVersion

from tests.collection.conftest import ROOT

CHANGELOG = os.path.join(ROOT, "changelogs", "changelog.yaml")
TOOL = os.path.join(ROOT, ".venv", "bin", "antsibull-changelog")


def galaxy_version() -> SemanticVersion:
    return SemanticVersion(yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["version"])


def released() -> list[SemanticVersion]:
    return sorted(SemanticVersion(v) for v in (yaml.safe_load(open(CHANGELOG))["releases"] or {}))


def test_galaxy_version_is_semver_and_no_release_is_newer():
    version = galaxy_version()
    assert version.vstring == yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["version"]
    assert released(), "changelogs/changelog.yaml records no release"
    assert all(v <= version for v in released()), (released(), version)


def test_changes_since_the_last_release_name_an_unreleased_version():
    pending = glob.glob(os.path.join(ROOT, "changelogs", "fragments", "*.y*ml"))
    if pending:
        assert galaxy_version() not in released(), (
            f"changelogs/fragments holds changes but galaxy.yml's version {galaxy_version()} is already released: "
            "move galaxy.yml to the next version")


def test_antsibull_changelog_accepts_the_changelog_and_the_rst_is_current(tmp_path):
    tool = shutil.which("antsibull-changelog") or TOOL
    lint = subprocess.run([tool, "lint-changelog-yaml", CHANGELOG], capture_output=True, text=True)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr
    copy = tmp_path / "collection"
    shutil.copytree(os.path.join(ROOT, "changelogs"), copy / "changelogs")
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), copy / "galaxy.yml")
    made = subprocess.run([tool, "generate"], cwd=copy, capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (copy / "CHANGELOG.rst").read_text() == open(os.path.join(ROOT, "CHANGELOG.rst")).read()
