"""/v2/apps/{id}/releases/: list, get, rollback."""
from __future__ import annotations

from fastapi import APIRouter, Body, HTTPException, Request

from ...models import Release
from ...schemas.common import Paged
from ...schemas.releases import ReleaseOut, RollbackIn, VersionOut
from ...services import releases
from ...services.releases import ReleaseError
from .. import render
from ..deps import DB, CurrentUser, UsableApp, found
from ..pagination import PageDep, app_rows

router = APIRouter(tags=["releases"])


@router.get("/v2/apps/{id}/releases/", response_model=Paged[ReleaseOut])
def list_releases(db: DB, request: Request, app: UsableApp, page: PageDep):
    return app_rows(db, request, page, app, Release, Release.version.desc(), render.release)


@router.get("/v2/apps/{id}/releases/v{version}/", response_model=ReleaseOut)
def get_release(db: DB, app: UsableApp, version: int):
    release = found(releases.by_version(db, app, version), "Release")
    return render.release(release, app.id)


@router.post("/v2/apps/{id}/releases/rollback/", status_code=201, response_model=VersionOut)
def rollback(db: DB, user: CurrentUser, app: UsableApp, body: RollbackIn = Body(default_factory=RollbackIn)):
    try:
        target = releases.rollback_target(db, app, body.version)
    except ReleaseError as exc:
        raise HTTPException(400, str(exc)) from None
    release = releases.create_and_deploy(db, app, user, target.build, target.config,
                                         f"{user.username} rolled back to v{target.version}")
    return {"version": release.version}
