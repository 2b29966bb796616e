"""Shared by config, builds and releases: create a release and deploy it, errors as HTTP answers."""
from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.orm import Session

from ...models import App, Build, Config, Release, User
from ...scheduler.base import SchedulerError
from ...services import deploy as deploys
from ...services import limits, releases


def release_and_deploy(db: Session, app: App, user: User, build: Build | None, config: Config,
                       summary: str) -> Release:
    if build is not None:
        problem = limits.problem(db, deploys.structure_for(app, build.procfile))
        if problem:
            raise HTTPException(400, problem)
    release = releases.create(db, app, user, build, config, summary)
    db.commit()
    try:
        deploys.deploy(db, app, release)
    except deploys.Busy as exc:
        release.failed, release.exception = True, str(exc)
        db.commit()
        raise HTTPException(409, str(exc)) from None
    except (deploys.DeployError, SchedulerError) as exc:
        raise HTTPException(400, f"Release failed: {exc}") from None
    return release

