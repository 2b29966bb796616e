"""Platform-wide limits that keep any input from exhausting a host (settable by admins)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import PlatformSetting

DEFAULTS = {"max_replicas_per_type": 10, "max_replicas_per_app": 20}


def get(db: Session) -> dict:
    row = db.get(PlatformSetting, "limits")
    return {**DEFAULTS, **(row.value if row else {})}


def put(db: Session, values: dict) -> dict:
    merged = {**get(db), **{k: v for k, v in values.items() if v is not None}}
    row = db.get(PlatformSetting, "limits")
    if row is None:
        db.add(PlatformSetting(name="limits", value=merged))
    else:
        row.value = merged
    db.commit()
    return merged


def problem(db: Session, structure: dict[str, int]) -> str | None:
    lim = get(db)
    for proc, count in structure.items():
        if count > lim["max_replicas_per_type"]:
            return f"{proc}={count} is over the platform limit of {lim['max_replicas_per_type']} per process type"
    total = sum(structure.values())
    if total > lim["max_replicas_per_app"]:
        return f"{total} processes are over the platform limit of {lim['max_replicas_per_app']} per app"
    return None
