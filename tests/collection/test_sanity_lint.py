"""ansible-test sanity and ansible-lint (production profile) on the collection as users get it: the tarball
`ansible-galaxy collection build` makes, installed offline with its dependencies.

Sanity runs through tests/collection/sanity.sh (build, offline install into a temp collections path, then
`ansible-test sanity --python 3.11 --local` in the installed copy), on the whole artifact.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap

import pytest
import yaml

from tests.collection.test_docs_examples import MODULES, load
from tests.collection.conftest import BIN, ROOT

# The sanity tests that apply to this collection's files without --docker: every one must run (none skipped for
# a missing program) and pass. pslint has no PowerShell file to check, so ansible-test skips it by itself.
SANITY_TESTS = {"action-plugin-docs", "ansible-doc", "changelog", "compile", "empty-init", "ignores", "import",
                "line-endings", "no-assert", "no-get-exception", "no-illegal-filenames", "no-smart-quotes", "pep8",
                "pylint", "replace-urlopen", "runtime-metadata", "shebang", "shellcheck", "symlinks",
                "use-argspec-type-path", "use-compat-six", "validate-modules", "yamllint"}


@pytest.mark.timeout(1800)
def test_ansible_test_sanity_on_the_installed_artifact(tmp_path):
    env = dict(os.environ, SLIPWAY_VENV=os.path.dirname(BIN), SLIPWAY_SANITY_DIR=str(tmp_path))
    proc = subprocess.run(["bash", os.path.join(ROOT, "tests", "collection", "sanity.sh"), "--python", "3.11",
                           "--local"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    errors = [line for line in proc.stdout.splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert proc.returncode == 0, "\n".join(errors) or proc.stdout[-5000:]
    ran = set(re.findall(r'^Running sanity test "([^"]+)"', proc.stdout, re.M))
    assert SANITY_TESTS <= ran, sorted(SANITY_TESTS - ran)
    assert "Required program" not in proc.stdout, proc.stdout[-3000:]
    installed = tmp_path / "collections" / "ansible_collections" / "slipway" / "paas"
    assert (installed / "MANIFEST.json").is_file() and not (installed / "galaxy.yml").exists()


def test_sanity_ignore_file_is_explained():
    path = os.path.join(ROOT, "tests", "sanity", "ignore-2.19.txt")
    lines = [line for line in open(path).read().splitlines() if line.strip()]
    assert all(" # " in line for line in lines), "every ignore line needs an explanation after ' # '"


@pytest.mark.timeout(600)
def test_ansible_lint_production(collections_path, ansible_cfg, tmp_path):
    """Lint a copy of the installed artifact (ansible-lint writes a .ansible/ cache into the project it lints),
    with galaxy.yml (which the artifact carries as MANIFEST.json) and the EXAMPLES as a playbook."""
    installed = os.path.join(collections_path, "ansible_collections", "slipway", "paas")
    project = tmp_path / "paas"
    shutil.copytree(installed, project, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), project / "galaxy.yml")
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
