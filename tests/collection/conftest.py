"""Shared fixtures of the collection tests: the collection artifact built from this tree and installed offline
with its dependencies, an empty ansible.cfg, and a live controller with its admin's token."""
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


def install_dependencies(dest: str) -> None:
    """Install galaxy.yml's dependencies into the collections path DEST, as molecule/install-collections.sh takes
    them (the versions of molecule/requirements.yml, without Galaxy)."""
    subprocess.run(["bash", os.path.join(ROOT, "molecule", "install-collections.sh"), dest], check=True,
                   env=dict(os.environ, PYTHON=sys.executable), stdout=subprocess.DEVNULL)


def galaxy(*args: str, cfg: str, collections: str, cwd: str) -> subprocess.CompletedProcess:
    """ansible-galaxy with only the given collections path and configuration (never the repo's ansible.cfg)."""
    env = dict(os.environ, ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_PATH=collections)
    return subprocess.run([os.path.join(BIN, "ansible-galaxy"), *args], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def artifact(tmp_path_factory, ansible_cfg):
    """The collection artifact, built from this tree with `ansible-galaxy collection build`."""
    out = tmp_path_factory.mktemp("dist")
    proc = galaxy("collection", "build", "--output-path", str(out), ROOT, cfg=ansible_cfg, collections=str(out),
                  cwd=str(out))
    assert proc.returncode == 0, proc.stdout
    return str(next(out.glob("slipway-paas-*.tar.gz")))


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory, ansible_cfg, artifact):
    """A collections path holding the artifact installed as users install it, offline: its dependencies first,
    then `ansible-galaxy collection install --offline <tarball>`, which finds them there."""
    out = tmp_path_factory.mktemp("collections")
    install_dependencies(str(out))
    proc = galaxy("collection", "install", "--offline", "-p", str(out), artifact, cfg=ansible_cfg,
                  collections=str(out), cwd=str(out))
    assert proc.returncode == 0, proc.stdout
    return str(out)


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


