"""An app's domains: claiming one (globally unique; what may be claimed: domainrules.py) and giving it up, each
announced to the routers. For the API and the dashboard alike."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..models import App, Domain, User
from ..settings import get_settings
from . import routing
from .domainrules import claim_problem
from .errors import Conflict, FieldError, NotFound


def add(db: Session, app: App, user: User, name: str) -> Domain:
    """The domain `name` (normalised) claimed for `app`, committed."""
    name = name.strip().lower().rstrip(".")
    problem = claim_problem(name, app.id, get_settings().platform_domain)
    if problem:
        raise FieldError("domain", problem)
    if db.scalar(select(exists().where(Domain.domain == name))):
        raise Conflict(f"Domain {name} is already in use.")
    domain = Domain(app_uuid=app.uuid, owner_id=user.id, domain=name)
    db.add(domain)
    routing.bump(db)
    db.commit()
    return domain


def remove(db: Session, app: App, name: str) -> None:
    row = db.scalar(select(Domain).where(Domain.app_uuid == app.uuid, Domain.domain == name.lower()))
    if row is None:
        raise NotFound("No Domain matches the given query.")
    db.delete(row)
    routing.bump(db)
    db.commit()
