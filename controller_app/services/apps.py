"""Apps: creation, transfer and destruction, their logs and one-off commands (the scheduler's part included)."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..models import App, Domain, User
from ..scheduler.base import LogPosition, LogStream, RunResult, RunSession, SchedulerError
from ..settings import get_settings
from . import deploy, registrypurge, releases, routing
from .errors import Conflict, Invalid, NotFound, Unavailable
from .names import app_id_problem, random_app_id
from .scheduling import get_scheduler

NO_BUILD = "No build associated with this release; push the app first."


def create(db: Session, user: User, app_id: str | None) -> App:
    """A new app of `user` (a random readable id when none is given) with its v1 and its platform domain."""
    if app_id is None:
        app_id = next(n for n in iter(random_app_id, None) if not db.scalar(select(exists().where(App.id == n))))
    problem = app_id_problem(app_id)
    if problem:
        raise Invalid(problem)
    domain = f"{app_id}.{get_settings().platform_domain}"
    if db.scalar(select(exists().where(App.id == app_id))) or db.scalar(
            select(exists().where(Domain.domain == domain))):
        raise Conflict(f"App with this id already exists: {app_id}")
    if not registrypurge.settle(db, app_id):
        raise Conflict(f"The images of a destroyed app named {app_id} are still being removed from the registry; "
                       "try again in a few minutes.")
    app = App(id=app_id, owner_id=user.id, structure={})
    db.add(app)
    db.flush()
    releases.initial(db, app, user)
    db.add(Domain(app_uuid=app.uuid, owner_id=user.id, domain=domain))
    routing.bump(db)
    db.commit()
    db.refresh(app)
    return app


def transfer(db: Session, app: App, username: str) -> App:
    owner = db.scalar(select(User).where(User.username == username))
    if owner is None:
        raise NotFound(f"No user named {username}.")
    app.owner_id = owner.id
    db.commit()
    db.refresh(app)
    return app


def destroy(db: Session, app: App) -> None:
    """Remove the app's processes, then the app; its images leave the registry now or before its name is
    taken again."""
    app_id = app.id
    try:
        with deploy.app_lock(app, get_settings().deploy_timeout):
            get_scheduler().remove(app.id)
            db.delete(app)
            registrypurge.retire(db, app_id)
            routing.bump(db)
            db.commit()
    except deploy.Busy as exc:
        raise Conflict(str(exc)) from None
    except SchedulerError as exc:
        raise Unavailable(f"Could not remove the app's processes: {exc}") from None
    registrypurge.settle(db, app_id)


def logs(app: App, lines: int, proc_type: str | None) -> str:
    return "".join(line + "\n" for _key, line in log_entries(app, lines, proc_type))


def log_entries(app: App, lines: int, proc_type: str | None) -> list[tuple[str, str]]:
    """The last `lines` lines, each with its time key (the positions a log stream resumes after)."""
    try:
        return get_scheduler().log_entries(app.id, lines, proc_type)
    except SchedulerError as exc:
        raise Unavailable(f"Could not read logs: {exc}") from None


def follow_logs(app: App, proc_type: str | None, lines: int, after: LogPosition | None = None) -> LogStream:
    """The last `lines` lines (or the lines after `after`, a position a stream gave), then every new line of
    every task (new releases' included) until closed."""
    try:
        return get_scheduler().open_log_stream(app.id, proc_type, lines, after=after)
    except SchedulerError as exc:
        raise Unavailable(f"Could not read logs: {exc}") from None


def one_off(db: Session, app: App) -> tuple[str, dict[str, str], str | None, dict | None]:
    """What a one-off command of the app runs with: the current release's image, environment, memory and
    private registry's credentials."""
    release = releases.latest(db, app)
    if release is None or release.build is None:
        raise Invalid(NO_BUILD)
    return (release.build.image, deploy.environment(app, release), (release.config.memory or {}).get("run"),
            deploy.pull_credentials(release))


def run(db: Session, app: App, command: str) -> RunResult:
    """Run `command` in a one-off container of the current release, to its end."""
    image, env, memory, registry = one_off(db, app)
    try:
        return get_scheduler().run(app.id, image, command, env, memory=memory, registry=registry)
    except SchedulerError as exc:
        raise Unavailable(f"Could not run the command: {exc}") from None


def attach(app_id: str, image: str, command: str, env: dict[str, str], memory: str | None, cols: int | None,
           rows: int | None, max_seconds: float, registry: dict | None = None) -> RunSession:
    """An interactive one-off container (a terminal), removed by the caller's `close()`."""
    try:
        return get_scheduler().attach_run(app_id, image, command, env, memory, cols, rows, max_seconds,
                                          registry=registry)
    except SchedulerError as exc:
        raise Unavailable(f"Could not run the command: {exc}") from None
