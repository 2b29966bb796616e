"""Zero-downtime deploys: new services healthy → routes switched and acknowledged → old services removed.

Each deployment gets its own Swarm services (blue/green). A deployment row is written before anything
starts, so a controller restarted mid-deploy fails it cleanly (see `recover`). A per-app PostgreSQL
advisory lock (held on its own connection) serialises deploys of one app and is released by PostgreSQL
itself if the controller dies; new releases take it in the order they were made.

`deploy` returns once the new deployment serves (routers acknowledged), and settles a new release's state
(`serving` or `failed`, see releasestate.py); the caller is a request that waits for it or, for the
builder's hook, a background worker (background.py). The deployments it replaced are marked `draining` in the
same transaction as the switch and retired afterwards (see retire.py).
"""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Iterator

from sqlalchemy import exists, select, text, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from ..db import engine
from ..models import App, Deployment, Release
from ..models.release import DEPLOYING, FAILED, SERVING
from ..scheduler.base import ProcessSpec, SchedulerError
from ..settings import get_settings
from . import imagerefs, metrics, readiness, releasestate, retire, routing, sealing
from .scheduling import get_scheduler

log = logging.getLogger("slipway.deploy")
ROUTABLE = ("web", "cmd")
DEFAULT_PORT = "5000"
FAILED_STATES = ("failed", "rejected", "complete", "orphaned")
POLL = 0.05  # seconds between looks at a starting deployment's tasks


class DeployError(Exception):
    pass


class Busy(DeployError):
    pass


def _lock_key(app: App) -> int:
    return int.from_bytes(app.uuid.bytes[:8], "big", signed=True)


def _take(conn, key: int, turn: Release | None) -> bool:
    """Take the app's deploy lock; with `turn` (a new release), only once no older release of the app is still
    deploying (new releases deploy in the order they were made: an older one never replaces a newer one)."""
    taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    if taken and turn is not None and conn.execute(select(exists().where(
            Release.app_uuid == turn.app_uuid, Release.state == DEPLOYING, Release.version < turn.version))).scalar():
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        taken = False
    conn.commit()
    return taken


@contextlib.contextmanager
def app_lock(app: App, wait: float, turn: Release | None = None) -> Iterator[None]:
    key = _lock_key(app)
    with engine().connect() as conn:
        deadline = time.monotonic() + wait
        while not _take(conn, key, turn):
            if time.monotonic() > deadline:
                raise Busy(f"Another deploy of {app.id} is in progress; try again when it has finished.")
            time.sleep(0.2)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def routable_type(structure: dict[str, int]) -> str | None:
    return next((t for t in ROUTABLE if t in structure), None)


def structure_for(app: App, procfile: dict[str, str] | None) -> dict[str, int]:
    """Process types of a build's Procfile, keeping the app's counts (web/cmd start at 1)."""
    types = [t for t in (procfile or {}) if t != "release"] or ["cmd"]
    current = app.structure or {}
    return {t: current.get(t, 1 if t in ROUTABLE else 0) for t in types}


def environment(app: App, release: Release) -> dict[str, str]:
    env = dict(release.config.values or {})
    env.setdefault("PORT", DEFAULT_PORT)
    env.update({"SLIPWAY_APP": app.id, "SLIPWAY_RELEASE": f"v{release.version}"})
    return env


def pull_credentials(release: Release) -> dict | None:
    """The app's private registry credentials (config `registry`) when they are for the release's image."""
    return imagerefs.credentials_for(release.build.image, sealing.unseal(release.config.registry_sealed),
                                     get_settings().registry)


def specs(app: App, release: Release, dep: Deployment, structure: dict[str, int]) -> list[ProcessSpec]:
    env = environment(app, release)
    cfg = release.config
    procfile = release.build.procfile or {}
    constraints = tuple(f"node.labels.{k}=={v}" for k, v in sorted((cfg.tags or {}).items()))
    registry = pull_credentials(release)
    return [ProcessSpec(app=app.id, release=release.version, deployment=dep.id, proc_type=t,
                        image=release.build.image, command=procfile.get(t), replicas=n, env=env,
                        port=int(env["PORT"]), routable=t in ROUTABLE, memory=(cfg.memory or {}).get(t),
                        cpu=(cfg.cpu or {}).get(t), constraints=constraints,
                        healthcheck=(cfg.healthcheck or {}).get(t), registry=registry)
            for t, n in sorted(structure.items()) if n > 0]


