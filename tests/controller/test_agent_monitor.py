"""The monitor driven by a real node agent (agents/bin/slipway-node-agent) on this machine's one-node Swarm.

The controller here re-reads nothing on its own for ten minutes (SLIPWAY_MONITOR_INTERVAL=600): every route
change these tests see comes from the agent's reports, woken by PostgreSQL NOTIFY."""
from __future__ import annotations

import os
import secrets
import subprocess
import time

import pytest

from tests.live import ROOT, live_controller

from .conftest import REGISTRY, Api, register
from .deployhelp import build, endpoints, fetch

SYSTEM_PYTHON = os.environ.get("SLIPWAY_AGENTS_PYTHON", "/usr/bin/python3")


@pytest.fixture(scope="module", autouse=True)
def images():
    subprocess.run(["scripts/build-test-image.sh"], check=True)


def settings(interval: str) -> dict:
    return dict(SLIPWAY_MONITOR_INTERVAL=interval, SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0.5",
                SLIPWAY_ROUTER_ALIVE_SECONDS="3", SLIPWAY_REGISTRY=REGISTRY)


class NodeAgent:
    """The node agent as the node role runs it, reporting to `ctl`, probing published ports on 127.0.0.1."""

    def __init__(self, ctl, log: str, heartbeat: str = "2"):
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SLIPWAY_PYTHON": SYSTEM_PYTHON,
                    "SLIPWAY_CONTROLLER_URL": ctl.url, "SLIPWAY_NODE_KEY": ctl.env["SLIPWAY_NODE_KEY"],
                    "SLIPWAY_PROBE_ADDRESS": "127.0.0.1", "SLIPWAY_PROBE_INTERVAL": "0.5",
                    "SLIPWAY_HEARTBEAT": heartbeat, "SLIPWAY_LOG_LEVEL": "DEBUG"}
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with open(self.log, "a") as fh:
            self.proc = subprocess.Popen([os.path.join(ROOT, "agents", "bin", "slipway-node-agent")], env=self.env,
                                         stdout=fh, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def reporting(ctl) -> bool:
    nodes = Api(ctl.url, ctl.admin_token).get("/v2/nodes/").json()["results"]
    return bool(nodes) and all((n["agent"] or {}).get("reporting") for n in nodes if n["state"] == "ready")


def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.1)
    return value


@pytest.fixture(scope="module")
def actl():
    with live_controller(**settings("600")) as controller:
        yield controller


@pytest.fixture(scope="module")
def agent(actl, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("node-agent") / "agent.log")
    a = NodeAgent(actl, log)
    until(lambda: reporting(actl), 30, "the agent reporting")
    yield a
    a.stop()
    print(open(log).read()[-5000:])


def container_of(app_id: str) -> str:
    found = subprocess.run(["docker", "ps", "-q", "--filter", f"label=slipway.app={app_id}"], capture_output=True,
                           text=True, check=True).stdout.split()
    assert len(found) == 1, found
    return found[0]


def serve(ctl):
    owner = register(ctl, f"owner-{secrets.token_hex(3)}")
    app_id = f"agent-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201
    r = build(owner, app_id, sha="b" * 40)
    assert r.status_code == 201, r.text
    return owner, app_id


@pytest.fixture
def served(actl, agent):
    owner, app_id = serve(actl)
    yield app_id
    owner.delete(f"/v2/apps/{app_id}/")


def test_a_killed_task_leaves_the_routes_when_its_agent_reports_it(actl, served):
    before = endpoints(actl, served)
    assert len(before) == 1
    subprocess.run(["docker", "kill", container_of(served)], check=True, capture_output=True)
    killed = time.monotonic()
    until(lambda: endpoints(actl, served) != before, 10, "the killed task's endpoint leaving")
    left = time.monotonic() - killed
    replaced = until(lambda: endpoints(actl, served), 60, "Swarm's new task joining the routes")
    assert replaced != before and fetch(replaced[0]).startswith("hello release=v2")
    print(f"killed task out of the routes after {left:.2f}s")


def test_a_stalled_task_leaves_after_three_failed_probes_and_comes_back(actl, served):
    before = endpoints(actl, served)
    cid = container_of(served)
    subprocess.run(["docker", "pause", cid], check=True, capture_output=True)
    try:
        paused = time.monotonic()
        time.sleep(1.0)
        assert endpoints(actl, served) == before, "dropped after a single failed probe"
        until(lambda: not endpoints(actl, served), 20, "a task that answers nothing leaving the routes")
        dropped = time.monotonic() - paused
        assert dropped >= 1.5, f"dropped after {dropped:.1f}s: before three failed probes"
    finally:
        subprocess.run(["docker", "unpause", cid], check=True, capture_output=True)
    until(lambda: endpoints(actl, served) == before, 20, "the task answering again joining the routes")


def test_an_agent_restart_changes_no_route(actl, agent, served):
    before = endpoints(actl, served)
    agent.stop()
    agent.start()
    deadline = time.monotonic() + 6  # the restarted agent's first full report, and two heartbeats more
    while time.monotonic() < deadline:
        assert endpoints(actl, served) == before
        time.sleep(0.1)
    assert reporting(actl)


def test_a_silent_agent_hands_the_routes_back_to_the_controllers_own_probes(tmp_path):
    with live_controller(**settings("1")) as ctl:
        owner, app_id = serve(ctl)
        silent = NodeAgent(ctl, str(tmp_path / "agent.log"), heartbeat="1")
        try:
            until(lambda: reporting(ctl), 30, "the agent reporting")
        finally:
            silent.stop()
        until(lambda: not reporting(ctl), 30, "the silent agent no longer trusted")
        before = endpoints(ctl, app_id)
        subprocess.run(["docker", "kill", container_of(app_id)], check=True, capture_output=True)
        until(lambda: endpoints(ctl, app_id) != before, 20, "the killed task's endpoint leaving")
        owner.delete(f"/v2/apps/{app_id}/")
