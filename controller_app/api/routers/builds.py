"""/v2/apps/{id}/builds/: register an image (and Procfile) → a new release, deployed."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from ...models import App, Build
from ...schemas.common import Paged
from ...schemas.releases import BuildIn, BuildOut
from ...services import imagerefs, releases
from ...services.names import PROC_TYPE
from ...settings import get_settings
from .. import render
from ..deps import DB, CurrentUser, UsableApp, can_use
from ..errors import FieldError
from ..pagination import PageDep, paginate
from ._release import release_and_deploy

router = APIRouter(tags=["builds"])


def check_procfile(procfile: dict[str, str]) -> None:
    for proc, command in procfile.items():
        if not PROC_TYPE.match(proc):
            raise HTTPException(422, f"{proc!r} is not a valid process type (lowercase letters, digits, '-').")
        if not command.strip() or len(command) > 4096:
            raise HTTPException(422, f"The command of process type {proc} is empty or too long.")
    if "web" in procfile and "cmd" in procfile:
        raise HTTPException(422, "A Procfile cannot define both web and cmd.")


def check_image(db, app: App, user, image: str, own_only: bool) -> None:
    """The image rule of builds. A reference is parsed as Docker does (400 when malformed). In the platform
    registry (SLIPWAY_REGISTRY), whose account the nodes pull with, a build may name only its app's repository
    or, with `own_only` false, that of another app the user may use; with `own_only` (a push) the image must be
    exactly `<registry>/<app>`. Images from other registries are the user's business."""
    try:
        ref = imagerefs.parse(image)
    except imagerefs.BadReference as exc:
        raise FieldError("image", str(exc)) from None
    registry = get_settings().registry
    if not registry:
        return
    if own_only:
        if not (imagerefs.in_platform_registry(ref, registry) and ref.path == app.id):
            raise HTTPException(403, f"A push registers only images of the platform registry's {registry}/{app.id}.")
        return
    if not imagerefs.on_platform_host(ref, registry) or ref.path == app.id:
        return
    other = db.scalar(select(App).where(App.id == ref.path))
    if other is None or not can_use(db, other, user):
        raise HTTPException(403, f"{image} is in the platform registry ({registry}) but not in the repository of "
                                 f"an app you may use; this app's repository is {registry}/{app.id}.")


def register_build(db, app, user, body: BuildIn, own_image_only: bool = False) -> Build:
    procfile = body.procfile or {}
    check_procfile(procfile)
    check_image(db, app, user, body.image, own_image_only)
    build = Build(app_uuid=app.uuid, owner_id=user.id, image=body.image, sha=body.sha, procfile=procfile,
                  dockerfile=body.dockerfile)
    db.add(build)
    db.flush()
    base = releases.latest(db, app)
    what = body.sha[:7] if body.sha else body.image
    release_and_deploy(db, app, user, build, base.config, f"{user.username} deployed {what}")
    return build


@router.get("/v2/apps/{id}/builds/", response_model=Paged[BuildOut])
def list_builds(db: DB, request: Request, app: UsableApp, page: PageDep):
    query = select(Build).where(Build.app_uuid == app.uuid).order_by(Build.created.desc())
    return paginate(db, request, page, query, lambda b: render.build(b, app.id))


@router.get("/v2/apps/{id}/builds/{build_uuid}/", response_model=BuildOut)
def get_build(db: DB, app: UsableApp, build_uuid: uuid.UUID):
    build = db.scalar(select(Build).where(Build.app_uuid == app.uuid, Build.uuid == build_uuid))
    if build is None:
        raise HTTPException(404, "No Build matches the given query.")
    return render.build(build, app.id)


@router.post("/v2/apps/{id}/builds/", status_code=201, response_model=BuildOut)
def create_build(body: BuildIn, db: DB, user: CurrentUser, app: UsableApp):
    return render.build(register_build(db, app, user, body), app.id)
