"""The execution environment (awx/execution-environment.yml, ansible-builder 3): `ansible-builder create` turns it
into a build context offline, and that context holds what an operator checks before `ansible-builder build`: the
collection's own tarball as the galaxy requirement (which installs offline beside its dependencies), the Python
requirements and the system packages (bindep)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.collection.conftest import BIN, ROOT, galaxy, install_dependencies

EE = os.path.join("awx", "execution-environment.yml")


def requirement_lines(path: str) -> list[str]:
    """The requirements of a pip or bindep file, comments and blank lines left out."""
    return [line.split("#")[0].strip() for line in open(path) if line.split("#")[0].strip()]


@pytest.fixture(scope="module")
def context(tmp_path_factory, artifact):
    """`ansible-builder create` run on a copy of what the definition reads, with the built tarball in dist/."""
    project = tmp_path_factory.mktemp("ee")
    definition = yaml.safe_load(open(os.path.join(ROOT, EE)))
    shutil.copytree(os.path.join(ROOT, "awx"), project / "awx")
    for name in ("requirements.txt", "bindep.txt"):
        shutil.copy(os.path.join(ROOT, name), project / name)
    (project / "dist").mkdir()
    shutil.copy(artifact, project / "dist")
    out = project / "context"
    proc = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", str(project / EE), "-c", str(out),
                           "--output-filename", "Containerfile"], cwd=str(project), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout
    return {"dir": str(out), "definition": definition}


def test_the_definition_is_version_3_with_one_definition_in_the_repository(context):
    assert context["definition"]["version"] == 3
    found = subprocess.run(["git", "ls-files", "*execution-environment.yml"], cwd=ROOT, check=True, text=True,
                           stdout=subprocess.PIPE).stdout.split()
    # awx/ defines the environment; meta/ is the collection's own declaration of its needs (read by introspection)
    assert sorted(found) == ["awx/execution-environment.yml", "meta/execution-environment.yml"]
    meta = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml")))
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}


def test_the_context_holds_the_collection_tarball_as_its_galaxy_requirement(context, artifact):
    build = os.path.join(context["dir"], "_build")
    collections = yaml.safe_load(open(os.path.join(build, "requirements.yml")))["collections"]
    assert [c["type"] for c in collections] == ["file"]
    tarball = os.path.join(build, collections[0]["name"])
    assert os.path.basename(tarball) == os.path.basename(artifact)
    with open(tarball, "rb") as got, open(artifact, "rb") as built:
        assert got.read() == built.read()
    containerfile = open(os.path.join(context["dir"], "Containerfile")).read()
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile


def test_the_context_holds_the_python_requirements_and_bindep(context):
    build = os.path.join(context["dir"], "_build")
    assert requirement_lines(os.path.join(build, "requirements.txt")) == \
        requirement_lines(os.path.join(ROOT, "requirements.txt"))
    assert any(line.startswith("cryptography") for line in requirement_lines(os.path.join(build, "requirements.txt")))
    bindep = requirement_lines(os.path.join(build, "bindep.txt"))
    assert bindep == requirement_lines(os.path.join(ROOT, "bindep.txt"))
    for package in ("git", "tar", "gzip", "openssh-clients [platform:rpm]"):
        assert any(line == package or line.startswith(package + " ") for line in bindep), package
    containerfile = open(os.path.join(context["dir"], "Containerfile")).read()
    assert "ansible-core>=2.19.4,<2.20" in containerfile and "ansible-runner" in containerfile


def test_the_galaxy_requirement_installs_offline_and_introspects_to_the_collection_needs(context, tmp_path,
                                                                                        ansible_cfg):
    """What the build's galaxy stage and introspection do, without a registry: install the context's
    requirements.yml offline beside the dependencies, then run the context's introspect.py on the result."""
    build = os.path.join(context["dir"], "_build")
    dest = tmp_path / "collections"
    install_dependencies(str(dest))
    proc = galaxy("collection", "install", "--offline", "-r", "requirements.yml", "-p", str(dest),
                  cfg=ansible_cfg, collections=str(dest), cwd=build)
    assert proc.returncode == 0, proc.stdout
    installed = dest / "ansible_collections" / "slipway" / "paas"
    assert (installed / "MANIFEST.json").is_file()
    proc = subprocess.run([sys.executable, os.path.join(build, "scripts", "introspect.py"), "introspect",
                           str(dest)], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout
    found = yaml.safe_load(proc.stdout)
    assert any(line.startswith("cryptography") for line in found["python"]), proc.stdout
    assert any(line.startswith("git ") for line in found["system"]), proc.stdout
    with tarfile.open(os.path.join(build, yaml.safe_load(open(os.path.join(build, "requirements.yml")))
                                   ["collections"][0]["name"])) as tar:
        assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= set(tar.getnames())
