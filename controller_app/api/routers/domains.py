"""/v2/apps/{id}/domains/: globally unique hostnames, wildcards allowed (what may be claimed: domainrules)."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import exists, select

from ...models import Domain
from ...schemas.common import Paged
from ...schemas.keys import DomainIn, DomainOut
from ...services import routing
from ...services.domainrules import claim_problem
from ...services.errors import FieldError
from ...settings import get_settings
from .. import render
from ..deps import DB, CurrentUser, UsableApp, found
from ..pagination import PageDep, app_rows

router = APIRouter(tags=["domains"])


@router.get("/v2/apps/{id}/domains/", response_model=Paged[DomainOut])
def list_domains(db: DB, request: Request, app: UsableApp, page: PageDep):
    return app_rows(db, request, page, app, Domain, Domain.domain, render.domain)


@router.post("/v2/apps/{id}/domains/", status_code=201, response_model=DomainOut)
def add_domain(body: DomainIn, db: DB, user: CurrentUser, app: UsableApp):
    name = body.domain.strip().lower().rstrip(".")
    problem = claim_problem(name, app.id, get_settings().platform_domain)
    if problem:
        raise FieldError("domain", problem)
    if db.scalar(select(exists().where(Domain.domain == name))):
        raise HTTPException(409, f"Domain {name} is already in use.")
    domain = Domain(app_uuid=app.uuid, owner_id=user.id, domain=name)
    db.add(domain)
    routing.bump(db)
    db.commit()
    return render.domain(domain, app.id)


@router.delete("/v2/apps/{id}/domains/{domain}", status_code=204)
def remove_domain(db: DB, app: UsableApp, domain: str):
    row = found(db.scalar(select(Domain).where(Domain.app_uuid == app.uuid, Domain.domain == domain.lower())), "Domain")
    db.delete(row)
    routing.bump(db)
    db.commit()
