"""Serving apps whose services are gone come back: a pass lists the platform's Swarm services once and deploys
again, with the structure it had, the serving release of every app whose serving deployment has none left.

Swarm restarts the tasks of a service on its own, but nothing brings back a service that is gone: one removed
by hand, or every one of them after the platform was uninstalled and installed again over its kept database
(playbooks/uninstall.yml keeps the data). One controller process makes each pass (an advisory lock); a pass
costs one listing of the services and one query, however many apps there are. An app whose restore failed (its
image unreachable, say) waits HOLD_AFTER_FAILURE before the next try, so a lasting failure adds one failed
deployment record every ten minutes, not one a pass.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import select

from ..db import one_at_a_time, session_factory
from ..models import App, Deployment
from ..scheduler.base import SchedulerError
from . import deploy
from .scheduling import get_scheduler

log = logging.getLogger("slipway.revive")
LOCK = 0x736C69707761795E  # one pass at a time, whatever the number of controller processes
HOLD_AFTER_FAILURE = 600.0
CAUSE = "restored: the serving deployment's services were gone"


class Reviver:
    def __init__(self) -> None:
        self.held: dict[str, float] = {}  # app id -> monotonic time before which it is not tried again

    def run_once(self, now: float | None = None) -> list[str]:
        """One pass, if no other process is making one: the apps deployed again."""
        now = time.monotonic() if now is None else now
        done: list[str] = []
        with one_at_a_time(LOCK) as held:
            if not held:
                return done
            present = get_scheduler().all_deployments()
            with session_factory()() as db:
                serving = db.execute(select(App, Deployment).join(Deployment, Deployment.id == App.current_deployment))
                missing = [app for app, dep in serving.all() if (app.id, dep.id) not in present]
                for app in missing:
                    if self.held.get(app.id, 0) > now:
                        continue
                    try:
                        if deploy.restore(db, app, CAUSE) is not None:
                            log.warning("%s: %s; deployed again", app.id, CAUSE)
                            done.append(app.id)
                    except (deploy.DeployError, SchedulerError) as exc:
                        log.warning("%s: %s, and deploying it again failed: %s", app.id, CAUSE, exc)
                        self.held[app.id] = now + HOLD_AFTER_FAILURE
                        db.rollback()
            self.held = {a: until for a, until in self.held.items() if until > now}
        return done


def start(interval: float, stop: threading.Event) -> threading.Thread:
    reviver = Reviver()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                reviver.run_once()
            except Exception:  # noqa: BLE001 - the loop must survive a database or Swarm outage
                log.exception("revive pass failed")

    thread = threading.Thread(target=loop, name="slipway-revive", daemon=True)
    thread.start()
    return thread
