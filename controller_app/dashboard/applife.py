"""Creating an app (services/apps.create, as `POST /v2/apps/`) and destroying one (services/apps.destroy, as
`DELETE /v2/apps/{id}/`: its owner or an administrator only, after typing its name)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from ..api.deps import DB, require_app
from ..services import access, apps
from ..services.errors import Invalid, ServiceError
from . import sessions
from .pages import ROOT, Form, act, redirect

router = APIRouter()


@router.post("/apps")
def create(request: Request, db: DB, posted: Form):
    name = posted.fields.get("id", "").strip()
    try:
        app = apps.create(db, posted.who.user, name or None)
    except ServiceError as exc:
        response = redirect(f"{ROOT}/")
        sessions.flash(request, response, "error", exc.detail)
        return response
    response = redirect(f"{ROOT}/apps/{app.id}")
    sessions.flash(request, response, "ok", f"Created {app.id}: push to it to deploy.")
    return response


@router.post("/apps/{app_id}/destroy")
def destroy(request: Request, db: DB, posted: Form, app_id: str):
    app, allowed = access.find_app(db, posted.who.user, app_id, owner_only=True)
    require_app(app is not None, allowed)
    confirm = posted.fields.get("confirm", "").strip()

    def change() -> str:
        if confirm != app.id:
            raise Invalid(f"Type the app's name, {app.id}, to destroy it.")
        apps.destroy(db, app)
        return f"Destroyed {app_id}."
    return act(request, f"{ROOT}/apps/{app_id}", change, done_at=f"{ROOT}/")
