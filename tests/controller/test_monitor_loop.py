"""Which pass the monitor's loop runs (services/monitor.py, Loop.tick), its look-ups replaced by stand-ins;
tests/controller/test_agent_monitor.py and test_deploy.py run both passes for real."""
from __future__ import annotations

import contextlib
import types

import pytest

from controller_app.services import monitor


@pytest.fixture
def world(monkeypatch):
    w = types.SimpleNamespace(nodes=[("n1", "ready", "10.0.0.1")], reporting={"n1"}, ran=[], listings=0)
    node = lambda i, state, address: types.SimpleNamespace(id=i, state=state, address=address)  # noqa: E731

    def listing():
        w.listings += 1
        return [node(*n) for n in w.nodes]

    monkeypatch.setattr(monitor, "get_scheduler", lambda: types.SimpleNamespace(nodes=listing))
    monkeypatch.setattr(monitor, "session_factory", lambda: contextlib.nullcontext)
    monkeypatch.setattr(monitor.agentview, "reporting_nodes", lambda db: w.reporting)
    monkeypatch.setattr(monitor, "reconcile_once", lambda: w.ran.append("own"))
    monkeypatch.setattr(monitor, "reconcile_reports", lambda addresses: w.ran.append(("reports", addresses)))
    monkeypatch.setattr(monitor.retire, "due", lambda db: w.ran.append("retire"))
    monkeypatch.setattr(monitor.releasestate, "fail_orphans", lambda db: w.ran.append("orphans"))
    return w


def test_reports_are_read_when_an_agent_reports_a_change_and_not_at_every_tick(world):
    loop = monitor.Loop(2)
    loop.tick(woken=False, due=True)  # the first tick reads everything
    assert world.ran == [("reports", {"n1": "10.0.0.1"}), "retire", "orphans"]
    world.ran.clear()
    loop.tick(woken=False, due=True)
    assert world.ran == ["retire", "orphans"]
    world.ran.clear()
    loop.tick(woken=True, due=False)
    assert world.ran == [("reports", {"n1": "10.0.0.1"})]


def test_a_node_changing_state_makes_a_pass(world):
    loop = monitor.Loop(2)
    loop.tick(woken=False, due=False)
    world.ran.clear()
    world.nodes.append(("n2", "down", "10.0.0.2"))  # not ready: not in the addresses, nothing changed
    loop.tick(woken=False, due=False)
    assert world.ran == []
    world.nodes[0] = ("n1", "down", "10.0.0.1")  # the only node down: no agent speaks for a ready node
    loop.tick(woken=False, due=True)
    assert world.ran == ["own", "retire", "orphans"]


def test_a_ready_node_without_a_reporting_agent_means_the_controllers_own_look_ups(world):
    world.nodes.append(("n2", "ready", "10.0.0.2"))
    loop = monitor.Loop(2)
    loop.tick(woken=True, due=False)
    assert world.ran == []  # its own look-ups keep their pace: a wake-up alone does not start one
    loop.tick(woken=False, due=True)
    assert world.ran == ["own", "retire", "orphans"]
    world.ran.clear()
    world.reporting = {"n1", "n2"}
    loop.tick(woken=False, due=False)
    assert world.ran == [("reports", {"n1": "10.0.0.1", "n2": "10.0.0.2"})]


def test_the_full_read_comes_back_after_its_interval(world, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(monitor.time, "monotonic", lambda: now[0])
    loop = monitor.Loop(2, full_every=30)
    loop.tick(woken=False, due=False)
    world.ran.clear()
    now[0] += 29
    loop.tick(woken=False, due=False)
    assert world.ran == []
    now[0] += 2
    loop.tick(woken=False, due=False)
    assert world.ran == [("reports", {"n1": "10.0.0.1"})]


def test_with_the_swarms_events_nodes_are_listed_when_one_changes(world):
    loop = monitor.Loop(2)
    loop.cluster_changed("connected")
    loop.tick(woken=True, due=True)
    assert world.listings == 1
    for _ in range(5):
        loop.tick(woken=False, due=True)
    assert world.listings == 1  # no node event, no listing
    loop.cluster_changed("service")
    world.ran.clear()
    loop.tick(woken=True, due=False)
    assert world.listings == 1 and world.ran == [("reports", {"n1": "10.0.0.1"})]
    world.nodes[0] = ("n1", "ready", "10.0.0.9")
    loop.cluster_changed("node")
    world.ran.clear()
    loop.tick(woken=True, due=False)
    assert world.listings == 2 and world.ran == [("reports", {"n1": "10.0.0.9"})]
    loop.cluster_changed("lost")  # the stream broke: a listing at every tick until it is back
    loop.tick(woken=False, due=True)
    loop.tick(woken=False, due=True)
    assert world.listings == 4


def test_without_the_swarms_events_nodes_are_listed_at_every_tick(world):
    loop = monitor.Loop(2)
    for _ in range(3):
        loop.tick(woken=False, due=True)
    assert world.listings == 3
