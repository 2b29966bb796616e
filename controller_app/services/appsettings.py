"""An app's settings (no release): what the router does with the app (maintenance, routable, HTTPS enforced,
whitelist) and its labels. The one place that changes them, for `/settings/` and Deis's `/whitelist/` and
`/tls/` views; a change of the router's part moves the routing generation."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import App
from . import config, routing
from .errors import FieldError

ROUTED = ("maintenance", "routable", "enforce_https", "whitelist")
MAX_LABELS = 64


def _labels(current: dict, delta: dict) -> dict:
    """`delta` onto `current` as a config delta applies (null unsets; 422 when it is not set)."""
    out, _ = config.apply(current, delta, "label")
    if len(out) > MAX_LABELS:
        raise FieldError("label", f"An app can have at most {MAX_LABELS} labels")
    return out


def change(db: Session, app: App, given: dict) -> bool:
    """Apply `given` (settings by name; `label` a delta; None leaves a setting as it is) and commit; True when
    anything changed."""
    new = {k: v for k, v in given.items() if v is not None and k != "label"}
    if given.get("label"):
        new["label"] = _labels(app.label or {}, given["label"])
    moved = {k: v for k, v in new.items() if getattr(app, k) != v}
    for key, value in moved.items():
        setattr(app, key, value)
    if any(k in ROUTED for k in moved):
        routing.bump(db)
    if moved:
        db.commit()
    return bool(moved)
