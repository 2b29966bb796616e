"""POST /v2/hooks/nodes/report/: the node agents' reports, against the live controller and its PostgreSQL.

Each task's latest report is one row of task_reports; a change the routing depends on is announced on
slipway_tasks (LISTEN here sees it), usage figures alone are stored quietly."""
from __future__ import annotations

import os
import secrets
import select
import sys
import threading
import time

import psycopg2
import pytest
import requests

from controller_app.api.routers.nodereports import ReportIn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "agents"))
from slipway_agents import cgroupstats, nodetasks  # noqa: E402
from slipway_agents.common import Client  # noqa: E402
from slipway_agents.nodereport import Reporter  # noqa: E402

PATH = "/v2/hooks/nodes/report/"


def node_id() -> str:
    return secrets.token_hex(12) + "x"


def task(**over) -> dict:
    base = {"task": secrets.token_hex(12) + "t", "container": secrets.token_hex(32), "app": "shop",
            "deployment": 7, "type": "web", "release": 12, "port": 30512, "state": "running", "healthy": True,
            "failures": 0, "message": "127.0.0.1:30512 answered 200", "checked_at": time.time(),
            "started_at": "2026-12-01T10:00:00.123456789Z", "cpu_seconds": 1.5, "cpu_rate": None,
            "memory_bytes": 7340032, "memory_limit_bytes": 536870912, "cpu_limit": 0.5}
    return {**base, **over}


def report(ctl, node: str, tasks: list[dict], full: bool = False, key: str | None = "") -> requests.Response:
    headers = {} if key is None else {"X-Slipway-Node-Auth": key or ctl.env["SLIPWAY_NODE_KEY"]}
    body = {"node": node, "full": full, "at": time.time(), "interval": 2.0, "heartbeat": 30.0, "tasks": tasks}
    return requests.post(ctl.url + PATH, json=body, headers=headers, timeout=30)


def rows(ctl, node: str) -> dict[str, dict]:
    with psycopg2.connect(ctl.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT task, app_id, deployment, proc_type, release, port, state, healthy, failures, "
                    "cpu_seconds, cpu_rate, memory_bytes, checked FROM task_reports WHERE node = %s", (node,))
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


