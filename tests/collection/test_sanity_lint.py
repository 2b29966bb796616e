"""ansible-test sanity and ansible-lint (production profile) on the collection's modules, tests and examples.

Sanity runs through tests/collection/sanity.sh (a copy of the collection content laid out under
ansible_collections/slipway/paas/), limited here to the paths this suite owns; run the script without
arguments for the whole collection (roles included).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest
import yaml

from tests.collection.test_docs_examples import MODULES, load
from tests.collection.conftest import BIN, ROOT

SANITY_PATHS = ["plugins/", "meta/", "changelogs/", "tests/unit/", "tests/integration/", "galaxy.yml"]


@pytest.mark.timeout(1200)
def test_ansible_test_sanity():
    proc = subprocess.run(["bash", os.path.join(ROOT, "tests", "collection", "sanity.sh"), "--python", "3.11",
                           "--local", *SANITY_PATHS], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    errors = [line for line in proc.stdout.splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert proc.returncode == 0, "\n".join(errors) or proc.stdout[-5000:]


def test_sanity_ignore_file_is_explained():
    path = os.path.join(ROOT, "tests", "sanity", "ignore-2.19.txt")
    lines = [line for line in open(path).read().splitlines() if line.strip()]
    assert all(" # " in line for line in lines), "every ignore line needs an explanation after ' # '"


@pytest.mark.timeout(600)
def test_ansible_lint_production(collections_path, ansible_cfg, tmp_path):
    """Lint a copy (ansible-lint writes a .ansible/ cache into the project it lints) with the EXAMPLES as a playbook."""
    project = tmp_path / "paas"
    for path in ("galaxy.yml", "README.md", "meta", "plugins", "changelogs", "tests/integration"):
        src = os.path.join(ROOT, path)
        if os.path.isdir(src):
            shutil.copytree(src, project / path, ignore=shutil.ignore_patterns("__pycache__"))
        elif os.path.exists(src):
            project.mkdir(exist_ok=True)
            shutil.copy(src, project / path)
    plays = ["---"]
    for name in MODULES:
        module, _, _ = load(name)
        plays.append(f"- name: Examples of {name}\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                     + textwrap.indent(module.EXAMPLES.strip("\n"), "    "))
    (project / "examples").mkdir()
    examples = project / "examples" / "modules.yml"
    examples.write_text("\n".join(plays) + "\n")
    yaml.safe_load(examples.read_text())
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_CONFIG=ansible_cfg,
               NO_COLOR="1", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([os.path.join(BIN, "ansible-lint"), "--nocolor", "--offline", "--profile", "production",
                           "examples/modules.yml", "tests/integration/targets", "galaxy.yml", "meta", "changelogs"],
                          cwd=str(project), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout[-8000:]
    assert "Profile 'production' was required, and it passed" in proc.stdout
