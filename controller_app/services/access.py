"""Who may use an app, written once.

A user may use an app when they are an administrator, its owner, or one of its collaborators; only an
administrator or the owner may transfer or destroy it. Both rules are SQL expressions over a users row and an
apps row (`may_use`, `may_own`), so the ORM paths (the API's dependencies, the builder's hooks, the one-off
terminal, the image rule) and the fast reads compiled from them (fastreads.py) ask PostgreSQL the same question.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import App, Collaborator, Domain, User


def may_own(user, app) -> ColumnElement[bool]:
    """`user` (User or an alias of it) may transfer or destroy `app` (App or an alias)."""
    return or_(user.is_superuser, app.owner_id == user.id)


def may_use(user, app) -> ColumnElement[bool]:
    """`user` may use `app`: the owner's rights, or a collaborator's."""
    k = aliased(Collaborator, name="k")
    return or_(may_own(user, app),
               exists().where(k.app_uuid == app.uuid, k.user_id == user.id).correlate_except(k))


def find_app(db: Session, user: User, app_id: str, owner_only: bool = False) -> tuple[App | None, bool]:
    """The app named `app_id` (None when there is none) and whether `user` may use it (or own it), in one
    statement."""
    rule = may_own(User, App) if owner_only else may_use(User, App)
    row = db.execute(select(App, rule).join(User, User.id == user.id).where(App.id == app_id)).first()
    return (row[0], bool(row[1])) if row else (None, False)


def can_use(db: Session, app: App, user: User) -> bool:
    return bool(db.scalar(select(may_use(User, App)).select_from(App).join(User, User.id == user.id)
                          .where(App.uuid == app.uuid)))


def usable_app_ids(db: Session, user: User) -> list[str]:
    """The ids of every app `user` may use, sorted."""
    return list(db.scalars(select(App.id).join(User, User.id == user.id).where(may_use(User, App))
                           .order_by(App.id)))


def find_domain(db: Session, user: User, name: str) -> tuple[Domain | None, bool]:
    """The app domain `name` (None when there is none) and whether `user` may use its app."""
    row = db.execute(select(Domain, may_use(User, App)).join(App, App.uuid == Domain.app_uuid)
                     .join(User, User.id == user.id).where(Domain.domain == name)).first()
    return (row[0], bool(row[1])) if row else (None, False)
