"""The Swarm manager's node and service events (scheduler/swarm/events.py), on this machine's real Swarm."""
from __future__ import annotations

import threading
import time

import pytest

from controller_app.scheduler.swarm import SwarmScheduler
from tests.scheduler.swarm_helpers import spec


class Heard:
    def __init__(self, sched, window: float):
        self.kinds: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=sched.watch, args=(self.kinds.append, self.stop),
                                       kwargs={"window": window, "retry": 0.2}, daemon=True)
        self.thread.start()

    def until(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while self.kinds.count(kind) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.kinds.count(kind) >= count, self.kinds
        return self.kinds

    def end(self, timeout: float) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive()


@pytest.fixture
def heard(sched):
    h = Heard(sched, window=1)
    h.until("connected")
    yield h
    h.end(5)


def test_a_node_change_is_told_as_it_happens_across_windows(heard, sched, docker_client):
    me = docker_client.info()["Swarm"]["NodeID"]
    try:
        sched.set_labels(me, {"slipway.eventtest": "1"})
        heard.until("node")
        time.sleep(2.5)  # two windows later the stream still tells
        sched.set_labels(me, {"slipway.eventtest": None})
        heard.until("node", 2)
    finally:
        sched.set_labels(me, {"slipway.eventtest": None})
    assert heard.kinds.count("connected") == 1 and "lost" not in heard.kinds


def test_a_service_created_and_removed_is_told(heard, sched, app):
    sched.create(spec(app, proc_type="worker", command="sleep 1000"))
    heard.until("service")
    count = heard.kinds.count("service")
    sched.remove(app)
    heard.until("service", count + 1)


def test_a_manager_out_of_reach_is_lost_and_tried_again_until_stopped(tmp_path):
    gone = SwarmScheduler(docker_url=f"unix://{tmp_path}/nothing.sock")
    h = Heard(gone, window=1)
    h.until("lost", 2)
    assert "connected" not in h.kinds and "node" not in h.kinds
    h.end(5)
