"""/v2/apps/{id}/config/: read, and deltas that create releases."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic_core import to_json

from ...models import Config
from ...schemas.releases import ConfigIn, ConfigOut
from ...services import deploy, fastreads, releases
from ...services.config import merge
from .. import render
from ..deps import DB, CurrentUser, TokenDigest, UsableApp, require_active, require_app

router = APIRouter(tags=["config"])


@router.get("/v2/apps/{id}/config/", response_model=ConfigOut)
async def get_config(digest: TokenDigest, id: Annotated[str, Path()]):
    # The hottest read: caller, access and config in one statement, on the event loop; the body
    # serialised straight from the row (the same JSON the response model gives).
    access, body = await fastreads.app_config(digest, id)
    require_active(access.user_found, access.user_active)
    require_app(access.app_found and body is not None, access.allowed)
    return Response(to_json(body), media_type="application/json")


@router.post("/v2/apps/{id}/config/", status_code=201, response_model=ConfigOut)
def set_config(body: ConfigIn, db: DB, user: CurrentUser, app: UsableApp):
    base = releases.latest(db, app)
    routable = deploy.routable_type(deploy.structure_for(app, base.build.procfile if base.build else None))
    fields, changes = merge(base.config, body.model_dump(exclude_unset=True), routable or "cmd")
    if not changes:
        raise HTTPException(409, "Nothing changed: the config already has these values.")
    config = Config(app_uuid=app.uuid, owner_id=user.id, **fields)
    db.add(config)
    db.flush()
    releases.create_and_deploy(db, app, user, base.build, config, f"{user.username} {' and '.join(changes)}")
    return render.config(config, app.id)
