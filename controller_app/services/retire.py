"""Retiring replaced deployments after a deploy has answered: drain, then remove their services.

A deploy marks the deployments it replaced `draining` in the transaction that switches the routes. Then
`later` (a thread of the deploying process) waits the drain time and removes them; `due` (each monitor pass)
and `resume` (start-up) finish drains that a restarted controller, or a failed Docker call, left behind.
Only deployments older than the serving one are ever touched.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db import session_factory
from ..models import App, Deployment
from ..scheduler.base import SchedulerError
from ..settings import get_settings
from .scheduling import get_scheduler

log = logging.getLogger("slipway.deploy")


def older_than(app_id: str, app_uuid, keep: int) -> None:
    """Remove the services of every deployment of the app older than `keep` (the one serving, or newer
    ones: deploys are serialised, so anything older than `keep` no longer serves) and mark them retired."""
    sched = get_scheduler()
    for dep_id in sched.deployments(app_id):
        if dep_id < keep:
            sched.remove(app_id, dep_id)
    with session_factory()() as db:
        db.execute(update(Deployment).where(Deployment.app_uuid == app_uuid, Deployment.id < keep,
                                            Deployment.status.in_(("succeeded", "draining")))
                   .values(status="retired"))
        db.commit()


def later(app_id: str, app_uuid, keep: int, drain: float) -> None:
    def run() -> None:
        time.sleep(drain)
        try:
            older_than(app_id, app_uuid, keep)
        except Exception:  # noqa: BLE001 - due() (monitor) and resume() (start-up) finishes the job
            log.exception("retiring deployments of %s older than %s", app_id, keep)

    threading.Thread(target=run, name=f"retire-{app_id}", daemon=True).start()


def _draining(db: Session) -> list[tuple[str, object, int, float]]:
    """(app id, app uuid, serving deployment, seconds since its newest drain began) of apps with draining
    deployments; times by the database's clock, as the rows were stamped."""
    age = func.extract("epoch", func.now() - func.max(Deployment.updated))
    return [tuple(row) for row in db.execute(
        select(App.id, App.uuid, App.current_deployment, age).join(Deployment, Deployment.app_uuid == App.uuid)
        .where(Deployment.status == "draining", App.current_deployment.isnot(None))
        .group_by(App.id, App.uuid, App.current_deployment)).all()]


def _grace() -> float:
    """How long after the switch old services may still get requests: routers' ack wait, then the drain."""
    s = get_settings()
    return s.router_ack_timeout + s.drain_seconds


def due(db: Session) -> int:
    """Retire the draining deployments whose grace is over: the durable half of retiring, for drains that
    this process did not finish (it restarted, or Docker failed). Returns how many apps it retired."""
    done = 0
    for app_id, app_uuid, keep, age in _draining(db):
        if float(age) < _grace():
            continue
        try:
            older_than(app_id, app_uuid, keep)
            done += 1
        except SchedulerError as exc:
            log.warning("retiring old deployments of %s: %s", app_id, exc)
    return done


def resume(db: Session) -> int:
    """At start-up: retire every draining deployment when its grace ends (now, for most)."""
    found = _draining(db)
    for app_id, app_uuid, keep, age in found:
        later(app_id, app_uuid, keep, max(0.0, _grace() - float(age)))
    return len(found)
