"""An app's collaborators: adding and removing them through services/perms.py, the service behind
`/v2/apps/{id}/perms/`, under the API's rule for it (whoever may use the app: pages.usable_app, as the API's
UsableApp). The list is on the app page (appviews.py)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from ..api.deps import DB
from ..schemas.apps import PermIn
from ..services import perms
from .appactions import on_app
from .pages import Form, checked

router = APIRouter()


@router.post("/apps/{app_id}/perms")
def grant(request: Request, db: DB, posted: Form, app_id: str):
    def change(app) -> str:
        username = checked(PermIn, username=posted.fields.get("username", "").strip()).username
        perms.grant(db, app, username)
        return f"{username} may now use {app.id}."
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/perms/remove")
def revoke(request: Request, db: DB, posted: Form, app_id: str):
    username = posted.fields.get("username", "")

    def change(app) -> str:
        perms.revoke(db, app, username)
        return f"{username} no longer collaborates on {app.id}."
    return on_app(request, db, posted, app_id, change)
