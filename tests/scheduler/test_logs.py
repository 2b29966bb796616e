"""Logs of an app's tasks in the Swarm scheduler, against this machine's single-node Swarm (real dockerd)."""
from __future__ import annotations

import time

import pytest

from tests.scheduler.swarm_helpers import TICKER, running, spec, wait_for

pytestmark = pytest.mark.timeout(120)


def test_logs_merge_two_replicas(sched, app):
    sched.create(spec(app, proc_type="worker", replicas=2, command=TICKER))
    running(sched, app, 2, routable=False)
    text = wait_for("lines of both replicas", lambda: (
        t if "worker.1: tick 3 " in (t := sched.logs(app, lines=200)) and "worker.2: tick 3 " in t else None))
    lines = text.splitlines()
    assert all(line.startswith(("worker.1: ", "worker.2: ")) for line in lines)
    # merged by time: each replica's own lines stay in order
    for slot in ("1", "2"):
        ticks = [int(line.split()[2]) for line in lines if line.startswith(f"worker.{slot}: tick ")]
        assert ticks == sorted(ticks) and len(ticks) >= 3
    assert len(sched.logs(app, lines=4).splitlines()) == 4
    assert sched.logs(app, proc_type="web") == ""


def test_follow_logs(sched, app):
    sched.create(spec(app, proc_type="worker", command=TICKER))
    running(sched, app, 1, routable=False)
    stream = sched.follow_logs(app, interval=0.3)
    got = []
    deadline = time.monotonic() + 20
    for line in stream:
        got.append(line)
        if len(got) >= 4 or time.monotonic() > deadline:
            break
    stream.close()
    assert len(got) >= 4 and all(line.startswith("worker.1: tick ") for line in got)
    numbers = [int(line.split()[2]) for line in got]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # no repeats


FAST = 'i=0; while true; i=$((i+1)); do echo "tick $i"; sleep 0.01; done'


def test_follow_with_a_backlog_continues_it_in_order(sched, app, monkeypatch):
    """`logs -f --lines N`: the recent lines, then the new ones, each replica's lines in order and none twice,
    even when lines keep coming while the recent ones are read (a loaded host: the read takes a second)."""
    sched.create(spec(app, proc_type="worker", replicas=2, command=FAST))
    running(sched, app, 2, routable=False)
    wait_for("lines of both replicas", lambda: "worker.2: tick 50" in sched.logs(app, lines=400))
    listed = sched.services

    def slow_services(*args, **kwargs):
        found = listed(*args, **kwargs)
        time.sleep(1.0)
        return found
    monkeypatch.setattr(sched, "services", slow_services)
    stream = sched.open_log_stream(app, lines=5, poll=0.3)
    got: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
                sum(line.startswith(f"worker.{s}: ") for line in got) >= 40 for s in ("1", "2")):
            got.extend(stream.read(timeout=1.0))
    finally:
        stream.close()
    for slot in ("1", "2"):
        numbers = [int(line.split()[2]) for line in got if line.startswith(f"worker.{slot}: tick ")]
        assert len(numbers) >= 40, got[:20]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers[:20]
