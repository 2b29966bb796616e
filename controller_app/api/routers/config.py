"""/v2/apps/{id}/config/: read, and deltas that create releases."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic_core import to_json

from ...schemas.releases import ConfigIn, ConfigOut
from ...services import fastreads, releases
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
    return render.config(releases.change_config(db, app, user, body.model_dump(exclude_unset=True)), app.id)
