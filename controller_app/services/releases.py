"""Release rules (as Deis): v1 at creation, +1 per build/config/rollback, failed ones keep their number; and
a new release deployed (builds, config changes and rollbacks)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..models import App, Build, Config, Release, User
from ..scheduler.base import SchedulerError
from . import deploy, limits
from .errors import Conflict, Invalid


class ReleaseError(ValueError):
    """A request that breaks the release rules (becomes 400/409 with this message)."""


def latest(db: Session, app: App, good_only: bool = True) -> Release | None:
    query = (select(Release).where(Release.app_uuid == app.uuid)
             .options(joinedload(Release.config).joinedload(Config.owner), joinedload(Release.build)))
    if good_only:
        query = query.where(Release.failed.is_(False))
    return db.scalar(query.order_by(Release.version.desc()).limit(1))


def by_version(db: Session, app: App, version: int) -> Release | None:
    return db.scalar(select(Release).where(Release.app_uuid == app.uuid, Release.version == version))


SUMMARY_MAX = Release.summary.type.length


def _next_version(db: Session, app: App) -> int:
    return (db.scalar(select(func.max(Release.version)).where(Release.app_uuid == app.uuid)) or 0) + 1


def create(db: Session, app: App, user: User, build: Build | None, config: Config, summary: str) -> Release:
    # The app row lock serialises version numbers between concurrent requests.
    db.execute(select(App.uuid).where(App.uuid == app.uuid).with_for_update())
    if len(summary) > SUMMARY_MAX:  # "alice deployed <image>": an image may be as long as the column itself
        summary = summary[:SUMMARY_MAX - 1] + "…"
    release = Release(app_uuid=app.uuid, owner_id=user.id, version=_next_version(db, app), build=build,
                      config=config, summary=summary)
    db.add(release)
    db.flush()
    return release


def initial(db: Session, app: App, user: User) -> Release:
    config = Config(app_uuid=app.uuid, owner_id=user.id)
    db.add(config)
    db.flush()
    return create(db, app, user, None, config, f"{user.username} created initial release")


def rollback_target(db: Session, app: App, version: int | None) -> Release:
    current = latest(db, app)
    if current is None or current.version <= 1 and version is None:
        raise ReleaseError("There is no previous release to roll back to.")
    if version is None:
        target = db.scalar(select(Release).where(Release.app_uuid == app.uuid, Release.failed.is_(False),
                                                 Release.version < current.version)
                           .order_by(Release.version.desc()).limit(1))
    else:
        target = by_version(db, app, version)
    if target is None:
        raise ReleaseError(f"Release v{version} does not exist." if version else "No previous release.")
    if target.failed:
        raise ReleaseError(f"Release v{target.version} failed; it cannot be rolled back to.")
    if target.build is None and current.build is not None:
        raise ReleaseError(f"v{target.version} has no build; roll back to a release that has one.")
    if target.version == current.version:
        raise ReleaseError(f"v{target.version} is the current release.")
    return target


def create_and_deploy(db: Session, app: App, user: User, build: Build | None, config: Config,
                      summary: str) -> Release:
    """A new release of `build` and `config`, deployed; blocks until it serves (Invalid when it failed, Conflict
    when another deploy of the app holds it, which fails the release)."""
    if build is not None:
        problem = limits.problem(db, deploy.structure_for(app, build.procfile))
        if problem:
            raise Invalid(problem)
    release = create(db, app, user, build, config, summary)
    db.commit()
    try:
        deploy.deploy(db, app, release)
    except deploy.Busy as exc:
        release.failed, release.exception = True, str(exc)
        db.commit()
        raise Conflict(str(exc)) from None
    except (deploy.DeployError, SchedulerError) as exc:
        raise Invalid(f"Release failed: {exc}") from None
    return release
