"""Background reconciler: keeps each app's routed endpoints equal to its healthy tasks, and retires
replaced deployments whose drain is over (when the deploying process could not: see retire.py), and fails
releases left `deploying` by a process that died (see releasestate.py).

Swarm replaces a dead task on its own; this loop notices the endpoint change (a killed container, a
restarted task) and tells the router, skipping apps whose deploy holds the lock.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from ..db import session_factory
from ..models import App, Deployment
from ..scheduler.base import SchedulerError
from . import deploy, health, releasestate, retire, routing
from .scheduling import get_scheduler

log = logging.getLogger("slipway.monitor")


# A routed endpoint leaves the router after this many failed checks in a row (one per pass): a task that is
# merely slow under load (a check timing out) must not be taken out of rotation, which would turn an
# overloaded app into one that answers nothing but 503s. A task Swarm reports as no longer running leaves at
# once; an endpoint joins only once its check passes.
FAILURES_TO_DROP = 3
_failures: dict[tuple[str, str, int], int] = {}


def healthy_endpoints(app: App, dep: Deployment, checks: dict) -> list[dict]:
    proc = deploy.routable_type(dep.structure or {})
    if proc is None:
        return []
    routed = {(e["address"], e["port"]) for e in app.endpoints or []}
    out = []
    for task in get_scheduler().tasks(app.id, dep.id):
        if task.proc_type == proc and task.state == "running" and task.endpoint:
            key = (app.id, task.endpoint.address, task.endpoint.port)
            ok, _ = health.check(task.endpoint.address, task.endpoint.port, {**checks.get(proc, {}), "timeout": 1})
            _failures[key] = 0 if ok else _failures.get(key, 0) + 1
            if ok or ((key[1], key[2]) in routed and _failures[key] < FAILURES_TO_DROP):
                out.append({"address": task.endpoint.address, "port": task.endpoint.port})
    if len(_failures) > 100_000:  # endpoints of tasks long gone
        _failures.clear()
    return sorted(out, key=lambda e: (e["address"], e["port"]))


def reconcile_once() -> int:
    """One pass over every serving app; returns how many apps changed endpoints."""
    changed = 0
    with session_factory()() as db:
        for app in db.scalars(select(App).where(App.current_deployment.isnot(None))).all():
            try:
                with deploy.app_lock(app, 0):
                    db.refresh(app)
                    dep = db.get(Deployment, app.current_deployment)
                    release = deploy.current_release(db, app)
                    if dep is None or release is None:
                        continue
                    endpoints = healthy_endpoints(app, dep, release.config.healthcheck or {})
                    if endpoints != (app.endpoints or []):
                        app.endpoints = endpoints
                        routing.bump(db)
                        db.commit()
                        changed += 1
            except deploy.Busy:
                continue
            except SchedulerError as exc:
                log.warning("monitor: %s: %s", app.id, exc)
    return changed


def start(interval: float, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(interval):
            try:
                reconcile_once()
                with session_factory()() as db:
                    retire.due(db)
                    releasestate.fail_orphans(db)
            except Exception:  # noqa: BLE001 - the loop must survive a database restart
                log.exception("monitor pass failed")

    thread = threading.Thread(target=loop, name="slipway-monitor", daemon=True)
    thread.start()
    return thread
