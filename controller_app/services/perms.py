"""An app's collaborators (`/v2/apps/{id}/perms/`, the dashboard's Collaborators section): who may list, grant
and revoke them (`managed_app`, the one rule both follow), who they are, granting and revoking."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import App, Collaborator, User
from . import access
from .errors import Conflict, Invalid, NotFound


def managed_app(db: Session, user: User, app_id: str, *, grant: bool = False,
                revoke: str | None = None) -> tuple[App | None, bool]:
    """The app `app_id` (None when there is none) and whether `user` may list its collaborators (whoever may use
    it), `grant` access to someone (its owner or an administrator) or `revoke` that username's (the owner or an
    administrator, or a collaborator leaving on their own), as in Deis Workflow."""
    owner_only = grant or (revoke is not None and revoke != user.username)
    return access.find_app(db, user, app_id, owner_only=owner_only)


def named_user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username}.")
    return user


def collaborators(db: Session, app: App) -> list[str]:
    """The usernames of the app's collaborators, sorted."""
    return list(db.scalars(select(User.username).join(Collaborator, Collaborator.user_id == User.id)
                           .where(Collaborator.app_uuid == app.uuid).order_by(User.username)))


def grant(db: Session, app: App, username: str) -> User:
    """Make `username` a collaborator on the app, committed."""
    user = named_user(db, username)
    if user.id == app.owner_id:
        raise Invalid(f"{user.username} owns {app.id} already.")
    if db.scalar(select(Collaborator).where(Collaborator.app_uuid == app.uuid, Collaborator.user_id == user.id)):
        raise Conflict(f"{user.username} is already a collaborator on {app.id}.")
    db.add(Collaborator(app_uuid=app.uuid, user_id=user.id))
    db.commit()
    return user


def revoke(db: Session, app: App, username: str) -> None:
    """`username` is no longer a collaborator on the app, committed."""
    user = named_user(db, username)
    row = db.scalar(select(Collaborator).where(Collaborator.app_uuid == app.uuid, Collaborator.user_id == user.id))
    if row is None:
        raise NotFound(f"{username} is not a collaborator on {app.id}.")
    db.delete(row)
    db.commit()
