"""/v2/hooks/: what the builder asks, one credential per job (never user tokens).

The builder key (X-Deis-Builder-Auth) answers the key look-up and the push check; the builder cleanup's own key
(X-Slipway-Cleanup-Auth) asks which apps still exist. The push check hands out a push token bound to the user and
the app; that token (X-Slipway-Push-Token) alone reads the app's config and registers its build, of an image in the
app's own repository of the platform registry, and ends itself when the push is over (DELETE /v2/hooks/push/).

Registering a build answers at once with the release it made, `deploying`; the deploy goes on in the controller
(services/background.py), and the builder follows that release's state with a long poll on the event loop
(GET /v2/hooks/releases/{version}/?wait=) until it is `serving` or `failed` (with the reason).
"""
from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from pydantic import Field
from sqlalchemy import or_, select

from ...models import App, Key, User
from ...appid import APP_ID_PATTERN
from ...schemas.common import In
from ...schemas.users import USERNAME
from ...models.release import DEPLOYING
from ...services import access, builds, changes, fastreads, pushtokens, releases
from ...settings import get_settings
from ..deps import DB, PushHolder, builder_auth, cleanup_auth, found, push_token_auth, unauthorized
from . import registry

router = APIRouter(tags=["hooks"])
router.include_router(registry.router)  # the registry front's question, with the registry's own credentials
BUILDER = [Depends(builder_auth)]


class PushIn(In):
    receive_user: str = Field(pattern=USERNAME)
    receive_repo: str = Field(max_length=63, pattern=APP_ID_PATTERN)
    action: Literal["push", "fetch"] = "push"


class TokenIn(In):
    """What a push token's routes take: the user and app, when given, must be the token's."""
    receive_user: str | None = Field(None, pattern=USERNAME)
    receive_repo: str | None = Field(None, max_length=63, pattern=APP_ID_PATTERN)


class BuildHookIn(TokenIn):
    image: str = Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
    sha: str = Field("", max_length=64, pattern=r"^[0-9a-f]*$")
    procfile: dict[str, str] | None = None
    dockerfile: str = Field("", max_length=65536)


class AliveIn(In):
    uuids: list[uuid.UUID] = Field(max_length=100000)


def _user_app(db, body: PushIn) -> tuple[User, App]:
    user = db.scalar(select(User).where(User.username == body.receive_user, User.is_active.is_(True)))
    if user is None:
        raise HTTPException(404, f"No user named {body.receive_user}.")
    app, allowed = access.find_app(db, user, body.receive_repo)
    if app is None:
        raise HTTPException(404, f"No app named {body.receive_repo}.")
    if not allowed:
        raise HTTPException(403, f"{user.username} may not push to {app.id}.")
    return user, app


def _token_user_app(holder: tuple[User, App], body: TokenIn) -> tuple[User, App]:
    user, app = holder
    if body.receive_user is not None and body.receive_user != user.username:
        raise HTTPException(403, f"This push token is {user.username}'s, not {body.receive_user}'s.")
    if body.receive_repo is not None and body.receive_repo != app.id:
        raise HTTPException(403, f"This push token is for {app.id}, not {body.receive_repo}.")
    return user, app


@router.get("/v2/hooks/key/{fingerprint:path}", dependencies=BUILDER)
def key_owner(db: DB, fingerprint: str):
    key = found(db.scalar(select(Key).where(or_(Key.fingerprint == fingerprint.lower(),
                                                Key.fingerprint_sha256 == fingerprint))), "Key")
    return {"username": key.owner.username, "apps": access.usable_app_ids(db, key.owner)}


@router.post("/v2/hooks/push/", dependencies=BUILDER)
def may_push(body: PushIn, db: DB):
    """May the user push to (or fetch from) the app; a push also gets its push token."""
    user, app = _user_app(db, body)
    answer = {"username": user.username, "app": app.id, "uuid": str(app.uuid)}
    if body.action == "push":
        token, ttl = pushtokens.issue(db, app, user)
        db.commit()
        answer.update(push_token=token, expires_in=ttl)
    return answer


@router.delete("/v2/hooks/push/", status_code=204, dependencies=[Depends(push_token_auth)])
def push_over(db: DB, x_slipway_push_token: Annotated[str | None, Header()] = None):
    """The push is over: its token stops working now, not when it expires (the builder calls this)."""
    pushtokens.revoke(db, x_slipway_push_token or "")
    db.commit()


@router.post("/v2/hooks/apps/alive/", dependencies=[Depends(cleanup_auth)])
def apps_alive(body: AliveIn, db: DB):
    """Which of these app uuids are apps that exist (the builder removes the repositories of the others)."""
    wanted = set(body.uuids)
    alive = set(db.scalars(select(App.uuid).where(App.uuid.in_(wanted)))) if wanted else set()
    return {"alive": sorted(str(u) for u in alive)}


@router.post("/v2/hooks/config/")
def build_config(body: TokenIn, db: DB, holder: PushHolder):
    _unused, app = _token_user_app(holder, body)
    config = releases.latest(db, app).config
    return {"values": config.values or {}, "tags": config.tags or {}, "app": app.id, "uuid": str(app.uuid)}


@router.post("/v2/hooks/build/", status_code=201)
def build_hook(body: BuildHookIn, db: DB, holder: PushHolder):
    """Register the build: answers with the release it made, `deploying` (follow it at /v2/hooks/releases/)."""
    user, app = _token_user_app(holder, body)
    build, release = builds.register(db, app, user, body.image, body.sha, body.procfile, body.dockerfile,
                                     own_image_only=True, background=True)
    return {"release": {"version": release.version, "state": release.state}, "build": str(build.uuid),
            "url": f"{app.id}.{get_settings().platform_domain}"}


@router.get("/v2/hooks/releases/{version}/")
async def release_state(version: Annotated[int, Path(ge=1, le=2**31 - 1)],
                        wait: Annotated[float, Query(ge=0, le=60)] = 0,
                        x_slipway_push_token: Annotated[str | None, Header()] = None):
    """The state of the push token's app's release `version`: at once unless it is `deploying` and `wait` > 0,
    else when it changes or after `wait` seconds (then still `deploying`). Waits on the event loop."""
    valid, state = await changes.until(
        changes.RELEASES, lambda: fastreads.push_release(x_slipway_push_token, version),
        lambda read: not read[0] or read[1] is None or read[1]["state"] != DEPLOYING, wait)
    if not valid:
        raise unauthorized("Invalid or expired push token.")
    return found(state, "Release")
