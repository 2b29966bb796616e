"""Fixtures for the Swarm scheduler tests: the real single-node Swarm of this machine and a scheduler on it.

Needs a Docker Engine in Swarm mode (scripts/dev-services.sh starts one when absent) and builds the test
images with scripts/build-test-image.sh (no registry needed). Every test uses its own random app id and
removes only what carries that id: other suites share this Docker Engine. Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys

import docker
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from controller_app.scheduler.swarm import SwarmScheduler  # noqa: E402
from tests.deploy.conftest import registry  # noqa: E402,F401 - a real registry on 127.0.0.1 (fixture)

pytest.register_assert_rewrite("tests.scheduler.swarm_helpers")  # its checks report like a test's own asserts


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env(version="auto")
    try:
        client.ping()
        active = client.info()["Swarm"]["LocalNodeState"] == "active"
    except Exception:
        active = False
    if not active:
        subprocess.run([os.path.join(ROOT, "scripts", "dev-services.sh")], check=True, stdout=subprocess.DEVNULL)
        client = docker.from_env(version="auto")
    subprocess.run([os.path.join(ROOT, "scripts", "build-test-image.sh")], check=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sched(docker_client):
    return SwarmScheduler(node_address="127.0.0.1", default_memory="64M")


@pytest.fixture
def app(sched, docker_client):
    """A fresh app id; afterwards its services and containers (only those) are removed."""
    name = "swt-" + secrets.token_hex(4)
    yield name
    try:
        sched.remove(name)
    finally:
        for svc in docker_client.services.list(filters={"label": f"slipway.app={name}"}):
            svc.remove()
        for c in docker_client.containers.list(all=True, filters={"label": f"slipway.app={name}"}):
            c.remove(force=True)
