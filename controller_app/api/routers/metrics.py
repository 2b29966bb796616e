"""GET /metrics: the controller's Prometheus metrics (services/metrics.py), for scrapers holding the metrics key
(setting SLIPWAY_METRICS_KEY) as `Authorization: Bearer <key>`; 401 otherwise, and always when no key is set."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ...services import metrics
from ...services.passwords import same_secret
from ...settings import get_settings
from ..deps import DB

router = APIRouter(tags=["metrics"])


def _metrics_auth(authorization: Annotated[str | None, Header()] = None) -> None:
    scheme, _unused, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not same_secret(key.strip(), get_settings().metrics_key):
        raise HTTPException(401, "Invalid metrics key.", headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", include_in_schema=False)
def scrape(_auth: Annotated[None, Depends(_metrics_auth)], db: DB):
    return Response(metrics.render(db), media_type=CONTENT_TYPE_LATEST)
