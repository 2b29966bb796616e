"""The health check label the node agent probes with (`slipway.healthcheck` on the containers of every type that has
a probe), written by the Swarm scheduler from the release's check: compact JSON {"readiness": Q, "liveness": Q}."""
from __future__ import annotations

import json

import pytest

from controller_app import probes
from controller_app.scheduler.swarm.labels import healthcheck_label
from tests.scheduler.swarm_helpers import container_ids, running, spec

pytestmark = pytest.mark.timeout(120)
TIMINGS = {"timeout": 1, "period": 10, "initial_delay": 0, "success": 1, "failure": 3}


def stored(value: dict) -> dict:
    return probes.check("web", value)


@pytest.mark.parametrize("check, label", [
    (None, None),
    ({}, None),
    ({"livenessProbe": {"nothing": {}}}, None),  # no handler the agent knows: nothing to probe
    (stored({"readinessProbe": {"httpGet": {"path": "/h", "port": 5000, "httpHeaders": [
        {"name": "X-A", "value": "b c"}]}}}),
     {"readiness": {"kind": "http", "path": "/h", "port": None, "headers": [["X-A", "b c"]], **TIMINGS}}),
    (stored({"readinessProbe": {"httpGet": {}, "timeoutSeconds": 5, "periodSeconds": 2, "initialDelaySeconds": 9,
                                "successThreshold": 2, "failureThreshold": 7}}),
     {"readiness": {"kind": "http", "path": "/", "port": None, "headers": [], "timeout": 5, "period": 2,
                    "initial_delay": 9, "success": 2, "failure": 7}}),
    (stored({"livenessProbe": {"tcpSocket": {"port": 9000}}}),
     {"liveness": {"kind": "tcp", "port": 9000, **TIMINGS}}),
    (stored({"livenessProbe": {"exec": {"command": ["pg_isready", "-q"]}},
             "readinessProbe": {"tcpSocket": {}}}),
     {"liveness": {"kind": "exec", "command": ["pg_isready", "-q"], **TIMINGS},
      "readiness": {"kind": "tcp", "port": None, **TIMINGS}}),
    (stored({"path": "/health", "timeout": 2}),  # the former shape, converted
     {"readiness": {"kind": "http", "path": "/health", "port": None, "headers": [], **TIMINGS, "timeout": 2}}),
    # values outside the agent's bounds (not stored by the controller) are brought within them
    ({"readinessProbe": {"tcpSocket": {}, "timeoutSeconds": 600, "periodSeconds": 0, "failureThreshold": "x"}},
     {"readiness": {"kind": "tcp", "port": None, **TIMINGS, "timeout": 60, "period": 1}}),
])
def test_label(check, label):
    written = healthcheck_label(check, 5000)
    assert (json.loads(written) if written else None) == label
    assert written is None or " " not in written.replace("b c", "")  # compact


def test_every_type_with_a_probe_carries_it_verbatim(sched, app, docker_client):
    check = stored({"readinessProbe": {"httpGet": {"path": "/{{.Node.Hostname}}/health"}},
                    "livenessProbe": {"exec": {"command": ["sh", "-c", "test -e /tmp/{{.Task.Name}}"]}}})
    sched.create(spec(app, healthcheck=check))
    sched.create(spec(app, proc_type="worker", healthcheck=check, command="sleep 600"))
    sched.create(spec(app, proc_type="clock", command="sleep 600"))
    running(sched, app, 3, routable=False)
    labels = {}
    for cid in container_ids(docker_client, app):
        info = docker_client.api.inspect_container(cid)["Config"]["Labels"]
        labels[info["slipway.type"]] = info.get("slipway.healthcheck")
    assert labels["web"] == labels["worker"] == healthcheck_label(check, 5000)
    assert json.loads(labels["worker"])["readiness"]["path"] == "/{{.Node.Hostname}}/health"
    assert json.loads(labels["worker"])["liveness"]["command"][-1] == "test -e /tmp/{{.Task.Name}}"
    assert labels["clock"] is None  # no probe: the agent's default
