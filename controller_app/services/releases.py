"""Release rules (as Deis): v1 at creation, +1 per build/config/rollback, failed ones keep their number; and
a new release deployed (builds, config changes and rollbacks), the caller waiting for it or not. Config changes
and rollbacks are made here, for the API and the dashboard alike."""
from __future__ import annotations

import functools

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..db import session_factory
from ..models import App, Build, Config, Release, User
from ..models.release import DEPLOYING, SERVING
from ..scheduler.base import SchedulerError
from . import background, deploy, limits, releasestate
from .config import merge
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
                      config=config, summary=summary, state=DEPLOYING if build is not None else SERVING)
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


def _create_claimed(db: Session, app: App, user: User, build: Build | None, config: Config,
                    summary: str) -> tuple[Release, releasestate.Claim]:
    """A new release, committed with its claim held (the caller deploys it, then drops the claim)."""
    if build is not None:
        problem = limits.problem(db, deploy.structure_for(app, build.procfile))
        if problem:
            raise Invalid(problem)
    release = create(db, app, user, build, config, summary)
    claim = releasestate.Claim(release)
    try:
        db.commit()
    except BaseException:
        claim.drop()
        raise
    return release, claim


def create_and_deploy(db: Session, app: App, user: User, build: Build | None, config: Config,
                      summary: str) -> Release:
    """A new release of `build` and `config`, deployed; blocks until it serves (Invalid when it failed, Conflict
    when other deploys of the app kept it waiting too long, which fails the release)."""
    release, claim = _create_claimed(db, app, user, build, config, summary)
    try:
        deploy.deploy(db, app, release)
    except deploy.Busy as exc:
        raise Conflict(str(exc)) from None
    except (deploy.DeployError, SchedulerError) as exc:
        raise Invalid(f"Release failed: {exc}") from None
    finally:
        claim.drop()
    return release


def create_and_start(db: Session, app: App, user: User, build: Build, config: Config, summary: str) -> Release:
    """A new release of `build` and `config`, `deploying`: its deploy goes on in the background (background.py)
    and settles its state, which the caller follows (GET /v2/hooks/releases/{version}/)."""
    release, claim = _create_claimed(db, app, user, build, config, summary)
    background.submit(functools.partial(_deploy_apart, app.uuid, release.uuid, claim),
                      f"deploy of {app.id} v{release.version}")
    return release


def _deploy_apart(app_uuid, release_uuid, claim: releasestate.Claim) -> None:
    try:
        with session_factory()() as db:
            app, release = db.get(App, app_uuid), db.get(Release, release_uuid)
            if app is not None and release is not None:  # else the app was destroyed meanwhile
                deploy.deploy(db, app, release)
    except (deploy.DeployError, SchedulerError):
        pass  # the release is failed with the reason, and the deploy logged it
    finally:
        claim.drop()


def change_config(db: Session, app: App, user: User, delta: dict) -> Config:
    """A config delta (ConfigIn's fields) onto the last good release's config, released and deployed; the new
    config. Conflict when it changes nothing."""
    base = latest(db, app)
    routable = deploy.routable_type(deploy.structure_for(app, base.build.procfile if base.build else None))
    fields, changes = merge(base.config, delta, routable or "cmd")
    if not changes:
        raise Conflict("Nothing changed: the config already has these values.")
    config = Config(app_uuid=app.uuid, owner_id=user.id, **fields)
    db.add(config)
    db.flush()
    create_and_deploy(db, app, user, base.build, config, f"{user.username} {' and '.join(changes)}")
    return config


def rollback(db: Session, app: App, user: User, version: int | None) -> Release:
    """A new release of an earlier one's build and config (the previous good one when `version` is None),
    deployed. Invalid when the release rules refuse the target."""
    try:
        target = rollback_target(db, app, version)
    except ReleaseError as exc:
        raise Invalid(str(exc)) from None
    return create_and_deploy(db, app, user, target.build, target.config,
                             f"{user.username} rolled back to v{target.version}")
