"""/v2/certs/: PEM certificates (checked with cryptography) attached to app domains."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from ...models import Cert
from ...schemas.common import Paged
from ...schemas.keys import CertIn, CertOut, DomainIn
from ...services import certstore
from .. import render
from ..deps import DB, CurrentUser
from ..pagination import PageDep, paginate

router = APIRouter(tags=["certs"])


def _cert(db: DB, user: CurrentUser, name: Annotated[str, Path()]) -> Cert:
    return certstore.owned(db, user, name)


OwnedCert = Annotated[Cert, Depends(_cert)]


@router.get("/v2/certs/", response_model=Paged[CertOut])
def list_certs(db: DB, request: Request, user: CurrentUser, page: PageDep):
    return paginate(db, request, page, certstore.visible(user), render.cert)


@router.post("/v2/certs/", status_code=201, response_model=CertOut)
def add_cert(body: CertIn, db: DB, user: CurrentUser):
    return render.cert(certstore.add(db, user, body.name, body.certificate, body.key))


@router.get("/v2/certs/{name}", response_model=CertOut)
def get_cert(cert: OwnedCert):
    return render.cert(cert)


@router.delete("/v2/certs/{name}", status_code=204)
def delete_cert(db: DB, cert: OwnedCert):
    certstore.delete(db, cert)


@router.post("/v2/certs/{name}/domain/", status_code=201, response_model=CertOut)
def attach(body: DomainIn, db: DB, user: CurrentUser, cert: OwnedCert):
    certstore.attach(db, user, cert, body.domain)
    return render.cert(cert)


@router.delete("/v2/certs/{name}/domain/{domain}", status_code=204)
def detach(db: DB, user: CurrentUser, cert: OwnedCert, domain: str):
    certstore.detach(db, user, cert, domain)
