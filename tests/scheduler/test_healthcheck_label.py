"""The health check label the node agent probes with (`slipway.healthcheck` on routable containers), written by the
Swarm scheduler from the release's check, and read back by the agent's own parser."""
from __future__ import annotations

import json
import os
import sys

import pytest

from controller_app.scheduler.swarm.labels import healthcheck_label
from tests.scheduler.swarm_helpers import container_ids, running, spec

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "agents"))
from slipway_agents.nodetasks import Check, parse_check  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("check, label", [
    (None, None),
    ({}, None),
    ({"interval": 5, "healthy_threshold": 2}, None),  # nothing the agent uses
    ({"path": "/health", "timeout": 2, "interval": 5}, '{"path":"/health","timeout":2.0}'),
    ({"timeout": 600}, '{"timeout":30.0}'),  # within the agent's range
    ({"path": "/", "timeout": 0}, '{"path":"/","timeout":0.1}'),
    ({"path": "/x", "timeout": True}, '{"path":"/x"}'),
])
def test_label(check, label):
    assert healthcheck_label(check) == label


def test_the_agent_reads_what_the_scheduler_writes():
    for check in ({"path": "/health", "timeout": 2}, {"timeout": 600}, {"path": "/a?b=1", "timeout": 0}):
        parsed = parse_check(healthcheck_label(check), 1.0)
        assert parsed.path == check.get("path", "/") and parsed.explicit is ("path" in check)
        assert 0.1 <= parsed.timeout <= 30
    assert parse_check(healthcheck_label({"path": "/a b"}), 1.0) == Check()  # refused by the agent: its default


def test_routable_containers_carry_it_verbatim(sched, app, docker_client):
    check = {"path": "/{{.Node.Hostname}}/health", "timeout": 3, "interval": 1}
    sched.create(spec(app, healthcheck=check))
    sched.create(spec(app, proc_type="worker", healthcheck=check, command="sleep 600"))
    running(sched, app, 2, routable=False)
    labels = {}
    for cid in container_ids(docker_client, app):
        info = docker_client.api.inspect_container(cid)["Config"]["Labels"]
        labels[info["slipway.type"]] = info.get("slipway.healthcheck")
    assert json.loads(labels["web"]) == {"path": "/{{.Node.Hostname}}/health", "timeout": 3.0}
    assert labels["worker"] is None  # nothing to probe
