"""Run every tests/integration/targets/<module> against a live controller with ansible-playbook.

The session starts the dev services (PostgreSQL, Docker Swarm), a real controller on a fresh database
(tests/live.py), registers the first user (the admin) and logs in, builds and installs the collection from
this tree into a temp collections path, then runs each target as a role on localhost with SLIPWAY_URL and
SLIPWAY_TOKEN in the environment. A target fails the test when ansible-playbook fails (its asserts).

Each target runs twice: as the modules normally run on localhost (inside ansible-playbook, through the
collection's action plugin: plugins/action/controller.py), and as separate module processes (the way
they run on a remote host, or here with a play-level `environment`).

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


# a play-level environment makes every task run its module in a process of its own
AS_MODULE = "  environment: {SLIPWAY_TEST_AS_MODULE: '1'}\n"


def run_target(target, controller, collections_path, tmp_path, ansible_cfg, mode="in-process", verbose=False):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  connection: local\n"
        + (AS_MODULE if mode == "module" else "") +
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
                           "-e", "@" + str(extra)] + (["-vvv"] if verbose else []), cwd=str(tmp_path), env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    (tmp_path / "output.txt").write_text(proc.stdout)
    return proc


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", ["in-process", "module"])
@pytest.mark.parametrize("target", TARGETS)
def test_target(target, mode, controller, collections_path, tmp_path, ansible_cfg):
    proc = run_target(target, controller, collections_path, tmp_path, ansible_cfg, mode)
    assert proc.returncode == 0, f"target {target} ({mode}) failed:\n" + proc.stdout[-20000:]
    assert "failed=0" in proc.stdout


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["in-process", "module"])
def test_which_process_runs_the_modules(mode, controller, collections_path, tmp_path, ansible_cfg):
    """On localhost no module payload is sent or started, unless the play asks for a process of its own;
    the target's asserts pass either way."""
    proc = run_target("domain", controller, collections_path, tmp_path, ansible_cfg, mode, verbose=True)
    assert proc.returncode == 0, proc.stdout[-20000:]
    payloads = proc.stdout.count("AnsiballZ_") + proc.stdout.count("EXEC /bin/sh -c")
    if mode == "module":
        assert payloads > 0, proc.stdout[-5000:]
    else:
        assert payloads == 0, proc.stdout[-5000:]
