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
import shutil
import subprocess
import sys
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS_DIR = os.path.join(ROOT, "tests", "integration", "targets")
BIN = os.path.dirname(sys.executable)
TEST_IMAGE = os.environ.get("SLIPWAY_TEST_IMAGE", "slipway-test/web:1")
ADMIN = ("admin", "admin-" + os.urandom(8).hex())

TARGETS = sorted(t for t in os.listdir(TARGETS_DIR)
                 if not t.startswith("setup_") and os.path.exists(os.path.join(TARGETS_DIR, t, "tasks", "main.yml")))

sys.path.insert(0, ROOT)


@pytest.fixture(scope="session")
def ansible_cfg(tmp_path_factory):
    """An empty ansible.cfg, so the repo's own (molecule) configuration does not apply."""
    path = tmp_path_factory.mktemp("cfg") / "ansible.cfg"
    path.write_text("[defaults]\n")
    return str(path)


def _post(url, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "token " + token
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory, ansible_cfg):
    """Build the collection artifact from this tree and install it (as users would) into a temp path."""
    out = tmp_path_factory.mktemp("collection")
    env = dict(os.environ, ANSIBLE_CONFIG=ansible_cfg)
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT],
                   check=True, cwd=str(out), env=env, stdout=subprocess.DEVNULL)
    tarball = next(out.glob("slipway-paas-*.tar.gz"))
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", "-p", str(out / "c"),
                    str(tarball)], check=True, cwd=str(out), env=env, stdout=subprocess.DEVNULL)
    return str(out / "c")


@pytest.fixture(scope="session")
def controller():
    """A live controller with its first user (the admin) and that user's token."""
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "dev-services.sh")], check=True, stdout=subprocess.DEVNULL)
    image_script = os.path.join(ROOT, "scripts", "build-test-image.sh")
    image_ok = False
    if os.path.exists(image_script):
        image_ok = subprocess.run(["bash", image_script, "web"], stdout=subprocess.DEVNULL).returncode == 0
    from tests.live import live_controller
    # Deploys here have no router to acknowledge routes: do not wait for one.
    with live_controller(SLIPWAY_ROUTER_ACK_TIMEOUT="0.5", SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE="600") as ctl:
        _post(ctl.url + "/v2/auth/register/", {"username": ADMIN[0], "password": ADMIN[1], "email": "a@it.test"})
        token = _post(ctl.url + "/v2/auth/login/", {"username": ADMIN[0], "password": ADMIN[1]})["token"]
        yield {"url": ctl.url, "token": token, "router_key": ctl.router_key, "builder_key": ctl.builder_key,
               "image": TEST_IMAGE if image_ok else ""}


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
