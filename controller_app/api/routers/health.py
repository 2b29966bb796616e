"""/healthz (the process answers) and /readiness (the database answers)."""
from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from ..deps import DB, CurrentUser

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz():
    return {"status": "ok"}


@router.get("/readiness")
def readiness(db: DB):
    db.execute(text("SELECT 1"))  # a database that does not answer: 503 (api/readretry.py)
    return {"status": "ok"}


@router.get("/v2/")
def root(_user: CurrentUser):
    return {"detail": "Slipway controller API v2"}
