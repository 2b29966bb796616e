"""/v2/apps/{id}/releases/: list, get, rollback."""
from __future__ import annotations

from fastapi import APIRouter, Body, Request

from ...models import Release
from ...schemas.common import Paged
from ...schemas.releases import ReleaseOut, RollbackIn, VersionOut
from ...services import releases
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
    return {"version": releases.rollback(db, app, user, body.version).version}
