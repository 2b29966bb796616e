"""/v2/hooks/: what the builder asks (authenticated by the builder key, never by user tokens)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import Field
from sqlalchemy import or_, select

from ...models import App, Collaborator, Key, User
from ...schemas.apps import APP_ID
from ...schemas.common import In
from ...schemas.releases import BuildIn
from ...schemas.users import USERNAME
from ...services import releases
from ...settings import get_settings
from ..deps import DB, builder_auth, can_use
from .builds import register_build

router = APIRouter(tags=["hooks"], dependencies=[Depends(builder_auth)])


class PushIn(In):
    receive_user: str = Field(pattern=USERNAME)
    receive_repo: str = Field(max_length=63, pattern=APP_ID)


class BuildHookIn(PushIn):
    image: str = Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
    sha: str = Field("", max_length=64, pattern=r"^[0-9a-f]*$")
    procfile: dict[str, str] | None = None
    dockerfile: str = Field("", max_length=65536)


def _user_app(db, body: PushIn) -> tuple[User, App]:
    user = db.scalar(select(User).where(User.username == body.receive_user, User.is_active.is_(True)))
    if user is None:
        raise HTTPException(404, f"No user named {body.receive_user}.")
    app = db.scalar(select(App).where(App.id == body.receive_repo))
    if app is None:
        raise HTTPException(404, f"No app named {body.receive_repo}.")
    if not can_use(db, app, user):
        raise HTTPException(403, f"{user.username} may not push to {app.id}.")
    return user, app


@router.get("/v2/hooks/key/{fingerprint:path}")
def key_owner(db: DB, fingerprint: str):
    key = db.scalar(select(Key).where(or_(Key.fingerprint == fingerprint.lower(),
                                          Key.fingerprint_sha256 == fingerprint)))
    if key is None:
        raise HTTPException(404, "No Key matches the given query.")
    user = key.owner
    shared = select(Collaborator.app_uuid).where(Collaborator.user_id == user.id)
    apps = db.scalars(select(App.id).where(or_(App.owner_id == user.id, App.uuid.in_(shared)))
                      .order_by(App.id)).all()
    return {"username": user.username, "apps": list(apps)}


@router.post("/v2/hooks/push/")
def may_push(body: PushIn, db: DB):
    user, app = _user_app(db, body)
    return {"username": user.username, "app": app.id}


@router.post("/v2/hooks/config/")
def build_config(body: PushIn, db: DB):
    _, app = _user_app(db, body)
    config = releases.latest(db, app).config
    return {"values": config.values or {}, "tags": config.tags or {}}


@router.post("/v2/hooks/build/", status_code=201)
def build_hook(body: BuildHookIn, db: DB):
    user, app = _user_app(db, body)
    build = register_build(db, app, user, BuildIn(image=body.image, sha=body.sha, procfile=body.procfile,
                                                  dockerfile=body.dockerfile))
    release = releases.latest(db, app)
    return {"release": {"version": release.version}, "build": str(build.uuid),
            "url": f"{app.id}.{get_settings().platform_domain}"}
