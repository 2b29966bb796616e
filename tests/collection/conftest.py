"""Shared fixtures of the collection tests: the collection built and installed from this tree, an empty
ansible.cfg, and a live controller with its admin's token."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS_DIR = os.path.join(ROOT, "tests", "integration", "targets")
BIN = os.path.dirname(sys.executable)
TEST_IMAGE = os.environ.get("SLIPWAY_TEST_IMAGE", "slipway-test/web:1")
ADMIN = ("admin", "admin-" + os.urandom(8).hex())

sys.path.insert(0, ROOT)


@pytest.fixture(scope="session")
def ansible_cfg(tmp_path_factory):
    """An empty ansible.cfg, so the repo's own (molecule) configuration does not apply."""
    path = tmp_path_factory.mktemp("cfg") / "ansible.cfg"
    path.write_text("[defaults]\n")
    return str(path)


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
    """A live controller with its first admin (made by the bootstrap command) and that admin's token."""
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "dev-services.sh")], check=True, stdout=subprocess.DEVNULL)
    image_script = os.path.join(ROOT, "scripts", "build-test-image.sh")
    image_ok = False
    if os.path.exists(image_script):
        image_ok = subprocess.run(["bash", image_script, "web"], stdout=subprocess.DEVNULL).returncode == 0
    from tests.live import live_controller
    # Deploys here have no router to acknowledge routes: do not wait for one.
    # Open registration: the user target registers without a token, as on a platform that allows it.
    with live_controller(admin=ADMIN, SLIPWAY_ROUTER_ACK_TIMEOUT="0.5", SLIPWAY_LOGIN_ATTEMPTS_PER_MINUTE="600",
                         SLIPWAY_REGISTRATION_MODE="enabled") as ctl:
        yield {"url": ctl.url, "token": ctl.admin_token, "router_key": ctl.router_key, "builder_key": ctl.builder_key,
               "image": TEST_IMAGE if image_ok else ""}


