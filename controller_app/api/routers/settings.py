"""/v2/apps/{id}/settings/ (no release) and /v2/admin/limits/ (platform-wide)."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from ...schemas.apps import SettingsIn, SettingsOut
from ...schemas.common import In
from ...services import appsettings, limits
from .. import render
from ..deps import DB, AdminUser, CurrentUser, UsableApp

router = APIRouter(tags=["settings"])


class LimitsIn(In):
    max_replicas_per_type: int | None = Field(None, ge=0, le=1000)
    max_replicas_per_app: int | None = Field(None, ge=0, le=10000)


class LimitsOut(In):
    max_replicas_per_type: int
    max_replicas_per_app: int


@router.get("/v2/apps/{id}/settings/", response_model=SettingsOut)
def get_settings(app: UsableApp):
    return render.settings(app)


@router.post("/v2/apps/{id}/settings/", response_model=SettingsOut)
def set_settings(body: SettingsIn, db: DB, app: UsableApp):
    appsettings.change(db, app, body.model_dump(exclude_unset=True))
    return render.settings(app)


@router.get("/v2/admin/limits/", response_model=LimitsOut)
def get_limits(db: DB, _user: CurrentUser):
    return limits.get(db)


@router.post("/v2/admin/limits/", response_model=LimitsOut)
def set_limits(body: LimitsIn, db: DB, _admin: AdminUser):
    return limits.put(db, body.model_dump())
