"""/v2/apps/{id}/builds/: register an image (and Procfile) → a new release, deployed."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from sqlalchemy import select

from ...models import Build
from ...schemas.common import Paged
from ...schemas.releases import BuildIn, BuildOut
from ...services import builds
from .. import render
from ..deps import DB, CurrentUser, UsableApp, found
from ..pagination import PageDep, app_rows

router = APIRouter(tags=["builds"])


@router.get("/v2/apps/{id}/builds/", response_model=Paged[BuildOut])
def list_builds(db: DB, request: Request, app: UsableApp, page: PageDep):
    return app_rows(db, request, page, app, Build, Build.created.desc(), render.build)


@router.get("/v2/apps/{id}/builds/{build_uuid}/", response_model=BuildOut)
def get_build(db: DB, app: UsableApp, build_uuid: uuid.UUID):
    build = found(db.scalar(select(Build).where(Build.app_uuid == app.uuid, Build.uuid == build_uuid)), "Build")
    return render.build(build, app.id)


@router.post("/v2/apps/{id}/builds/", status_code=201, response_model=BuildOut)
def create_build(body: BuildIn, db: DB, user: CurrentUser, app: UsableApp):
    build, _unused = builds.register(db, app, user, body.image, body.sha, body.procfile, body.dockerfile)
    return render.build(build, app.id)
