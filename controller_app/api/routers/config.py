"""/v2/apps/{id}/config/: read, and deltas that create releases."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException

from ...models import Config
from ...schemas.releases import ConfigIn, ConfigOut
from ...services import releases
from ...services.config import ConfigError, merge
from .. import render
from ..deps import DB, CurrentUser, UsableApp
from ._release import release_and_deploy

router = APIRouter(tags=["config"])


@router.get("/v2/apps/{id}/config/", response_model=ConfigOut)
def get_config(db: DB, app: UsableApp):
    return render.config(releases.latest(db, app).config, app.id)


@router.post("/v2/apps/{id}/config/", status_code=201, response_model=ConfigOut)
def set_config(body: ConfigIn, db: DB, user: CurrentUser, app: UsableApp):
    base = releases.latest(db, app)
    try:
        fields, changes = merge(base.config, body.model_dump(exclude_unset=True))
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    if not changes:
        raise HTTPException(409, "Nothing changed: the config already has these values.")
    config = Config(app_uuid=app.uuid, owner_id=user.id, **fields)
    db.add(config)
    db.flush()
    release_and_deploy(db, app, user, base.build, config, f"{user.username} {' and '.join(changes)}")
    return render.config(config, app.id)
