"""Stored certificates (`/v2/certs/`, the dashboard's certificates page): adding one from PEM (checked by
certs.py), removing it, attaching it to an app domain and detaching it. A certificate belongs to who added it;
administrators see and manage every one (`owned`); a domain is reached through its app (`usable_domain`)."""
from __future__ import annotations

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from ..models import Cert, Domain, User
from . import access, certs, routing
from .errors import Conflict, Forbidden, Invalid, NotFound

FORBIDDEN = "You do not have permission to perform this action."


def visible(user: User) -> Select:
    """The certificates `user` may see and manage, by name."""
    query = select(Cert).order_by(Cert.name)
    return query if user.is_superuser else query.where(Cert.owner_id == user.id)


def owned(db: Session, user: User, name: str) -> Cert:
    """The certificate `name` when `user` added it or is an administrator (404, 403 otherwise)."""
    cert = db.scalar(select(Cert).where(Cert.name == name))
    if cert is None:
        raise NotFound("No Certificate matches the given query.")
    if not (user.is_superuser or cert.owner_id == user.id):
        raise Forbidden(FORBIDDEN)
    return cert


def usable_domain(db: Session, user: User, name: str) -> Domain:
    """The app domain `name`, when `user` may use its app (404, 403 otherwise)."""
    domain, allowed = access.find_domain(db, user, name)
    if domain is None:
        raise NotFound("No Domain matches the given query.")
    if not allowed:
        raise Forbidden(FORBIDDEN)
    return domain


def add(db: Session, user: User, name: str, certificate: str, key: str) -> Cert:
    """A new certificate of `user` from PEM text, committed (Invalid when it cannot serve, Conflict when the
    name is taken)."""
    try:
        info = certs.inspect(certificate, key)
    except certs.BadCert as exc:
        raise Invalid(str(exc)) from None
    if db.scalar(select(exists().where(Cert.name == name))):
        raise Conflict(f"A certificate named {name} already exists.")
    cert = Cert(owner_id=user.id, name=name, certificate=certificate, key=key, common_name=info.common_name,
                san=info.san, fingerprint=info.fingerprint, issuer=info.issuer, subject=info.subject,
                starts=info.starts, expires=info.expires)
    db.add(cert)
    db.commit()
    db.refresh(cert)
    return cert


def delete(db: Session, cert: Cert) -> None:
    attached = bool(cert.domains)
    db.delete(cert)
    if attached:
        routing.bump(db)
    db.commit()


def attach(db: Session, user: User, cert: Cert, domain_name: str) -> Domain:
    """Serve `domain_name` (of an app `user` may use) with `cert`, committed."""
    domain = usable_domain(db, user, domain_name.lower())
    try:  # stored before the upload check got stricter (e.g. a 1024-bit RSA key): not attached anew
        info = certs.inspect(cert.certificate, cert.key)
    except certs.BadCert as exc:
        raise Invalid(f"Certificate {cert.name} cannot be used: {exc}") from None
    if not certs.covers(info, domain.domain):
        raise Invalid(f"Certificate {cert.name} does not cover {domain.domain} "
                      f"(names: {', '.join(info.san or [info.common_name])}).")
    domain.cert = cert
    routing.bump(db)
    db.commit()
    db.refresh(cert)
    return domain


def detach(db: Session, user: User, cert: Cert, domain_name: str) -> Domain:
    row = usable_domain(db, user, domain_name.lower())
    if row.cert_uuid != cert.uuid:
        raise NotFound(f"Certificate {cert.name} is not attached to {domain_name}.")
    row.cert = None
    routing.bump(db)
    db.commit()
    return row
