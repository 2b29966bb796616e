"""/v2/apps/{id}/domains/: globally unique hostnames, wildcards allowed (what may be claimed: domainrules)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from ...models import Domain
from ...schemas.common import Paged
from ...schemas.keys import DomainIn, DomainOut
from ...services import domains
from .. import render
from ..deps import DB, CurrentUser, UsableApp
from ..pagination import PageDep, app_rows

router = APIRouter(tags=["domains"])


@router.get("/v2/apps/{id}/domains/", response_model=Paged[DomainOut])
def list_domains(db: DB, request: Request, app: UsableApp, page: PageDep):
    return app_rows(db, request, page, app, Domain, Domain.domain, render.domain)


@router.post("/v2/apps/{id}/domains/", status_code=201, response_model=DomainOut)
def add_domain(body: DomainIn, db: DB, user: CurrentUser, app: UsableApp):
    return render.domain(domains.add(db, app, user, body.domain), app.id)


@router.delete("/v2/apps/{id}/domains/{domain}", status_code=204)
def remove_domain(db: DB, app: UsableApp, domain: str):
    domains.remove(db, app, domain)
