"""Deploys on the real Swarm that wait for readiness probes: the controller's own (initial delay, success
threshold), and those only the node agents run (an exec probe), reported through POST /v2/hooks/nodes/report/ as
an agent reports them."""
from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time

import docker
import pytest
import requests

from tests.live import live_controller

from .conftest import REGISTRY, register
from .deployhelp import build, endpoints, fetch

WEB = "cd /www && exec httpd -f -p $PORT -h /www"
EXEC = {"readinessProbe": {"exec": {"command": ["true"]}}}


@pytest.fixture(scope="module", autouse=True)
def images():
    subprocess.run(["scripts/build-test-image.sh"], check=True)


@pytest.fixture(scope="module")
def pctl():
    """A controller of its own: the reports sent here make this machine's node one with a reporting agent."""
    with live_controller(SLIPWAY_MONITOR_INTERVAL="600", SLIPWAY_HEALTH_TIMEOUT="30", SLIPWAY_DRAIN_SECONDS="0.5",
                         SLIPWAY_ROUTER_ALIVE_SECONDS="3", SLIPWAY_REGISTRY=REGISTRY) as controller:
        yield controller


def web_app(ctl):
    owner = register(ctl, f"owner-{secrets.token_hex(3)}")
    app_id = f"probe-{secrets.token_hex(4)}"
    assert owner.post("/v2/apps/", {"id": app_id}).status_code == 201
    r = build(owner, app_id, procfile={"web": WEB})
    assert r.status_code == 201, r.text
    return owner, app_id


def tasks_of(app_id: str, but: set[int]) -> dict[int, list[dict]]:
    """The app's running tasks by deployment, but those of the deployments in `but`."""
    found: dict[int, list[dict]] = {}
    for t in docker.from_env().api.tasks(filters={"label": f"slipway.app={app_id}", "desired-state": "running"}):
        deployment = int(t["Spec"]["ContainerSpec"]["Labels"]["slipway.deployment"])
        if t["Status"]["State"] == "running" and deployment not in but:
            found.setdefault(deployment, []).append(t)
    return found


def send(ctl, node: str, tasks: list[dict]) -> None:
    body = {"node": node, "full": False, "at": time.time(), "interval": 2.0, "heartbeat": 30.0, "tasks": tasks}
    r = requests.post(ctl.url + "/v2/hooks/nodes/report/", json=body,
                      headers={"X-Slipway-Node-Auth": ctl.env["SLIPWAY_NODE_KEY"]}, timeout=30)
    assert r.status_code in (200, 204), r.text


def report(ctl, app_id: str, deployment: int, task: dict, healthy: bool) -> None:
    """What the node agent sends for a running task of its node."""
    ports = (task["Status"].get("PortStatus") or {}).get("Ports") or []
    send(ctl, task["NodeID"], [{"task": task["ID"], "container": task["Status"]["ContainerStatus"]["ContainerID"],
                       "app": app_id, "deployment": deployment, "type": "web", "release": 3,
                       "port": ports[0]["PublishedPort"] if ports else None, "state": "running", "healthy": healthy,
                       "failures": 0 if healthy else 1, "message": "exec probe", "checked_at": time.time(),
                       "started_at": task["Status"]["Timestamp"], "cpu_seconds": 0.1, "memory_bytes": 1048576,
                       "memory_limit_bytes": 0, "cpu_limit": 0.0}])


def test_an_exec_probe_without_node_agents_fails_the_deploy_saying_so(ctl):
    owner, app_id = web_app(ctl)  # no agent reports for this machine's node to the session's controller
    r = owner.post(f"/v2/apps/{app_id}/config/", {"healthcheck": {"web/cmd": EXEC}})
    assert r.status_code == 400 and "need the node agents" in r.json()["detail"], r.text
    assert fetch(endpoints(ctl, app_id)[0]).startswith("hello release=v2")


def test_an_exec_probe_deploy_waits_for_the_agents_reports(pctl):
    owner, app_id = web_app(pctl)
    before = endpoints(pctl, app_id)
    answer: dict = {}
    change = threading.Thread(target=lambda: answer.update(r=owner.post(
        f"/v2/apps/{app_id}/config/", {"healthcheck": {"web/cmd": EXEC}, "values": {"MESSAGE": "ready"}})))
    serving = tasks_of(app_id, set())
    send(pctl, next(iter(serving.values()))[0]["NodeID"], [])  # the node's agent reports (a heartbeat)
    change.start()
    deadline = time.monotonic() + 20
    while not (started := tasks_of(app_id, set(serving))) or not (
            next(iter(started.values()))[0]["Status"].get("PortStatus") or {}).get("Ports"):
        assert time.monotonic() < deadline, "the new deployment's task did not start"
        time.sleep(0.2)
    (deployment, new), = started.items()
    label = new[0]["Spec"]["ContainerSpec"]["Labels"]["slipway.healthcheck"]
    assert json.loads(label)["readiness"]["kind"] == "exec"
    report(pctl, app_id, deployment, new[0], healthy=False)  # the agent's first probes fail
    time.sleep(3)
    assert change.is_alive() and endpoints(pctl, app_id) == before  # still waiting, the old task serving
    report(pctl, app_id, deployment, new[0], healthy=True)
    change.join(30)
    assert answer["r"].status_code == 201, answer["r"].text
    assert answer["r"].json()["healthcheck"] == {"web": {"readinessProbe": {
        "initialDelaySeconds": 0, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
        "failureThreshold": 3, "exec": {"command": ["true"]}}}}
    published = new[0]["Status"]["PortStatus"]["Ports"][0]["PublishedPort"]
    assert [e["port"] for e in endpoints(pctl, app_id)] == [published]
    assert fetch(endpoints(pctl, app_id)[0]).startswith("ready release=v3")


def test_the_initial_delay_and_success_threshold_hold_the_routing_back(ctl):
    owner, app_id = web_app(ctl)

    def change(body: dict) -> float:
        started = time.monotonic()
        r = owner.post(f"/v2/apps/{app_id}/config/", body)
        assert r.status_code == 201, r.text
        return time.monotonic() - started

    plain = change({"values": {"MESSAGE": "plain"}})  # the same deploy without a probe
    probe = {"httpGet": {"path": "/", "port": 5000}, "initialDelaySeconds": 3, "periodSeconds": 1,
             "successThreshold": 3}
    held = change({"healthcheck": {"web": {"readinessProbe": probe}}})
    assert held >= plain + 4, (plain, held)  # the delay once the task runs, then three passes a second apart
    assert fetch(endpoints(ctl, app_id)[0]).startswith("plain release=v4")
