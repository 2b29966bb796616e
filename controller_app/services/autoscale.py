"""The autoscaler: sizes the process types an app's `autoscale` setting names, by the CPU use its node agents
measure (the rule is autoscaling.py's).

Swarm has no autoscaler, so the controller runs one. Every `autoscale_interval` seconds one controller process
(the one that holds a PostgreSQL advisory lock for the pass) reads, for each autoscaled app, the CPU rate of
its serving deployment's running tasks as their node agents last reported it (services/taskreports.py; an
agent sends a task's rate when it moves, and every heartbeat), and only from agents that still report. A
change is a normal scale: a blue/green redeploy of the serving release (pods.redeploy), so the platform's
replica limits hold, no request fails, and the app's history (its deployments) shows it with its cause.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import one_at_a_time, session_factory
from ..models import App, TaskReport
from . import agentview, limits, pods
from .autoscaling import Track, decide, utilisation
from .errors import ServiceError

log = logging.getLogger("slipway.autoscale")
LOCK = 0x736C69707761795F  # one autoscaling pass at a time, whatever the number of controller processes
HOLD_AFTER_FAILURE = 60.0  # seconds an app's autoscale waits after a step that failed (no deploy loop)


class Autoscaler:
    def __init__(self, up_window: float, down_window: float):
        self.up_window, self.down_window = up_window, down_window
        self.tracks: dict[tuple[str, str], Track] = {}
        self.held: dict[str, float] = {}  # app id -> until when its autoscale waits after a failed step

    @staticmethod
    def figures(db: Session, app: App, reporting: set[str]) -> dict[str, list[tuple[float, float]]]:
        """(cores used, cores limit) of each running task of the serving deployment with a figure, by type, from
        the agents that still report (`reporting`)."""
        rows = db.execute(select(TaskReport.proc_type, TaskReport.cpu_rate, TaskReport.cpu_limit, TaskReport.node)
                          .where(TaskReport.app_id == app.id, TaskReport.deployment == app.current_deployment,
                                 TaskReport.state == "running", TaskReport.cpu_rate.is_not(None)))
        out: dict[str, list[tuple[float, float]]] = {}
        for proc, rate, limit, node in rows:
            if node in reporting:
                out.setdefault(proc, []).append((rate, limit or 0.0))
        return out

    def run_app(self, db: Session, app: App, now: float, reporting: set[str]) -> str | None:
        """One look at one app; what it changed (its deployment's cause), or None."""
        figures = self.figures(db, app, reporting)
        structure = dict(app.structure or {})
        for proc, spec in sorted((app.autoscale or {}).items()):
            if proc not in structure:
                continue
            track = self.tracks.setdefault((app.id, proc), Track())
            percent = utilisation(figures.get(proc, []))
            count = structure[proc]
            target = decide(track, now, count, spec, percent, self.up_window, self.down_window)
            if target is None or target == count:
                continue
            new = {**structure, proc: target}
            problem = limits.problem(db, new)
            if problem:
                log.warning("autoscale of %s %s to %d held back: %s", app.id, proc, target, problem)
                continue
            shown = "no figure" if percent is None else f"{percent:.0f}%"
            cause = (f"autoscaled {proc} {count}->{target} (CPU {shown}, target {spec['cpu_percent']}%, "
                     f"{spec['min']} to {spec['max']})")
            log.info("%s: %s", app.id, cause)
            pods.redeploy(db, app, new, cause)
            self.tracks.pop((app.id, proc), None)
            return cause
        return None

    def run_once(self, now: float | None = None) -> list[str]:
        """One pass over every autoscaled app, if no other process is making one; what changed."""
        now = time.monotonic() if now is None else now
        done: list[str] = []
        with one_at_a_time(LOCK) as held:
            if not held:
                return done
            with session_factory()() as db:
                apps = db.scalars(select(App).where(App.autoscale != {}, App.current_deployment.is_not(None)))
                live, reporting = set(), agentview.reporting_nodes(db)  # once a pass, not per app
                for app in apps.all():
                    live |= {(app.id, proc) for proc in app.autoscale}
                    if self.held.get(app.id, 0) > now:
                        continue
                    try:
                        cause = self.run_app(db, app, now, reporting)
                    except ServiceError as exc:  # another deploy held the app, or the step failed: later
                        log.warning("autoscale of %s: %s", app.id, exc)
                        self.held[app.id] = now + HOLD_AFTER_FAILURE
                        db.rollback()
                        continue
                    if cause:
                        done.append(f"{app.id}: {cause}")
                for gone in set(self.tracks) - live:
                    del self.tracks[gone]
                self.held = {a: until for a, until in self.held.items() if until > now}
        return done


def start(interval: float, up_window: float, down_window: float, stop: threading.Event) -> threading.Thread:
    scaler = Autoscaler(up_window, down_window)

    def loop() -> None:
        while not stop.wait(interval):
            try:
                scaler.run_once()
            except Exception:  # noqa: BLE001 - the loop must survive a database restart
                log.exception("autoscale pass failed")

    thread = threading.Thread(target=loop, name="slipway-autoscale", daemon=True)
    thread.start()
    return thread
