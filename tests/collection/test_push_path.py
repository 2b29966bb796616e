"""The collection's push path pieces, as the builder installs them: the deploy playbook by its name
(slipway.paas.deploy), its build step (slipway.paas.sandbox_build) and its stdout callback (slipway.paas.push)."""
from __future__ import annotations

import os
import subprocess

import yaml

from tests.collection.conftest import BIN, ROOT
from tests.collection.test_docs_examples import BUILDER_MODULES

import tests.unit.conftest  # noqa: E402,F401  (makes ansible_collections.slipway.paas importable)

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402


def run(argv, collections_path, ansible_cfg, cwd):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_CONFIG=ansible_cfg, ANSIBLE_NOCOLOR="1")
    return subprocess.run(argv, env=env, cwd=str(cwd), text=True, capture_output=True)


def test_the_build_step_is_documented_and_its_examples_match(collections_path, ansible_cfg, tmp_path):
    from ansible_collections.slipway.paas.plugins.modules import sandbox_build
    assert BUILDER_MODULES == ["sandbox_build"]
    doc = yaml.safe_load(sandbox_build.DOCUMENTATION)
    assert set(doc["options"]) == set(sandbox_build.ARGUMENT_SPEC)
    yaml.safe_load(sandbox_build.RETURN)
    for task in yaml.safe_load(sandbox_build.EXAMPLES):
        result = ArgumentSpecValidator(sandbox_build.ARGUMENT_SPEC).validate(task["slipway.paas.sandbox_build"])
        assert not result.errors.errors, result.errors.errors
    proc = run([os.path.join(BIN, "ansible-doc"), "slipway.paas.sandbox_build"], collections_path, ansible_cfg,
               tmp_path)
    assert proc.returncode == 0 and "RETURN VALUES" in proc.stdout, proc.stderr
    assert "[WARNING]" not in proc.stderr, proc.stderr


def test_the_push_callback_is_documented(collections_path, ansible_cfg, tmp_path):
    proc = run([os.path.join(BIN, "ansible-doc"), "-t", "callback", "slipway.paas.push"], collections_path,
               ansible_cfg, tmp_path)
    assert proc.returncode == 0 and "slipway.paas.push" in proc.stdout, proc.stderr
    assert "[WARNING]" not in proc.stderr, proc.stderr


def test_the_deploy_playbook_runs_by_its_name_from_the_installed_collection(collections_path, ansible_cfg, tmp_path):
    installed = os.path.join(collections_path, "ansible_collections", "slipway", "paas", "playbooks", "deploy.yml")
    assert os.path.isfile(installed)
    proc = run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "--syntax-check", "slipway.paas.deploy"],
               collections_path, ansible_cfg, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_role_and_playbook_stay_out_of_each_others_folders():
    with open(os.path.join(ROOT, "playbooks", "deploy.yml")) as fh:
        playbook = fh.read()
    assert "../roles" not in playbook and "lookup('ansible.builtin.pipe'" not in playbook and "/proc/" not in playbook
    for folder, _, files in os.walk(os.path.join(ROOT, "roles", "builder")):
        for name in files:
            with open(os.path.join(folder, name), errors="replace") as fh:
                assert "../playbooks" not in fh.read(), os.path.join(folder, name)
