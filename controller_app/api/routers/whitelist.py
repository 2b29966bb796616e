"""Deis's views over an app's settings: `/v2/apps/{id}/whitelist/` (the addresses the router lets in) and
`/v2/apps/{id}/tls/` (HTTPS enforced), the same settings `/settings/` holds."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from ...schemas.apps import TlsIn, TlsOut, WhitelistIO
from ...services import appsettings
from ...services.errors import Unprocessable
from .. import render
from ..deps import DB, UsableApp

router = APIRouter(tags=["settings"])


@router.get("/v2/apps/{id}/whitelist/", response_model=WhitelistIO)
def get_whitelist(app: UsableApp):
    return {"addresses": app.whitelist or []}


@router.post("/v2/apps/{id}/whitelist/", status_code=201, response_model=WhitelistIO)
def add_to_whitelist(body: WhitelistIO, db: DB, app: UsableApp):
    """Adds the addresses (IP addresses or CIDR networks) to the app's whitelist; the whole list after."""
    appsettings.change(db, app, {"whitelist": sorted(set(app.whitelist or []) | set(body.addresses))})
    return {"addresses": app.whitelist or []}


@router.delete("/v2/apps/{id}/whitelist/", status_code=204)
def remove_from_whitelist(body: WhitelistIO, db: DB, app: UsableApp):
    """Removes the addresses; one that is not in the whitelist is 422 and nothing is removed (as Deis)."""
    missing = sorted(set(body.addresses) - set(app.whitelist or []))
    if missing:
        raise Unprocessable(f"addresses {', '.join(missing)} are not in the whitelist")
    appsettings.change(db, app, {"whitelist": sorted(set(app.whitelist or []) - set(body.addresses))})
    return Response(status_code=204)


@router.get("/v2/apps/{id}/tls/", response_model=TlsOut)
def get_tls(app: UsableApp):
    return render.tls(app)


@router.post("/v2/apps/{id}/tls/", status_code=201, response_model=TlsOut)
def set_tls(body: TlsIn, db: DB, app: UsableApp):
    """Enforces HTTPS for the app's domains that have a certificate (HTTP answers 301), or stops enforcing it."""
    if not appsettings.change(db, app, {"enforce_https": body.https_enforced}):
        raise HTTPException(409, f"HTTPS enforced is already {str(body.https_enforced).lower()} for {app.id}.")
    return render.tls(app)
