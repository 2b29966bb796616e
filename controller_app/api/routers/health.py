"""/healthz (the process answers) and /readiness (the database answers)."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..deps import DB, CurrentUser

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz():
    return {"status": "ok"}


@router.get("/readiness")
def readiness(db: DB):
    try:
        db.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise HTTPException(503, "database unreachable") from None
    return {"status": "ok"}


@router.get("/v2/")
def root(_user: CurrentUser):
    return {"detail": "Slipway controller API v2"}
