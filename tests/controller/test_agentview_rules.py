"""The rule that turns the node agents' reports into an app's endpoints (services/agentview.py), case by case;
tests/controller/test_agent_monitor.py runs it with a real agent on the Swarm."""
from __future__ import annotations

from controller_app.services.agentview import Reported, endpoints

NODES = {"n1": "10.0.0.1", "n2": "10.0.0.2"}


def ep(address: str, port: int) -> dict:
    return {"address": address, "port": port}


def task(node="n1", port=30001, state="running", healthy=True, failures=0, proc="web") -> Reported:
    return Reported(node, proc, port, state, healthy, failures)


def settle(routed, reports, confirm=lambda *_: False, proc="web", nodes=NODES):
    asked = []

    def probe(address, port):
        asked.append((address, port))
        return confirm(address, port)
    return endpoints(routed, reports, proc, nodes, probe), asked


def test_a_passing_task_joins_without_a_probe_from_the_controller():
    assert settle([], [task()]) == ([ep("10.0.0.1", 30001)], [])


def test_a_task_not_yet_passing_stays_out():
    assert settle([], [task(healthy=False, failures=0)]) == ([], [])
    assert settle([], [task(healthy=False, failures=5)]) == ([], [])


def test_the_agents_verdict_is_trusted():
    """The agent keeps a task healthy through failed probes up to its failure threshold: healthy with failures
    stays, unhealthy after failures leaves without a probe from here (which could not run an exec or tcp probe)."""
    routed = [ep("10.0.0.1", 30001)]
    assert settle(routed, [task(healthy=True, failures=2)]) == (routed, [])
    assert settle(routed, [task(healthy=False, failures=1)], confirm=lambda *_: True) == ([], [])
    assert settle(routed, [task(healthy=False, failures=3)], confirm=lambda *_: True) == ([], [])


def test_a_routed_task_without_a_verdict_yet_is_probed_here():
    """Not probed yet (or passing again, below its success threshold): failures 0 and not healthy."""
    routed = [ep("10.0.0.1", 30001)]
    assert settle(routed, [task(healthy=False, failures=0)], confirm=lambda *_: True) == (routed,
                                                                                           [("10.0.0.1", 30001)])
    assert settle(routed, [task(healthy=False, failures=0)]) == ([], [("10.0.0.1", 30001)])


def test_stopping_and_ended_tasks_leave_at_once():
    routed = [ep("10.0.0.1", 30001)]
    assert settle(routed, [task(state="stopping", healthy=False)]) == ([], [])


def test_a_routed_endpoint_without_a_report_is_probed_before_it_goes():
    routed = [ep("10.0.0.1", 30001), ep("10.0.0.2", 30002)]
    kept, asked = settle(routed, [task()], confirm=lambda a, p: p == 30002)
    assert kept == routed and asked == [("10.0.0.2", 30002)]
    assert settle(routed, [task()])[0] == [ep("10.0.0.1", 30001)]


def test_tasks_of_a_node_no_longer_ready_leave_without_a_probe():
    routed = [ep("10.0.0.1", 30001), ep("10.0.0.2", 30002)]
    kept, asked = settle(routed, [task(), task(node="n2", port=30002)], nodes={"n1": "10.0.0.1"})
    assert kept == [ep("10.0.0.1", 30001)] and asked == []


def test_only_the_routable_type_and_published_ports_count():
    assert settle([], [task(proc="worker"), task(port=None)]) == ([], [])
    assert settle([ep("10.0.0.1", 30001)], [task()], proc=None) == ([], [])