def _wait_healthy(app: App, dep: Deployment, structure: dict[str, int], checks: dict, port: int) -> list[dict]:
    """Wait until every type's tasks run and are ready (readiness.py); the routable type's ready endpoints."""
    s = get_settings()
    sched = get_scheduler()
    deadline = time.monotonic() + s.health_timeout
    gate = readiness.Gate(app.id, dep.id, checks, port, deadline)
    last = not_started = "no task started"
    while True:
        tasks = sched.tasks(app.id, dep.id)
        done = True
        for proc, count in structure.items():
            if count == 0:
                continue
            mine = [t for t in tasks if t.proc_type == proc]
            dead = [t for t in mine if t.state in FAILED_STATES]
            retrying = next((t for t in mine if t.failed_tries and t.error), None)  # after a failed try
            waiting = next((t for t in mine if t.state != "running"), None)
            if waiting:  # e.g. pending: no node has the memory it reserves
                not_started = f"{proc} task {waiting.state}" + (f": {waiting.error}" if waiting.error else "")
            if dead:
                last = f"{proc} task {dead[0].state}: {dead[0].error or 'exited'}"
            elif retrying:
                last = f"{proc} task failed: {retrying.error}"
            # a slot's earlier tries count too (Swarm restarts a failed task in the same slot): a crash loop or
            # an image no node can pull fails the deploy after a few tries, not at the health timeout
            failures = sum(max(t.failed_tries, int(t.state in FAILED_STATES)) for t in mine if t.state != "running")
            rejected = sum(max(t.failed_tries, 1) for t in dead if t.state == "rejected")
            if failures >= max(3, 2 * count) or rejected >= 2:
                raise DeployError(f"{proc} processes keep failing ({last})")
            try:
                last = gate.look(proc, proc in ROUTABLE, [t for t in mine if t.state == "running"]) or last
            except readiness.NeedsAgents as exc:
                raise DeployError(str(exc)) from None
            done = done and gate.count(proc) >= count
        if done:
            return gate.endpoints()
        if time.monotonic() > deadline:
            reason = not_started if last == "no task started" else last
            raise DeployError(f"processes did not become healthy within {s.health_timeout:.0f}s ({reason})")
        time.sleep(POLL)


def _run_release_task(app: App, release: Release) -> None:
    command = (release.build.procfile or {}).get("release")
    if not command:
        return
    result = get_scheduler().run(app.id, release.build.image, command, environment(app, release),
                                 memory=(release.config.memory or {}).get("release"),
                                 registry=pull_credentials(release))
    if result.exit_code != 0:
        tail = "\n".join(result.output.strip().splitlines()[-10:])
        raise DeployError(f"release task exited with {result.exit_code}: {tail}")


def deploy(db: Session, app: App, release: Release, structure: dict[str, int] | None = None,
           new_release: bool = True, retire_later: bool | None = None, cause: str = "") -> Deployment | None:
    """Make `release` serve with `structure` and block until it does; DeployError when it cannot (Busy when
    other deploys of the app kept it waiting past the deploy timeout).

    A new release waits for the older ones still deploying, then ends `serving` or `failed` with the reason (it
    keeps its number; the previous deployment keeps serving). The deployments it replaces drain and go after
    this returns when `retire_later` (the default for new releases), else before it returns (the default for
    redeploys of the serving release, such as moving an app off a node that is about to drain). `cause` says
    in the app's history why the deployment was made (a new release says so itself).
    """
    s = get_settings()
    if release.build is None:
        return None
    structure = structure if structure is not None else structure_for(app, release.build.procfile)
    app_id, started, succeeded = app.id, time.monotonic(), False
    with contextlib.ExitStack() as held:  # counted for /metrics however it ends, once the app's lock is let go
        held.callback(lambda: metrics.record_deploy(app_id, succeeded, time.monotonic() - started))
        try:
            held.enter_context(app_lock(app, s.deploy_timeout, turn=release if new_release else None))
        except Busy as exc:
            if new_release:
                releasestate.settle(db, release, FAILED, str(exc))
                db.commit()
            raise
        cause = cause or (f"v{release.version}: {release.summary}" if new_release else "")
        dep = _deploy_locked(db, app, release, structure, new_release, retire_later, cause[:500])
        succeeded = True
        return dep


