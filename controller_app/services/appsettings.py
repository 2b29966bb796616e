"""An app's settings (no release): what the router does with the app (maintenance, routable, HTTPS enforced,
whitelist), its labels and its autoscale. The one place that changes them, for `/settings/` and Deis's
`/whitelist/` and `/tls/` views; a change of the router's part moves the routing generation."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import App
from . import config, limits, pods, routing
from .errors import FieldError, Invalid

ROUTED = ("maintenance", "routable", "enforce_https", "whitelist")
MAX_LABELS = 64


def _labels(current: dict, delta: dict) -> dict:
    """`delta` onto `current` as a config delta applies (null unsets; 422 when it is not set)."""
    out, _unused = config.apply(current, delta, "label")
    if len(out) > MAX_LABELS:
        raise FieldError("label", f"An app can have at most {MAX_LABELS} labels")
    return out


def _autoscale(db: Session, app: App, delta: dict) -> dict:
    """`delta` (type to {"min", "max", "cpu_percent"}, or null) onto the app's autoscale: each type one the app
    runs, its max within the platform's limit per type."""
    per_type = limits.get(db)["max_replicas_per_type"]
    for proc, spec in delta.items():
        if spec is None:
            continue
        try:
            pods.known_type(app, proc)
        except Invalid as exc:
            raise FieldError("autoscale", f"autoscale of {proc}: {exc}") from None
        if spec["max"] > per_type:
            raise FieldError("autoscale", f"autoscale of {proc}: max {spec['max']} is over the platform limit of "
                                          f"{per_type} per process type")
    out, _unused = config.apply(app.autoscale or {}, delta, "autoscale")
    return out


def change(db: Session, app: App, given: dict) -> bool:
    """Apply `given` (settings by name; `label` and `autoscale` deltas; None leaves a setting as it is) and
    commit; True when anything changed."""
    new = {k: v for k, v in given.items() if v is not None and k not in ("label", "autoscale")}
    if given.get("label"):
        new["label"] = _labels(app.label or {}, given["label"])
    if given.get("autoscale"):
        new["autoscale"] = _autoscale(db, app, given["autoscale"])
    moved = {k: v for k, v in new.items() if getattr(app, k) != v}
    for key, value in moved.items():
        setattr(app, key, value)
    if any(k in ROUTED for k in moved):
        routing.bump(db)
    if moved:
        db.commit()
    return bool(moved)
