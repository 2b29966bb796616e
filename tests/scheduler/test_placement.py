"""Placement and nodes in the Swarm scheduler, against this machine's single-node Swarm (real dockerd).

Spreading over several nodes, tags confining tasks to labelled nodes on a cluster and draining are shown by
tests/cluster on molecule/cluster's three nodes; here, what a single node shows.
"""
from __future__ import annotations

import secrets

import pytest

from controller_app.scheduler.base import SchedulerError
from tests.scheduler.swarm_helpers import running, service_of, spec, wait_for


def test_services_spread_over_zones_and_keep_the_apps_constraints(sched, app, docker_client):
    sched.create(spec(app, proc_type="worker", command="sleep 1000", constraints=("node.role==manager",)))
    placement = service_of(docker_client, app).attrs["Spec"]["TaskTemplate"]["Placement"]
    assert placement["Constraints"] == ["node.role==manager"]
    assert placement["Preferences"] == [{"Spread": {"SpreadDescriptor": "node.labels.slipway.zone"}}]


def test_a_tag_no_node_has_keeps_tasks_pending(sched, app):
    label = f"slipway.test-{secrets.token_hex(3)}"
    sched.create(spec(app, proc_type="worker", command="sleep 1000", constraints=(f"node.labels.{label}==yes",)))
    task = wait_for("a pending task", lambda: next((t for t in sched.tasks(app) if t.state == "pending"), None))
    assert task.node is None and task.endpoint is None


def test_nodes_and_the_apps_on_them(sched, app, docker_client):
    sched.create(spec(app, replicas=2))
    running(sched, app, 2)
    me = docker_client.info()["Swarm"]["NodeID"]
    node = next(n for n in sched.nodes() if n.id == me)
    assert node.role == "manager" and node.leader and node.state == "ready" and node.availability == "active"
    assert node.hostname == docker_client.info()["Name"] and node.address == "127.0.0.1"
    assert app in sched.apps_on_node(me)
    sched.remove(app)
    assert app not in sched.apps_on_node(me)


def test_availability_is_checked_and_unknown_nodes_are_errors(sched, docker_client):
    me = docker_client.info()["Swarm"]["NodeID"]
    with pytest.raises(SchedulerError, match="availability must be one of"):
        sched.set_availability(me, "asleep")
    assert sched.set_availability(me, "active").availability == "active"  # what it is: unchanged
    with pytest.raises(SchedulerError, match="no such node"):
        sched.set_availability("nosuchnode0000000000000", "active")