def _deploy_locked(db: Session, app: App, release: Release, structure: dict[str, int], new_release: bool,
                   retire_later: bool | None, cause: str) -> Deployment:
    s = get_settings()
    started = time.monotonic()
    db.refresh(app)
    dep = Deployment(app_uuid=app.uuid, release_version=release.version, structure=structure, cause=cause)
    db.add(dep)
    db.commit()
    try:
        if new_release:
            _run_release_task(app, release)
        for spec in specs(app, release, dep, structure):
            get_scheduler().create(spec)
        endpoints = _wait_healthy(app, dep, structure, release.config.healthcheck or {},
                                  int(environment(app, release)["PORT"]))
    except (DeployError, SchedulerError) as exc:
        reason = str(exc)
        log.warning("deploy of %s v%s failed: %s", app.id, release.version, reason)
        with contextlib.suppress(SchedulerError):
            get_scheduler().remove(app.id, dep.id)
        dep.status, dep.reason = "failed", reason
        if new_release:
            releasestate.settle(db, release, FAILED, reason)
        db.commit()
        raise DeployError(f"v{release.version} failed: {reason}") from None
    healthy = time.monotonic()
    app.endpoints, app.current_deployment, app.structure = endpoints, dep.id, structure
    dep.status = "succeeded"
    db.execute(update(Deployment).where(Deployment.app_uuid == app.uuid, Deployment.id < dep.id,
                                        Deployment.status == "succeeded").values(status="draining"))
    gen = routing.bump(db)
    db.commit()
    if routable_type(structure) and not routing.wait_for_acks(gen, s.router_ack_timeout):
        log.warning("routers did not acknowledge generation %s within %ss", gen, s.router_ack_timeout)
    if new_release:
        releasestate.settle(db, release, SERVING)
        db.commit()
    log.info("deploy of %s v%s serves: started and healthy in %.2fs, routers acknowledged in %.2fs", app.id,
             release.version, healthy - started, time.monotonic() - healthy)
    if (new_release if retire_later is None else retire_later):
        retire.later(app.id, app.uuid, dep.id, s.drain_seconds)
    else:
        time.sleep(s.drain_seconds)
        retire.older_than(app.id, app.uuid, dep.id)
    return dep


def restore(db: Session, app: App, cause: str) -> Deployment | None:
    """Deploy the serving release again, with the structure it serves with, when none of its deployment's
    services exist any more (removed by hand, or the platform reinstalled over its kept database). Under the
    app's lock, which deploys and destroys hold: None when the services exist after all, the app is busy or gone.
    DeployError (or SchedulerError) when the deploy fails; the app keeps its serving deployment's record."""
    try:
        with app_lock(app, 0):
            try:
                db.refresh(app)
            except InvalidRequestError:  # destroyed meanwhile
                return None
            release = current_release(db, app)
            if release is None or release.build is None or app.current_deployment in get_scheduler().deployments(app.id):
                return None
            return _deploy_locked(db, app, release, dict(app.structure or {}), False, False, cause)
    except Busy:
        return None


def current_release(db: Session, app: App) -> Release | None:
    """The release whose deployment serves now."""
    if app.current_deployment is None:
        return None
    dep = db.get(Deployment, app.current_deployment)
    return db.scalar(select(Release).where(Release.app_uuid == app.uuid, Release.version == dep.release_version))


def recover(db: Session) -> int:
    """At start-up: deployments left running by a dead controller fail cleanly (their services go), and so do
    the releases nobody deploys any more (releasestate.fail_orphans). Returns how many deployments failed."""
    count = 0
    for dep in db.scalars(select(Deployment).where(Deployment.status == "running")).all():
        app = db.get(App, dep.app_uuid)
        try:
            with app_lock(app, 0):
                db.refresh(dep)
                if dep.status != "running":
                    continue
                with contextlib.suppress(SchedulerError):
                    get_scheduler().remove(app.id, dep.id)
                dep.status, dep.reason = "failed", "the controller restarted during the deploy"
                db.commit()
                count += 1
        except Busy:
            continue
    releasestate.fail_orphans(db)
    retire.resume(db)
    return count
