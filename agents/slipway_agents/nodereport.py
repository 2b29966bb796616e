"""The node agent's reports to the controller: `POST /v2/hooks/nodes/report/` (header X-Slipway-Node-Auth).

    {"node": "<swarm node id>", "full": false, "at": 1767225600.5, "interval": 2.0, "heartbeat": 30.0,
     "tasks": [{"task": "<swarm task id>", "container": "<id>", "app": "shop", "deployment": 7, "type": "web",
                "release": 12, "port": 30512, "state": "running", "healthy": true, "failures": 0,
                "message": "127.0.0.1:30512 answered 200", "checked_at": 1767225600.1,
                "started_at": "2026-01-01T00:00:00.0Z", "cpu_seconds": 12.5, "cpu_rate": 0.37,
                "memory_bytes": 73400320, "memory_limit_bytes": 536870912, "cpu_limit": 0.5}]}

- A change (a task appears, becomes healthy or unhealthy, fails a probe, is being stopped, ends, its CPU rate
  moves) goes out at once, batched over a few milliseconds: `full` false, only the changed tasks. An ended task
  is sent once with state `gone`.
- The whole table goes out every `heartbeat` seconds, as the first report, and as the first report after
  one failed (the controller was away, or answered an error): `full` true, and a task of this node that a
  full report leaves out is no longer here.
- `state`: running | stopping (sent a stop signal, or being restarted by the agent: its liveness probe failed,
  the message says so) | gone. `healthy` is the readiness probe's verdict (nodeprobes.py): false and `failures`
  0 until the first probe answered (`checked_at` null); true after the probe's success threshold of passes in
  a row, false again after its failure threshold of failures in a row (3 by default), in between as it was;
  `failures` counts the failed probes in a row once the task first passed (0 while it is still starting, so the
  controller confirms a routed one itself). A task with no readiness probe (it publishes no port and its
  label names none) is healthy while it runs.
- Usage, read when the report is made: `cpu_seconds` is a counter (seconds of CPU since the container
  started), `memory_bytes` the working set; limits are 0 when none is set. Figures a report could not read
  are null.
- `cpu_rate`: the cores the task used (0.37: 37 % of one core) over the agent's last usage interval, null until
  two readings were made. Every `usage_interval` seconds (10 by default) the agent reads each running task's CPU
  counter and sends, as a change, the tasks whose rate moved by more than `usage_change` cores (0.05 by default)
  from the rate last sent for them (none sent yet counts as 0): a task whose use holds steady, idle or busy,
  makes no report. Every report carries each of its tasks' current rate, the full ones every task's.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from . import cgroupstats
from .common import Client, HTTPError

log = logging.getLogger("slipway.nodeagent")
PATH = "/v2/hooks/nodes/report/"
BATCH = 0.02  # seconds a change waits for others to go out with it


class Reporter:
    def __init__(self, client: Client, node: Callable[[], str], snapshot: Callable[[], list[tuple[dict, int]]],
                 interval: float, heartbeat: float, stop: threading.Event, cgroups: cgroupstats.Cgroups,
                 usage_interval: float = 10.0, usage_change: float = 0.05):
        self.client, self.node, self.snapshot = client, node, snapshot
        self.interval, self.heartbeat, self.stop = interval, heartbeat, stop
        self.cgroups = cgroups
        self.usage_interval, self.usage_change = usage_interval, usage_change
        self.next_usage = time.monotonic() + usage_interval
        self.readings: dict[str, tuple[float, float]] = {}  # container -> (monotonic, CPU seconds) last read
        self.rates: dict[str, float] = {}  # container -> cores used over the last usage interval
        self.sent: dict[str, float] = {}  # container -> the rate its last report carried
        self.cond = threading.Condition()
        self.pending: dict[str, tuple[dict, int]] = {}  # container -> (entry, pid): changes not yet sent
        self.need_full = True
        self.ready = False  # the table has been read from the Engine once: a full report may go out
        self.last_full = 0.0
        self.places: dict[str, cgroupstats.Place] = {}
        self.failing_since: float | None = None

    # ---- called by the agent's loop ----------------------------------------------------------------
    def changed(self, entry: dict, pid: int) -> None:
        with self.cond:
            self.pending[entry["container"]] = (entry, pid)
            self.cond.notify()

    def table_read(self) -> None:
        with self.cond:
            self.ready = True
            self.cond.notify()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify()

    # ---- the reporting thread -------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="slipway-node-report", daemon=True)
        thread.start()
        return thread

    def _next(self) -> tuple[bool, list[tuple[dict, int]]] | None:
        """Wait for something to send: (full, tasks), or None when the agent stops."""
        while not self.stop.is_set():
            if time.monotonic() >= self.next_usage:
                self.next_usage = time.monotonic() + self.usage_interval
                moved = self.sample()
                with self.cond:
                    for entry, pid in moved:
                        self.pending.setdefault(entry["container"], (entry, pid))
            with self.cond:
                usage_in = self.next_usage - time.monotonic()
                if self.ready and self.node():
                    left = self.last_full + self.heartbeat - time.monotonic()
                    if self.need_full or left <= 0:
                        self.need_full = False
                        self.pending.clear()
                        return True, []
                    if self.pending:
                        break
                    self.cond.wait(max(0.0, min(left, usage_in)))
                else:
                    self.cond.wait(max(0.0, min(0.5, usage_in)))
        else:
            return None
        self.stop.wait(BATCH)
        with self.cond:
            batch, self.pending = list(self.pending.values()), {}
        return False, batch

    def place(self, container: str, pid: int) -> cgroupstats.Place:
        place = self.places.get(container)
        if place is None or place.cpu is None or place.memory is None:
            place = self.places[container] = self.cgroups.locate(pid, container)
        return place

    def forget(self, containers: set[str]) -> None:
        for table in (self.places, self.readings, self.rates, self.sent):
            for container in containers & set(table):
                del table[container]

    def sample(self) -> list[tuple[dict, int]]:
        """Read each running task's CPU counter: its rate since the last reading, and the tasks whose rate moved
        by more than usage_change since the rate last sent for them (a rate not sent yet counts as 0)."""
        moved = []
        tasks = self.snapshot()
        self.forget(set(self.readings) - {entry["container"] for entry, _unused in tasks})
        for entry, pid in tasks:
            container = entry["container"]
            if entry["state"] == "gone":
                continue
            now, seconds = time.monotonic(), cgroupstats.cpu_seconds(self.place(container, pid))
            before = self.readings.pop(container, None)
            if seconds is None:
                self.rates.pop(container, None)
                continue
            self.readings[container] = (now, seconds)
            if before is None or now <= before[0] or seconds < before[1]:
                continue
            self.rates[container] = rate = (seconds - before[1]) / (now - before[0])
            if abs(rate - self.sent.get(container, 0.0)) > self.usage_change:
                moved.append((entry, pid))
        return moved

    def figures(self) -> list[tuple[dict, float | None, int | None]]:
        """Each running task's entry with its CPU seconds and working set read now (a scrape of the metrics)."""
        return [(entry, cgroupstats.cpu_seconds(place), cgroupstats.memory_bytes(place))
                for entry, pid in self.snapshot() if entry["state"] != "gone"
                for place in (self.place(entry["container"], pid),)]

    def usage(self, entry: dict, pid: int) -> dict:
        container = entry["container"]
        if entry["state"] == "gone":
            self.forget({container})
            return dict(entry, cpu_seconds=None, memory_bytes=None, cpu_rate=None)
        place = self.place(container, pid)
        rate = self.rates.get(container)
        if rate is not None:
            self.sent[container] = rate
            rate = round(rate, 4)
        return dict(entry, cpu_seconds=cgroupstats.cpu_seconds(place), memory_bytes=cgroupstats.memory_bytes(place),
                    cpu_rate=rate)

    def body(self, full: bool, tasks: list[tuple[dict, int]]) -> dict:
        if full:
            tasks = self.snapshot()
            self.forget(set(self.places) - {entry["container"] for entry, _unused in tasks})
        return {"node": self.node(), "full": full, "at": round(time.time(), 3), "interval": self.interval,
                "heartbeat": self.heartbeat, "tasks": [self.usage(entry, pid) for entry, pid in tasks]}

    def run(self) -> None:
        pause = 0.5
        while True:
            job = self._next()
            if job is None:
                return
            full, tasks = job
            body = self.body(full, tasks)
            try:
                self.client.request("POST", PATH, body)
            except (OSError, HTTPError, ValueError) as e:
                with self.cond:
                    self.need_full = True  # what was in this report, and what changes meanwhile, goes in full
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    log.warning("report failed, sending the full table once the controller answers: %s", e)
                else:
                    log.debug("report failed again: %s", e)
                if self.stop.wait(pause):
                    return
                pause = min(pause * 2, 5.0)
                continue
            if self.failing_since is not None:
                log.info("controller answers again after %.0fs; full table sent",
                         time.monotonic() - self.failing_since)
                self.failing_since = None
            pause = 0.5
            if full:
                self.last_full = time.monotonic()
            log.debug("reported %s %d task(s)", "all" if full else "changes of", len(body["tasks"]))
