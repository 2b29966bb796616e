"""The app page's forms: each is one call of the service the API's router calls (config changes and rollbacks:
services/releases.py; scale: services/pods.py; domains: services/domains.py), then back to the app's page
with the outcome."""
from __future__ import annotations

from typing import Callable

from fastapi import APIRouter, Request

from ..api.deps import DB
from ..models import App
from ..services import domains, pods, releases
from ..services.errors import Invalid
from .pages import ROOT, Form, act, usable_app

router = APIRouter()


def on_app(request: Request, db, posted, app_id: str, change: Callable[[App], str]):
    """Run `change` on an app the signed-in user may use; back to its page with the outcome."""
    app = usable_app(db, posted.who.user, app_id)
    return act(request, f"{ROOT}/apps/{app.id}", lambda: change(app))


@router.post("/apps/{app_id}/config")
def set_config(request: Request, db: DB, posted: Form, app_id: str):
    key, value = posted.fields.get("key", "").strip(), posted.fields.get("value", "")

    def change(app: App) -> str:
        if not key:
            raise Invalid("Give the config value a name.")
        releases.change_config(db, app, posted.who.user, {"values": {key: value}})
        return f"Set {key}: the new release serves."
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/config/unset")
def unset_config(request: Request, db: DB, posted: Form, app_id: str):
    key = posted.fields.get("key", "")

    def change(app: App) -> str:
        releases.change_config(db, app, posted.who.user, {"values": {key: None}})
        return f"Unset {key}: the new release serves."
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/scale")
def scale(request: Request, db: DB, posted: Form, app_id: str):
    def change(app: App) -> str:
        counts = {}
        for proc in app.structure or {}:
            text = posted.fields.get(f"count-{proc}", "").strip()
            if text:
                if not text.isdigit():
                    raise Invalid(f"{proc}: the count must be a whole number.")
                counts[proc] = int(text)
        pods.scale(db, app, counts, posted.who.user.username)
        return "Scaled: " + ", ".join(f"{p}={n}" for p, n in sorted(counts.items())) + "."
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/rollback")
def rollback(request: Request, db: DB, posted: Form, app_id: str):
    text = posted.fields.get("version", "").strip().lstrip("v")

    def change(app: App) -> str:
        if text and not text.isdigit():
            raise Invalid("Give the version to roll back to, like v3.")
        release = releases.rollback(db, app, posted.who.user, int(text) if text else None)
        return f"Rolled back: v{release.version} serves ({release.summary})."
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/domains")
def add_domain(request: Request, db: DB, posted: Form, app_id: str):
    def change(app: App) -> str:
        return f"Added {domains.add(db, app, posted.who.user, posted.fields.get('domain', '')).domain}."
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/domains/remove")
def remove_domain(request: Request, db: DB, posted: Form, app_id: str):
    name = posted.fields.get("domain", "")

    def change(app: App) -> str:
        domains.remove(db, app, name)
        return f"Removed {name}."
    return on_app(request, db, posted, app_id, change)