@pytest.fixture
def listener(ctl):
    conn = psycopg2.connect(ctl.database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("LISTEN slipway_tasks")

    def heard(wait: float = 1.0) -> int:
        """How many announcements arrived (waiting up to `wait` seconds for the first)."""
        if select.select([conn], [], [], wait)[0]:
            time.sleep(0.1)
        conn.poll()
        n = len(conn.notifies)
        conn.notifies.clear()
        return n

    yield heard
    conn.close()


@pytest.mark.parametrize("key", [None, "wrong", "router"])
def test_only_the_node_key(ctl, key):
    given = ctl.router_key if key == "router" else key
    node = node_id()
    r = report(ctl, node, [task()], key=given)
    assert r.status_code == 401 and r.json()["detail"] == "Invalid node key."
    assert rows(ctl, node) == {}


def test_stores_each_task_and_announces_changes(ctl, listener):
    node = node_id()
    t = task()
    assert report(ctl, node, [t]).status_code == 204
    assert listener() == 1
    [row] = rows(ctl, node).values()
    assert (row["app_id"], row["deployment"], row["proc_type"], row["release"], row["port"]) == ("shop", 7, "web",
                                                                                                   12, 30512)
    assert row["healthy"] and row["failures"] == 0 and row["cpu_seconds"] == 1.5 and row["checked"] is not None

    assert report(ctl, node, [dict(t, cpu_seconds=2.5, memory_bytes=9000000)]).status_code == 204
    assert listener(0.5) == 0  # usage alone: stored, nobody woken
    assert rows(ctl, node)[t["task"]]["cpu_seconds"] == 2.5 and rows(ctl, node)[t["task"]]["cpu_rate"] is None

    assert report(ctl, node, [dict(t, cpu_seconds=8.5, cpu_rate=0.37)]).status_code == 204
    assert listener(0.5) == 0  # a CPU rate's change: stored, nobody woken
    assert rows(ctl, node)[t["task"]]["cpu_rate"] == 0.37
    assert report(ctl, node, [dict(t, cpu_rate=0)]).status_code == 204  # an integer from a JSON encoder
    assert listener(0.5) == 0 and rows(ctl, node)[t["task"]]["cpu_rate"] == 0.0

    assert report(ctl, node, [dict(t, healthy=False, failures=1, message="TimeoutError")]).status_code == 204
    assert listener() == 1
    assert rows(ctl, node)[t["task"]]["failures"] == 1


def test_gone_and_full_reports(ctl, listener):
    node, other = node_id(), node_id()
    a, b, c = task(), task(app="blog", port=None, type="worker"), task()
    assert report(ctl, node, [a, b, c], full=True).status_code == 204
    assert report(ctl, other, [task()], full=True).status_code == 204
    listener()
    assert set(rows(ctl, node)) == {a["task"], b["task"], c["task"]}

    assert report(ctl, node, [dict(a, state="gone", healthy=False, cpu_seconds=None)]).status_code == 204
    assert listener() == 1 and set(rows(ctl, node)) == {b["task"], c["task"]}

    assert report(ctl, node, [c], full=True).status_code == 204  # b is no longer on the node
    assert listener() == 1 and set(rows(ctl, node)) == {c["task"]}
    assert len(rows(ctl, other)) == 1  # another node's tasks stay

    assert report(ctl, node, [c], full=True).status_code == 204  # a heartbeat: nothing changed
    assert listener(0.5) == 0
    with psycopg2.connect(ctl.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT seen >= last_full, heartbeat FROM node_agents WHERE node = %s", (node,))
        assert cur.fetchone() == (True, 30.0)


@pytest.mark.parametrize("change", [
    {"app": "Shop"}, {"app": "2shop"}, {"app": "a" * 64}, {"port": 0}, {"port": 65536}, {"port": "80"},
    {"container": "xyz"}, {"task": "../x"}, {"state": "dead"}, {"healthy": "yes"}, {"healthy": 1},
    {"failures": -1}, {"deployment": 0}, {"type": "a_b"}, {"type": "w" * 31}, {"message": "m" * 501},
    {"message": "a\x00b"}, {"started_at": "<script>"}, {"memory_bytes": -5}, {"extra": 1},
    {"cpu_rate": -0.1}, {"cpu_rate": 1e7}, {"cpu_rate": "0.5"}, {"cpu_rate": True},
])
def test_every_field_is_checked(ctl, change):
    node = node_id()
    r = report(ctl, node, [task(**change)])
    assert r.status_code == 400, (change, r.text)
    assert rows(ctl, node) == {}


def test_a_report_is_checked_whole(ctl):
    node = node_id()
    t = task()
    for body in ({"node": "Node-1", "full": True, "tasks": []}, {"node": node, "full": "yes", "tasks": []},
                 {"node": node, "full": False, "tasks": [t, t]}, {"node": node, "full": False}):
        r = requests.post(ctl.url + PATH, json=body, headers={"X-Slipway-Node-Auth": ctl.env["SLIPWAY_NODE_KEY"]},
                          timeout=30)
        assert r.status_code == 400, (body, r.text)
    assert rows(ctl, node) == {}


def test_what_the_agent_writes_passes():
    """The agent's own report (nodereport.py) of a routable task, a worker and an ended task passes the check."""
    labels = {"slipway.managed": "1", "slipway.app": "shop", "slipway.deployment": "7", "slipway.release": "12",
              "com.docker.swarm.task.id": "abc123", "com.docker.swarm.node.id": "node1"}
    web = nodetasks.from_inspect({
        "Id": "c" * 64, "Config": {"Labels": {**labels, "slipway.type": "web"}},
        "State": {"Running": True, "Pid": os.getpid(), "StartedAt": "2026-12-01T10:00:00.123456789Z"},
        "HostConfig": {"PortBindings": {"5000/tcp": [{}]}, "Memory": 0, "NanoCpus": 0},
        "NetworkSettings": {"Ports": {"5000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "30512"}]}}}, 1.0)
    worker = nodetasks.from_inspect({
        "Id": "d" * 64, "Config": {"Labels": {**labels, "slipway.type": "worker", "com.docker.swarm.task.id": "w1"}},
        "State": {"Running": True, "Pid": 0, "StartedAt": ""}, "HostConfig": {}, "NetworkSettings": {}}, 1.0)
    web.probed(False, "127.0.0.1:30512 TimeoutError", time.time())
    worker.probed(True, "running (publishes no port)", time.time())
    reporter = Reporter(Client("http://127.0.0.1:9", {}), lambda: "node1", lambda: [
        (web.entry(), web.pid), (worker.entry(), worker.pid)], 2.0, 30.0, threading.Event(), cgroupstats.Cgroups())
    full = reporter.body(True, [])
    assert ReportIn.model_validate(full).tasks[0].port == 30512 and full["tasks"][0]["cpu_rate"] is None
    reporter.sample()  # two readings of the web task's CPU counter (this process's cgroup) make its rate
    time.sleep(0.2)
    reporter.sample()
    full = reporter.body(True, [])
    assert ReportIn.model_validate(full).tasks[0].cpu_rate >= 0 and full["tasks"][1]["cpu_rate"] is None
    web.gone("exited with 137")
    ReportIn.model_validate(reporter.body(False, [(web.entry(), web.pid)]))
