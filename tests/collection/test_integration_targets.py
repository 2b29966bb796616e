"""Run every tests/integration/targets/<module> against a live controller with ansible-playbook.

The session starts the dev services (PostgreSQL, Docker Swarm), a real controller on a fresh database
(tests/live.py), registers the first user (the admin) and logs in, builds and installs the collection from
this tree into a temp collections path, then runs each target as a role on localhost with SLIPWAY_URL and
SLIPWAY_TOKEN in the environment. A target fails the test when ansible-playbook fails (its asserts).

    .venv/bin/pytest tests/collection/test_integration_targets.py            # all targets
    .venv/bin/pytest tests/collection/test_integration_targets.py -k config  # one
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.collection.conftest import ADMIN, BIN, TARGETS_DIR

TARGETS = sorted(t for t in os.listdir(TARGETS_DIR)
                 if not t.startswith("setup_") and os.path.exists(os.path.join(TARGETS_DIR, t, "tasks", "main.yml")))


def run_target(target, controller, collections_path, tmp_path, ansible_cfg):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  connection: local\n"
        "  vars:\n"
        "    ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        "  roles:\n"
        f"    - {target}\n")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({
        "slipway_admin_username": ADMIN[0],
        "slipway_admin_password": ADMIN[1],
        "slipway_test_image": controller["image"],
        "slipway_router_key": controller["router_key"],
        "slipway_builder_key": controller["builder_key"],
    }))
    env = dict(os.environ)
    env.update({
        "SLIPWAY_URL": controller["url"],
        "SLIPWAY_TOKEN": controller["token"],
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_ROLES_PATH": TARGETS_DIR,
        "ANSIBLE_CONFIG": ansible_cfg,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(playbook),
                           "-e", "@" + str(extra)], cwd=str(tmp_path), env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    (tmp_path / "output.txt").write_text(proc.stdout)
    return proc


@pytest.mark.timeout(900)
@pytest.mark.parametrize("target", TARGETS)
def test_target(target, controller, collections_path, tmp_path, ansible_cfg):
    proc = run_target(target, controller, collections_path, tmp_path, ansible_cfg)
    assert proc.returncode == 0, f"target {target} failed:\n" + proc.stdout[-20000:]
    assert "failed=0" in proc.stdout
