"""Certificates: the ones a user may manage (services/certstore.py, as `/v2/certs/`: their own, every one to
administrators), adding one from PEM, removing one; attaching one to an app's domain and detaching it, from the
app page (as `/v2/certs/{name}/domain/`)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import selectinload

from ..api.deps import DB
from ..models import App, Cert
from ..schemas.keys import CertIn
from ..services import certstore
from ..services.errors import NotFound
from .appactions import on_app
from .pages import ROOT, Form, Posted, Signed, act, checked, render

router = APIRouter()


@router.get("/certs")
def certs_page(request: Request, db: DB, who: Signed):
    listed = list(db.scalars(certstore.visible(who.user).options(selectinload(Cert.domains))))
    return render(request, "certs.html", who, certs=listed)


@router.post("/certs")
def add(request: Request, db: DB, posted: Form):
    def change() -> str:
        body = checked(CertIn, name=posted.fields.get("name", "").strip(),
                       certificate=posted.fields.get("certificate", ""), key=posted.fields.get("key", ""))
        cert = certstore.add(db, posted.who.user, body.name, body.certificate, body.key)
        return f"Added {cert.name} ({', '.join(cert.san or [cert.common_name])})."
    return act(request, f"{ROOT}/certs", change)


@router.post("/certs/{name}/remove")
def remove(request: Request, db: DB, posted: Form, name: str):
    def change() -> str:
        certstore.delete(db, certstore.owned(db, posted.who.user, name))
        return f"Removed {name}."
    return act(request, f"{ROOT}/certs", change)


def _app_domain(db, posted, app: App):
    """The posted domain, when it is one of `app`'s (the API's rule on it: certstore.usable_domain)."""
    domain = certstore.usable_domain(db, posted.who.user, posted.fields.get("domain", "").lower())
    if domain.app_uuid != app.uuid:
        raise NotFound(f"{domain.domain} is not a domain of {app.id}.")
    return domain


def _domain_cert(request: Request, db, posted: Posted, app_id: str, apply, done: str):
    """Attach or detach (`apply`, the API's service) the posted certificate on the posted domain of the app."""
    def change(app: App) -> str:
        domain = _app_domain(db, posted, app)
        cert = certstore.owned(db, posted.who.user, posted.fields.get("cert", ""))
        apply(db, posted.who.user, cert, domain.domain)
        return done.format(domain=domain.domain, cert=cert.name)
    return on_app(request, db, posted, app_id, change)


@router.post("/apps/{app_id}/domains/attach")
def attach(request: Request, db: DB, posted: Form, app_id: str):
    return _domain_cert(request, db, posted, app_id, certstore.attach, "{domain} is served with {cert}.")


@router.post("/apps/{app_id}/domains/detach")
def detach(request: Request, db: DB, posted: Form, app_id: str):
    return _domain_cert(request, db, posted, app_id, certstore.detach, "Detached {cert} from {domain}.")
