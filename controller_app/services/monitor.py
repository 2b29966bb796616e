"""Background reconciler: keeps each app's routed endpoints equal to its healthy tasks, and retires
replaced deployments whose drain is over (when the deploying process could not: see retire.py), and fails
releases left `deploying` by a process that died (see releasestate.py).

Swarm replaces a dead task on its own; this loop notices the endpoint change (a killed container, a
restarted task) and tells the router, skipping apps whose deploy holds the lock. Where the endpoints come from:

- **The node agents' reports** (agentview.py), when every ready Swarm node has an agent that reports. The loop
  wakes when an agent reports a change (PostgreSQL NOTIFY on changes.TASKS) and on the Swarm manager's node and
  service events (scheduler.watch: a node going down, a service changed), and reads every report again each
  `full_every` seconds as a safety net under the notifications: two queries, however many apps there are. The
  nodes are listed again on a node event and at each full read; while the event stream is down (or a scheduler
  has none), at every tick. The agents list their Engine's containers
  every minute and send their whole table every heartbeat, which is their own safety net.
- **Its own look-ups** otherwise (a node without an agent, or an agent gone silent): each tick lists each
  serving app's tasks through Swarm and probes each routed endpoint over HTTP from here.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import select

from .. import probes
from ..db import session_factory
from ..models import App, Deployment
from ..scheduler.base import SchedulerError
from . import agentview, changes, deploy, health, releasestate, retire, routing
from .agentview import FAILURES_TO_DROP
from .scheduling import get_scheduler

log = logging.getLogger("slipway.monitor")
FULL_EVERY = 30.0  # seconds between two full reads of the agents' reports

# A routed endpoint leaves the router after FAILURES_TO_DROP failed checks in a row (one per pass): a task that is
# merely slow under load (a check timing out) must not be taken out of rotation, which would turn an
# overloaded app into one that answers nothing but 503s. A task Swarm reports as no longer running leaves at
# once; an endpoint joins only once its check passes.
_failures: dict[tuple[str, str, int], int] = {}


def _probe(app: App, release, proc: str, address: str, port: int) -> bool:
    """One check of an endpoint from here, as `proc`'s readiness probe says (health.py: one the controller cannot
    run is a connection to the task's port), within a second."""
    probe = probes.readiness((release.config.healthcheck or {}).get(proc))
    return health.check(address, port, probe, int(deploy.environment(app, release)["PORT"]), timeout=1)[0]


def healthy_endpoints(app: App, dep: Deployment, release) -> list[dict]:
    proc = deploy.routable_type(dep.structure or {})
    if proc is None:
        return []
    routed = {(e["address"], e["port"]) for e in app.endpoints or []}
    out = []
    for task in get_scheduler().tasks(app.id, dep.id):
        if task.proc_type == proc and task.state == "running" and task.endpoint:
            key = (app.id, task.endpoint.address, task.endpoint.port)
            ok = _probe(app, release, proc, task.endpoint.address, task.endpoint.port)
            _failures[key] = 0 if ok else _failures.get(key, 0) + 1
            if ok or ((key[1], key[2]) in routed and _failures[key] < FAILURES_TO_DROP):
                out.append({"address": task.endpoint.address, "port": task.endpoint.port})
    if len(_failures) > 100_000:  # endpoints of tasks long gone
        _failures.clear()
    return sorted(out, key=lambda e: (e["address"], e["port"]))


def _settle(db, app: App, want) -> bool:
    """Give `app` the endpoints `want(app, deployment, release)` computes under its deploy lock (a deploy in
    progress: left alone); True when they changed."""
    try:
        with deploy.app_lock(app, 0):
            db.refresh(app)
            dep = db.get(Deployment, app.current_deployment) if app.current_deployment else None
            release = deploy.current_release(db, app)
            if dep is None or release is None:
                return False
            endpoints = want(app, dep, release)
            if endpoints == (app.endpoints or []):
                return False
            app.endpoints = endpoints
            routing.bump(db)
            db.commit()
            return True
    except deploy.Busy:
        return False
    except SchedulerError as exc:
        log.warning("monitor: %s: %s", app.id, exc)
        return False


