"""Automatic TLS (ACME HTTP-01): /v2/certs/auto/ and the challenge answers at /.well-known/acme-challenge/."""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ...models import App, AutoCert, Domain, User
from ...schemas.common import Paged
from ...services import acme
from ...services.access import may_use
from ...settings import get_settings
from ..deps import DB, CurrentUser, usable_domain
from ..pagination import PageDep, paginate


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    """The renewal loop (merged into the app's lifespan by include_router)."""
    stop = threading.Event()
    s = get_settings()
    if s.acme_directory and s.acme_check_interval > 0:
        acme.start(s.acme_check_interval, stop)
    yield
    stop.set()


router = APIRouter(tags=["certs"], lifespan=lifespan)


class AutoCertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=253)


class AutoCertOut(BaseModel):
    uuid: str
    domain: str
    app: str
    owner: str
    status: str  # pending | renewing | valid | failed
    error: str
    cert: str | None  # the name of the Cert (GET /v2/certs/{name})
    expires: dt.datetime | None
    issued: dt.datetime | None
    last_attempt: dt.datetime | None
    next_attempt: dt.datetime | None
    created: dt.datetime
    updated: dt.datetime


def render(db, a: AutoCert) -> dict:
    app = db.get(App, a.domain.app_uuid)
    return {"uuid": str(a.uuid), "domain": a.domain.domain, "app": app.id if app else "", "owner": a.owner.username,
            "status": a.status, "error": a.error or "", "cert": a.cert.name if a.cert else None,
            "expires": a.cert.expires if a.cert else None, "issued": a.issued, "last_attempt": a.last_attempt,
            "next_attempt": a.next_attempt, "created": a.created, "updated": a.updated}


def _domain(db, user, name: str) -> Domain:
    return usable_domain(db, user, name.lower().rstrip("."))


def _auto(db: DB, user: CurrentUser, domain: Annotated[str, Path()]) -> AutoCert:
    row = _domain(db, user, domain)
    auto = db.scalar(select(AutoCert).where(AutoCert.domain_uuid == row.uuid))
    if auto is None:
        raise HTTPException(404, f"{row.domain} is not under automatic TLS.")
    return auto


UsableAutoCert = Annotated[AutoCert, Depends(_auto)]


@router.get("/v2/certs/auto/", response_model=Paged[AutoCertOut])
def list_auto_certs(db: DB, request: Request, user: CurrentUser, page: PageDep):
    query = (select(AutoCert).join(Domain, AutoCert.domain_uuid == Domain.uuid)
             .join(App, App.uuid == Domain.app_uuid).join(User, User.id == user.id)
             .where(may_use(User, App)).order_by(Domain.domain))
    return paginate(db, request, page, query, lambda a: render(db, a))


@router.post("/v2/certs/auto/", status_code=202, response_model=AutoCertOut)
def add_auto_cert(body: AutoCertIn, db: DB, user: CurrentUser):
    domain = _domain(db, user, body.domain)
    if domain.domain.startswith("*."):
        raise HTTPException(400, "HTTP-01 cannot validate wildcard domains; upload a certificate instead.")
    try:
        auto = acme.request(db, domain, user.id)
    except acme.NotConfigured as exc:
        raise HTTPException(400, str(exc)) from None
    return render(db, auto)


@router.get("/v2/certs/auto/{domain}", response_model=AutoCertOut)
def get_auto_cert(db: DB, auto: UsableAutoCert):
    return render(db, auto)


@router.post("/v2/certs/auto/{domain}/renew/", status_code=202, response_model=AutoCertOut)
def renew_auto_cert(db: DB, user: CurrentUser, auto: UsableAutoCert):
    try:
        auto = acme.request(db, auto.domain, auto.owner_id, force=True)
    except acme.NotConfigured as exc:
        raise HTTPException(400, str(exc)) from None
    return render(db, auto)


@router.delete("/v2/certs/auto/{domain}", status_code=204)
def remove_auto_cert(db: DB, auto: UsableAutoCert):
    """Stop obtaining and renewing; the certificate stays (and stays attached) until deleted."""
    db.delete(auto)
    db.commit()


@router.get("/.well-known/acme-challenge/{token}", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def acme_challenge(db: DB, token: str):
    """HTTP-01 answers of pending orders (no authentication: the CA asks, through the router)."""
    answer = acme.challenge(db, token)
    if answer is None:
        raise HTTPException(404, "No pending ACME challenge has this token.")
    return PlainTextResponse(answer)
