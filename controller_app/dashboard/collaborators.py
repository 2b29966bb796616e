"""An app's collaborators: adding and removing them through services/perms.py, the service behind
`/v2/apps/{id}/perms/`, under its rule of who may (perms.managed_app, which the API's routes follow too). The list
is on the app page (appviews.py)."""
from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Request

from ..api.deps import DB, require_app
from ..models import App
from ..schemas.apps import PermIn
from ..services import perms
from .pages import ROOT, Form, Posted, act, checked

router = APIRouter()


def _on_managed_app(request: Request, db, posted: Posted, app_id: str, change: Callable[[App], str], **action):
    app, allowed = perms.managed_app(db, posted.who.user, app_id, **action)
    require_app(app is not None, allowed)
    return act(request, f"{ROOT}/apps/{app.id}", lambda: change(app))


@router.post("/apps/{app_id}/perms")
def grant(request: Request, db: DB, posted: Form, app_id: str):
    def change(app: App) -> str:
        username = checked(PermIn, username=posted.fields.get("username", "").strip()).username
        perms.grant(db, app, username)
        return f"{username} may now use {app.id}."
    return _on_managed_app(request, db, posted, app_id, change, grant=True)


@router.post("/apps/{app_id}/perms/remove")
def revoke(request: Request, db: DB, posted: Form, app_id: str):
    username = posted.fields.get("username", "")

    def change(app: App) -> str:
        perms.revoke(db, app, username)
        return f"{username} no longer collaborates on {app.id}."
    return _on_managed_app(request, db, posted, app_id, change, revoke=username)