def reconcile_once() -> int:
    """One pass over every serving app from the controller's own look-ups; returns how many apps changed."""
    with session_factory()() as db:
        apps = db.scalars(select(App).where(App.current_deployment.isnot(None))).all()
        return sum(_settle(db, app, healthy_endpoints) for app in apps)


def reconcile_reports(addresses: dict[str, str]) -> int:
    """One pass over every serving app from the agents' reports (`addresses`: ready node id -> address). An app
    is locked and probed only when the reports alone would change its endpoints. Returns how many changed."""
    changed = 0
    with session_factory()() as db:
        reports = agentview.reports_by_deployment(db)

        def want(app: App, dep: Deployment, confirm) -> list[dict]:
            return agentview.endpoints(app.endpoints or [], reports.get((app.id, dep.id), []),
                                       deploy.routable_type(dep.structure or {}), addresses, confirm)

        def settled(app: App, dep: Deployment, release) -> list[dict]:
            proc = deploy.routable_type(dep.structure or {})
            return want(app, dep, lambda address, port: _probe(app, release, proc, address, port))

        serving = db.execute(select(App, Deployment).join(Deployment, Deployment.id == App.current_deployment))
        for app, dep in serving.all():
            if want(app, dep, lambda *_: False) != (app.endpoints or []):
                changed += _settle(db, app, settled)
    return changed


class Loop:
    """The monitor's ticks (every `interval` seconds) and wake-ups (an agent's report of a change)."""

    def __init__(self, interval: float, full_every: float = FULL_EVERY):
        self.interval, self.full_every = interval, full_every
        self.nodes: dict[str, str] | None = None  # ready node id -> address, at the last reports pass
        self.addresses: dict[str, str] | None = None  # the same, at the last listing
        self.next_full = 0.0
        self.agents = None  # whether the agents' reports were used at the last tick
        self.watching = False  # the Swarm's events stream is up: nodes are listed when one changes
        self.relist = True

    def cluster_changed(self, kind: str) -> None:
        """From the Swarm events' thread: "node", "service", "connected" or "lost" (scheduler.watch)."""
        if kind != "service":
            self.relist = True
        self.watching = kind != "lost" and (self.watching or kind == "connected")
        changes.poke(changes.TASKS)

    def tick(self, woken: bool, due: bool) -> None:
        """`woken`: an agent reported a change or the Swarm an event; `due`: a tick's time has come (the jobs
        of every tick run)."""
        full = time.monotonic() >= self.next_full
        if self.relist or not self.watching or full or self.addresses is None:
            self.relist = False  # before listing: an event during the listing lists again
            self.addresses = {n.id: n.address for n in get_scheduler().nodes() if n.state == "ready" and n.address}
        addresses = self.addresses
        with session_factory()() as db:  # no ready node: nothing to take the agents' word for
            covered = bool(addresses) and set(addresses) <= agentview.reporting_nodes(db)
        if covered != self.agents:
            log.info("monitor: endpoints from %s", "the node agents' reports" if covered else "its own probes")
            self.agents = covered
        if not covered:
            if due:
                reconcile_once()
        elif woken or addresses != self.nodes or full:
            self.nodes, self.next_full = addresses, time.monotonic() + self.full_every
            reconcile_reports(addresses)
        if due:
            with session_factory()() as db:
                retire.due(db)
                releasestate.fail_orphans(db)


def start(interval: float, stop: threading.Event) -> threading.Thread:
    ticks = Loop(interval)
    threading.Thread(target=get_scheduler().watch, args=(ticks.cluster_changed, stop), name="slipway-swarm-events",
                     daemon=True).start()

    def loop() -> None:
        since, next_tick = changes.mark(changes.TASKS), time.monotonic() + interval
        while not stop.is_set():
            woken = changes.wait(changes.TASKS, since, max(0.0, next_tick - time.monotonic()))
            if stop.is_set():
                break
            if woken:
                stop.wait(0.05)  # one pass for the reports that come together (a node's tasks ending at once)
            since = changes.mark(changes.TASKS)
            due = time.monotonic() >= next_tick
            if due:
                next_tick = time.monotonic() + interval
            try:
                ticks.tick(woken, due)
            except Exception:  # noqa: BLE001 - the loop must survive a database restart
                log.exception("monitor pass failed")

    thread = threading.Thread(target=loop, name="slipway-monitor", daemon=True)
    thread.start()
    return thread
