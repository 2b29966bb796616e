"""Which tasks of a starting deployment are ready to take traffic: what a deploy waits for (deploy.py).

- A type without a readiness probe: a routable type's tasks once they pass the default check from here (HTTP
  GET / on their published PORT, any answer below 500); the other types' tasks once they run.
- A readiness probe the controller runs (httpGet or tcpSocket on the PORT of a routable type, health.py): from
  here, not before initialDelaySeconds after the task was first seen running; ready after successThreshold
  passes in a row. Until its first pass a task is probed at each look; the further passes come periodSeconds
  apart.
- Any other readiness probe (exec, another port of the container, a type that publishes no port): the node
  agents' reports (taskreports.py), once every ready Swarm node has an agent that reports
  (agentview.reporting_nodes); without them the deploy fails, saying so. The agents apply the probe's delay and
  thresholds themselves.

A task, once ready, stays so while it runs. The deploy's own timeout bounds every wait.
"""
from __future__ import annotations

import time

from sqlalchemy import select

from .. import probes
from ..db import session_factory
from ..models import TaskReport
from ..scheduler.base import Task
from . import agentview, health
from .scheduling import get_scheduler

AGENT_LOOK = 0.5  # seconds between two reads of the agents' reports (and of the Swarm's nodes)


class NeedsAgents(Exception):
    """A readiness probe only the node agents run, and nodes without a reporting agent."""


class Gate:
    """The readiness of one deployment's tasks (`app_id`, `deployment`), as the release's health checks
    (`checks`, per type) say; `port` is the processes' PORT."""

    def __init__(self, app_id: str, deployment: int, checks: dict, port: int, deadline: float):
        self.app_id, self.deployment, self.checks = app_id, deployment, checks
        self.port, self.deadline = port, deadline
        self.ready: dict[str, dict | None] = {}  # task name -> its endpoint (routable types) once ready
        self.seen: dict[str, list[float]] = {}  # task name -> [first seen running, passes in a row, next probe]
        self.next_look = 0.0
        self.reported: list[tuple[str, str, int | None]] = []  # healthy running tasks: (node, type, port)
        self.addresses: dict[str, str] = {}

    def by_agents(self, proc: str, routable: bool) -> bool:
        probe = probes.readiness(self.checks.get(proc))
        return probe is not None and not (routable and health.runnable(probe, self.port))

    def look(self, proc: str, routable: bool, running: list[Task]) -> str | None:
        """Bring the readiness of `proc`'s running tasks up to date; a word on one that is not ready yet."""
        live = {t.name for t in running}
        for gone in [n for n in self.seen if n.startswith(f"{proc}:") and n[len(proc) + 1:] not in live]:
            del self.seen[gone]
        self.ready = {n: e for n, e in self.ready.items() if n in live or not n.startswith(f"{proc}:")}
        if self.by_agents(proc, routable):
            return self._from_reports(proc, routable, running)
        last = None
        for task in running:
            key = f"{proc}:{task.name}"
            if key in self.ready:
                continue
            if not routable:
                self.ready[key] = None
                continue
            if task.endpoint is not None:
                last = self._probe(key, proc, task) or last
        return last

    def count(self, proc: str) -> int:
        return sum(1 for n in self.ready if n.startswith(f"{proc}:"))

    def endpoints(self) -> list[dict]:
        return sorted((e for e in self.ready.values() if e), key=lambda e: (e["address"], e["port"]))

    def _probe(self, key: str, proc: str, task: Task) -> str | None:
        probe = probes.readiness(self.checks.get(proc))
        now = time.monotonic()
        first, passes, due = self.seen.setdefault(key, [now, 0, now])
        if now < first + (probe or {}).get("initialDelaySeconds", 0) or now < due:
            return None
        timeout = min((probe or {}).get("timeoutSeconds", health.DEFAULT_TIMEOUT), max(1.0, self.deadline - now))
        ok, message = health.check(task.endpoint.address, task.endpoint.port, probe, self.port, timeout)
        passes = passes + 1 if ok else 0
        self.seen[key] = [first, passes, now + (probe or {}).get("periodSeconds", 0) if ok else now]
        if passes >= (probe or {}).get("successThreshold", 1):
            self.ready[key] = {"address": task.endpoint.address, "port": task.endpoint.port}
            return None
        return None if ok else f"health check {message}"

    def _read_reports(self) -> None:
        now = time.monotonic()
        if now < self.next_look:
            return
        self.next_look = now + AGENT_LOOK
        self.addresses = {n.id: n.address for n in get_scheduler().nodes() if n.state == "ready" and n.address}
        with session_factory()() as db:
            reporting = agentview.reporting_nodes(db)
            rows = db.execute(select(TaskReport.node, TaskReport.proc_type, TaskReport.port).where(
                TaskReport.app_id == self.app_id, TaskReport.deployment == self.deployment,
                TaskReport.state == "running", TaskReport.healthy.is_(True)))
            self.reported = [tuple(r) for r in rows]
        missing = sorted(set(self.addresses) - reporting)
        if missing or not self.addresses:
            raise NeedsAgents(f"readiness probes that are not an httpGet or tcpSocket on the PORT of a routable type "
                              f"need the node agents, and {len(missing) or 'no'} ready node(s) have no reporting "
                              f"agent{': ' + ', '.join(missing[:5]) if missing else ''}")

    def _from_reports(self, proc: str, routable: bool, running: list[Task]) -> str | None:
        self._read_reports()
        mine = [(node, port) for node, kind, port in self.reported if kind == proc]
        if routable:
            healthy = {(self.addresses.get(node), port) for node, port in mine}
            for task in running:
                if task.endpoint and (task.endpoint.address, task.endpoint.port) in healthy:
                    self.ready[f"{proc}:{task.name}"] = {"address": task.endpoint.address,
                                                         "port": task.endpoint.port}
        else:
            for task in running[:len(mine)]:
                self.ready[f"{proc}:{task.name}"] = None
        waiting = len(running) - self.count(proc)
        return f"{waiting} {proc} task(s) not yet reported ready by the node agents" if waiting > 0 else None
