"""An app's processes: listing them, scaling and restarting (each a blue/green redeploy of the serving release),
and restarting one task in place."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import App
from ..scheduler.base import SchedulerError, Task
from . import deploy, limits
from .errors import Conflict, FieldError, Invalid, NotFound, Unavailable
from .scheduling import get_scheduler


def running(app: App, proc_type: str | None = None) -> list[Task]:
    """The serving deployment's tasks that are meant to run (of one type, or all)."""
    if app.current_deployment is None:
        return []
    try:
        tasks = get_scheduler().tasks(app.id, app.current_deployment)
    except SchedulerError as exc:
        raise Unavailable(f"Could not list processes: {exc}") from None
    return [t for t in tasks if t.desired_state == "running" and (proc_type is None or t.proc_type == proc_type)]


def redeploy(db: Session, app: App, structure: dict[str, int], cause: str) -> None:
    release = deploy.current_release(db, app)
    if release is None or release.build is None:
        raise Invalid("No build associated with this release; push the app first.")
    try:
        deploy.deploy(db, app, release, structure, new_release=False, retire_later=True, cause=cause)
    except deploy.Busy as exc:
        raise Conflict(str(exc)) from None
    except (deploy.DeployError, SchedulerError) as exc:
        raise Invalid(f"Could not scale: {exc}") from None


def known_type(app: App, proc: str) -> None:
    """Invalid unless `proc` is one of the app's process types."""
    current = app.structure or {}
    if proc not in current:
        raise Invalid(f"Container type {proc} does not exist in application "
                      f"(types: {', '.join(sorted(current)) or 'none until the first build'}).")


def scale(db: Session, app: App, counts: dict[str, int], by: str) -> None:
    current = dict(app.structure or {})
    for proc, count in counts.items():
        known_type(app, proc)
        if not 0 <= count <= 10000:
            raise FieldError(proc, f"{proc}={count}: the count must be between 0 and 10000.")
        spec = (app.autoscale or {}).get(proc)
        if spec and count != current[proc]:
            raise Invalid(f"{proc} is autoscaled ({spec['min']} to {spec['max']} processes at "
                          f"{spec['cpu_percent']}% CPU): unset its autoscale (autoscale:unset {proc}) to scale "
                          f"it by hand.")
    structure = {**current, **counts}
    problem = limits.problem(db, structure)
    if problem:
        raise Invalid(problem)
    if structure != current:
        moved = " ".join(f"{p}={n}" for p, n in sorted(counts.items()) if current[p] != n)
        redeploy(db, app, structure, f"scaled by {by}: {moved}")


def restart(db: Session, app: App, by: str, proc_type: str | None = None) -> list[Task]:
    """Every process (or every process of one type) replaced by a redeploy; the new ones."""
    if proc_type is not None and proc_type not in (app.structure or {}):
        raise NotFound(f"No process type {proc_type}.")
    redeploy(db, app, dict(app.structure or {}), f"restarted by {by}")
    return running(app, proc_type)


def restart_one(app: App, proc_type: str, name: str) -> list[Task]:
    """One task stopped and replaced by Swarm in its slot; the type's tasks after that."""
    if name not in {t.name for t in running(app, proc_type)}:
        raise NotFound(f"No process named {name}.")
    try:
        get_scheduler().restart(app.id, app.current_deployment, proc_type, name)
    except SchedulerError as exc:
        raise Unavailable(f"Could not restart {name}: {exc}") from None
    return running(app, proc_type)
