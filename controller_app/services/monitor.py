"""Background reconciler: keeps each app's routed endpoints equal to its healthy tasks, and retires
replaced deployments whose drain is over (when the deploying process could not: see retire.py).

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
from . import deploy, health, retire, routing
from .scheduling import get_scheduler

log = logging.getLogger("slipway.monitor")


def healthy_endpoints(app: App, dep: Deployment, checks: dict) -> list[dict]:
    proc = deploy.routable_type(dep.structure or {})
    if proc is None:
        return []
    out = []
    for task in get_scheduler().tasks(app.id, dep.id):
        if task.proc_type == proc and task.state == "running" and task.endpoint:
            ok, _ = health.check(task.endpoint.address, task.endpoint.port, {**checks.get(proc, {}), "timeout": 1})
            if ok:
                out.append({"address": task.endpoint.address, "port": task.endpoint.port})
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
            except Exception:  # noqa: BLE001 - the loop must survive a database restart
                log.exception("monitor pass failed")

    thread = threading.Thread(target=loop, name="slipway-monitor", daemon=True)
    thread.start()
    return thread
