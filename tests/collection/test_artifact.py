"""The collection artifact: what `ansible-galaxy collection build` puts in the tarball, what it declares, and that
`ansible-galaxy collection install --offline` installs it beside its dependencies."""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import tarfile

import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

from tests.collection.conftest import ROOT

# What the tarball holds at its top: collection content, what the roles copy to hosts, the execution
# environment's requirement files, and the metadata ansible-galaxy writes.
SHIPPED = {"CHANGELOG.rst", "FILES.json", "MANIFEST.json", "README.md", "agents", "bindep.txt", "changelogs",
           "controller_app", "docs", "meta", "playbooks", "plugins", "requirements.txt", "roles", "tests"}
# The ansible-test parts of tests/ (the project's own suites stay out).
SHIPPED_TESTS = ("tests/unit/plugins/", "tests/unit/__init__.py", "tests/unit/conftest.py", "tests/integration/",
                 "tests/sanity/")
FQCN = re.compile(r"\b([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+\b")


def members(tarball: str) -> list[str]:
    with tarfile.open(tarball) as tar:
        return [m.name for m in tar.getmembers()]


def tracked(path: str) -> set[str]:
    """The files git tracks under PATH (what the source tree holds of it)."""
    out = subprocess.run(["git", "ls-files", path], cwd=ROOT, check=True, text=True, stdout=subprocess.PIPE).stdout
    return set(out.split())


def role_copy_sources() -> set[str]:
    """The folders of this collection the roles copy to hosts: their `{{ role_path }}/../../<folder>` defaults."""
    found = set()
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml")):
        for value in yaml.safe_load(open(path)).values():
            match = re.fullmatch(r"\{\{ role_path \}\}/\.\./\.\./(\w+)", str(value))
            if match:
                found.add(match.group(1))
    return found


def used_collections() -> set[str]:
    """The collections roles, playbooks and plugins name (their fully qualified names), but this one and Ansible's."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "roles", "**", "*.yml"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + \
            glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        for line in open(path):
            if line.lstrip().startswith(("from ", "import ")):
                continue  # Python imports (ansible.module_utils...): modules, not collections
            names.update(FQCN.findall(line))
    return {n for n in names if n.split(".")[0] in {"community", "ansible", "containers", "kubernetes"}
            and n not in {"ansible.builtin", "ansible.legacy"} and not n.startswith("ansible.module_utils")}


def test_the_tarball_holds_the_collection_and_what_roles_copy_to_hosts(artifact):
    names = members(artifact)
    assert {n.split("/")[0] for n in names} == SHIPPED
    for name in names:
        assert not name.startswith(("bench", "molecule", "scripts", "cli", "examples", "inventories", "awx")), name
        assert not re.search(r"(^|/)(__pycache__|\.[^/]+)(/|$)|\.pyc$", name), name
        if name.startswith("tests/"):
            assert name.startswith(SHIPPED_TESTS) or name + "/" in SHIPPED_TESTS or name == "tests/unit", name
    sources = role_copy_sources()
    assert sources == {"agents", "controller_app"}
    shipped = set(names)
    for folder in sorted(sources | {"roles", "plugins", "playbooks", "meta"}):
        missing = {f for f in tracked(folder) if "__pycache__" not in f} - shipped
        assert not missing, f"{folder}: {sorted(missing)[:10]}"


def test_galaxy_yml_declares_what_the_roles_use_with_ranges_holding_the_tested_versions(artifact):
    with tarfile.open(artifact) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    declared = manifest["dependencies"]
    assert set(declared) == used_collections() == {"community.crypto", "community.docker", "community.postgresql"}
    tested = {c["name"]: c["version"] for c in yaml.safe_load(open(os.path.join(ROOT, "molecule",
                                                                           "requirements.yml")))["collections"]}
    for name, spec in declared.items():
        assert "<" in spec and ">=" in spec, f"{name}: {spec} is not a range"
        assert meets_requirements(tested[name], spec), f"{name} {tested[name]} is outside {spec}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"]), "galaxy.yml's version is not semver"


def test_offline_install_puts_the_artifact_beside_its_dependencies(collections_path, artifact):
    root = os.path.join(collections_path, "ansible_collections")
    installed = json.load(open(os.path.join(root, "slipway", "paas", "MANIFEST.json")))["collection_info"]
    assert os.path.basename(artifact) == f"slipway-paas-{installed['version']}.tar.gz"
    for name, spec in installed["dependencies"].items():
        namespace, coll = name.split(".")
        version = json.load(open(os.path.join(root, namespace, coll, "MANIFEST.json")))["collection_info"]["version"]
        assert meets_requirements(version, spec)
    for folder in role_copy_sources():
        assert os.path.isdir(os.path.join(root, "slipway", "paas", folder))


@pytest.mark.parametrize("package", ["boto3", "passlib"])
def test_requirements_name_no_unused_package(package):
    for path in ["requirements.txt", *glob.glob(os.path.join(ROOT, "requirements", "*.txt")),
                 os.path.join(ROOT, "scripts", "install.sh")]:
        text = open(os.path.join(ROOT, path)).read().lower()
        assert not re.search(rf"^{package}\b", text, re.M), f"{path} names {package}"
    used = subprocess.run(["git", "grep", "-l", "-i", "-w", package, "--", "*.py", "*.yml", "*.j2", "*.sh",
                           ":!tests/collection/test_artifact.py"], cwd=ROOT,
                          text=True, stdout=subprocess.PIPE).stdout
    assert not used.strip(), used


def test_control_node_requirements_cover_community_crypto():
    lines = [line.split("#")[0].strip() for line in open(os.path.join(ROOT, "requirements.txt"))]
    assert any(line.startswith("cryptography") for line in lines)
    assert subprocess.run(["git", "grep", "-q", "community.crypto.", "--", "roles"], cwd=ROOT).returncode == 0
