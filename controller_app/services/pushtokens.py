"""Push tokens: issued by the push check (builder key) for one user and one app, then the only credential of
that push's config read, registry pushes and pulls, and build registration. Valid until the push ends (the builder
revokes it then) and at most SLIPWAY_PUSH_TOKEN_TTL seconds, and only while the user is active and may still use
the app; stored as SHA-256 digests."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import App, PushToken, User
from ..settings import get_settings
from .passwords import new_token, token_digest


def issue(db: Session, app: App, user: User) -> tuple[str, int]:
    """A new token for `user` pushing to `app` and its lifetime in seconds; expired tokens go on the way."""
    now = dt.datetime.now(dt.timezone.utc)
    ttl = int(get_settings().push_token_ttl)
    db.execute(delete(PushToken).where(PushToken.expires < now))
    token = new_token() + new_token()
    db.add(PushToken(digest=token_digest(token), app_uuid=app.uuid, user_id=user.id,
                     expires=now + dt.timedelta(seconds=ttl)))
    db.flush()
    return token, ttl


def holder(db: Session, token: str | None) -> tuple[User, App] | None:
    """The active user and the app of an unexpired token (looked up by its digest), else None. Whether the
    user may still use the app is the caller's check (api/deps.py), at every use."""
    if not token:
        return None
    row = db.execute(
        select(User, App).select_from(PushToken)
        .join(User, User.id == PushToken.user_id).join(App, App.uuid == PushToken.app_uuid)
        .where(PushToken.digest == token_digest(token), PushToken.expires > dt.datetime.now(dt.timezone.utc),
               User.is_active.is_(True))).first()
    return (row[0], row[1]) if row else None


def revoke(db: Session, token: str) -> None:
    """End a token before it expires (its push is over)."""
    db.execute(delete(PushToken).where(PushToken.digest == token_digest(token)))
