"""Every module's documentation renders and its EXAMPLES are valid tasks for its argument spec.

The EXAMPLES are parsed, each task's arguments are validated with Ansible's own ArgumentSpecValidator
against the module's real argument spec, and all of them are run through `ansible-playbook --syntax-check`
with the collection built and installed from this tree. `ansible-doc` must render each module.
"""
from __future__ import annotations

import importlib
import inspect
import os
import subprocess

import pytest
import yaml

from tests.collection.conftest import BIN, ROOT

import tests.unit.conftest  # noqa: E402,F401  (makes ansible_collections.slipway.paas importable)

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

ALL_MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if f.endswith(".py") and not f.startswith("_"))
# The deploy playbook's build step, an action plugin of its own (tests/collection/test_push_path.py)
BUILDER_MODULES = ["sandbox_build"]
# The controller's clients, run through plugins/action/controller.py
MODULES = [name for name in ALL_MODULES if name not in BUILDER_MODULES]


def load(name):
    module = importlib.import_module(f"ansible_collections.slipway.paas.plugins.modules.{name}")
    from ansible_collections.slipway.paas.plugins.module_utils.api import controller_argument_spec
    from ansible_collections.slipway.paas.plugins.module_utils.base import ControllerModule
    cls = next(c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, ControllerModule) and c is not ControllerModule)
    spec = controller_argument_spec()
    spec["url"]["required"] = False  # examples take the connection from module_defaults or the environment
    spec.update(cls.argument_spec)
    return module, cls, spec


def example_tasks(module):
    tasks = yaml.safe_load(module.EXAMPLES)
    assert isinstance(tasks, list) and tasks
    return tasks


def test_every_module_is_in_the_action_group():
    runtime = yaml.safe_load(open(os.path.join(ROOT, "meta", "runtime.yml")))
    assert sorted(runtime["action_groups"]["controller"]) == MODULES
    assert set(BUILDER_MODULES) <= set(ALL_MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_documentation_parses(name):
    module, _, spec = load(name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == name
    from_fragments = {"url", "token", "validate_certs", "ca_path", "timeout"}
    if "slipway.paas.controller.serving" in doc["extends_documentation_fragment"]:
        from_fragments |= {"wait_for_serving", "wait_timeout", "wait_headers"}
    assert set(doc["options"]) == set(spec) - from_fragments
    if "slipway.paas.controller.info_module" not in doc["extends_documentation_fragment"]:
        assert doc["attributes"]["check_mode"]["support"] in ("full", "partial")
        assert doc["attributes"]["diff_mode"]["support"] in ("full", "partial")
    yaml.safe_load(module.RETURN)


@pytest.mark.parametrize("name", MODULES)
def test_examples_match_the_argument_spec(name):
    module, cls, spec = load(name)
    fqcn = f"slipway.paas.{name}"
    used = 0
    for task in example_tasks(module):
        if fqcn not in task:
            continue
        used += 1
        args = task[fqcn] or {}
        result = ArgumentSpecValidator(spec, mutually_exclusive=cls.mutually_exclusive,
                                       required_together=cls.required_together,
                                       required_one_of=cls.required_one_of,
                                       required_if=cls.required_if).validate(args)
        errors = [str(e) for e in result.errors.errors]
        assert not errors, f"{task['name']}: {errors}"
    assert used, f"EXAMPLES of {name} never use {fqcn}"


def test_examples_pass_syntax_check(collections_path, ansible_cfg, tmp_path):
    plays = []
    for name in MODULES:
        module, _, _ = load(name)
        plays.append({"name": f"Examples of {name}", "hosts": "localhost", "gather_facts": False,
                      "tasks": example_tasks(module)})
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_CONFIG=ansible_cfg)
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "--syntax-check",
                           str(playbook)], env=env, cwd=str(tmp_path), text=True, capture_output=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_doc_renders_every_module(collections_path, ansible_cfg, tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_CONFIG=ansible_cfg, ANSIBLE_NOCOLOR="1")
    for name in MODULES:
        proc = subprocess.run([os.path.join(BIN, "ansible-doc"), f"slipway.paas.{name}"], env=env,
                              cwd=str(tmp_path), text=True, capture_output=True)
        assert proc.returncode == 0, proc.stderr
        assert f"slipway.paas.{name}" in proc.stdout and "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout
        assert "[WARNING]" not in proc.stderr, proc.stderr
