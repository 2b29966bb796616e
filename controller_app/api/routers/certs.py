"""/v2/certs/: PEM certificates (checked with cryptography) attached to app domains."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from sqlalchemy import exists, select

from ...models import Cert
from ...schemas.common import Paged
from ...schemas.keys import CertIn, CertOut, DomainIn
from ...services import certs, routing
from .. import render
from ..deps import DB, CurrentUser, found, usable_domain
from ..pagination import PageDep, paginate

router = APIRouter(tags=["certs"])


def _cert(db: DB, user: CurrentUser, name: Annotated[str, Path()]) -> Cert:
    cert = found(db.scalar(select(Cert).where(Cert.name == name)), "Certificate")
    if not (user.is_superuser or cert.owner_id == user.id):
        raise HTTPException(403, "You do not have permission to perform this action.")
    return cert


OwnedCert = Annotated[Cert, Depends(_cert)]


@router.get("/v2/certs/", response_model=Paged[CertOut])
def list_certs(db: DB, request: Request, user: CurrentUser, page: PageDep):
    query = select(Cert).order_by(Cert.name)
    if not user.is_superuser:
        query = query.where(Cert.owner_id == user.id)
    return paginate(db, request, page, query, render.cert)


@router.post("/v2/certs/", status_code=201, response_model=CertOut)
def add_cert(body: CertIn, db: DB, user: CurrentUser):
    try:
        info = certs.inspect(body.certificate, body.key)
    except certs.BadCert as exc:
        raise HTTPException(400, str(exc)) from None
    if db.scalar(select(exists().where(Cert.name == body.name))):
        raise HTTPException(409, f"A certificate named {body.name} already exists.")
    cert = Cert(owner_id=user.id, name=body.name, certificate=body.certificate, key=body.key,
                common_name=info.common_name, san=info.san, fingerprint=info.fingerprint, issuer=info.issuer,
                subject=info.subject, starts=info.starts, expires=info.expires)
    db.add(cert)
    db.commit()
    db.refresh(cert)
    return render.cert(cert)


@router.get("/v2/certs/{name}", response_model=CertOut)
def get_cert(cert: OwnedCert):
    return render.cert(cert)


@router.delete("/v2/certs/{name}", status_code=204)
def delete_cert(db: DB, cert: OwnedCert):
    attached = bool(cert.domains)
    db.delete(cert)
    if attached:
        routing.bump(db)
    db.commit()


@router.post("/v2/certs/{name}/domain/", status_code=201, response_model=CertOut)
def attach(body: DomainIn, db: DB, user: CurrentUser, cert: OwnedCert):
    domain = usable_domain(db, user, body.domain.lower())
    try:  # stored before the upload check got stricter (e.g. a 1024-bit RSA key): not attached anew
        info = certs.inspect(cert.certificate, cert.key)
    except certs.BadCert as exc:
        raise HTTPException(400, f"Certificate {cert.name} cannot be used: {exc}") from None
    if not certs.covers(info, domain.domain):
        raise HTTPException(400, f"Certificate {cert.name} does not cover {domain.domain} "
                                 f"(names: {', '.join(info.san or [info.common_name])}).")
    domain.cert = cert
    routing.bump(db)
    db.commit()
    db.refresh(cert)
    return render.cert(cert)


@router.delete("/v2/certs/{name}/domain/{domain}", status_code=204)
def detach(db: DB, user: CurrentUser, cert: OwnedCert, domain: str):
    row = usable_domain(db, user, domain.lower())
    if row.cert_uuid != cert.uuid:
        raise HTTPException(404, f"Certificate {cert.name} is not attached to {domain}.")
    row.cert = None
    routing.bump(db)
    db.commit()
