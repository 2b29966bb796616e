"""Authentication and authorization as reusable FastAPI dependencies (no route repeats a check)."""
from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, Header, HTTPException, Path
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_db
from ..models import App, Domain, Token, User
from ..services import access, pushtokens
from ..services.passwords import same_secret, token_digest
from ..settings import get_settings

DB = Annotated[Session, Depends(get_db)]


def unauthorized(detail: str = "Authentication credentials were not provided.") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Token"})


NO_APP = "No App matches the given query."
FORBIDDEN = "You do not have permission to perform this action."


def header_digest(authorization: str | None) -> str:
    """The stored digest of the token an `Authorization: token <key>` header carries (401 when malformed)."""
    if not authorization:
        raise unauthorized()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        raise unauthorized("Invalid token header.")
    return token_digest(token.strip())


async def request_digest(authorization: Annotated[str | None, Header()] = None) -> str:
    """As `header_digest`, for routes that look the token up themselves (no thread hop for parsing)."""
    return header_digest(authorization)


TokenDigest = Annotated[str, Depends(request_digest)]


def require_active(found: bool, is_active: bool | None) -> None:
    if not found or not is_active:
        raise unauthorized("Invalid token.")


def require_app(found: bool, allowed: bool) -> None:
    if not found:
        raise HTTPException(404, NO_APP)
    if not allowed:
        raise HTTPException(403, FORBIDDEN)


def current_user(db: DB, authorization: Annotated[str | None, Header()] = None) -> User:
    user = db.scalar(select(User).join(Token).where(Token.digest == header_digest(authorization)))
    require_active(user is not None, user is not None and user.is_active)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_superuser:
        raise HTTPException(403, FORBIDDEN)
    return user


AdminUser = Annotated[User, Depends(admin_user)]


def _app_access(owner_only: bool) -> Callable[..., App]:
    def dependency(db: DB, user: CurrentUser, id: Annotated[str, Path()]) -> App:
        app, allowed = access.find_app(db, user, id, owner_only)
        require_app(app is not None, allowed)
        return app
    return dependency


UsableApp = Annotated[App, Depends(_app_access(owner_only=False))]
OwnedApp = Annotated[App, Depends(_app_access(owner_only=True))]


def usable_domain(db: Session, user: User, name: str) -> Domain:
    """The app domain `name`, when `user` may use its app (404, 403 otherwise)."""
    domain, allowed = access.find_domain(db, user, name)
    if domain is None:
        raise HTTPException(404, "No Domain matches the given query.")
    if not allowed:
        raise HTTPException(403, FORBIDDEN)
    return domain


def builder_auth(x_deis_builder_auth: Annotated[str | None, Header()] = None) -> None:
    if not same_secret(x_deis_builder_auth, get_settings().builder_key):
        raise unauthorized("Invalid builder key.")


def router_auth(x_slipway_router_auth: Annotated[str | None, Header()] = None) -> None:
    if not same_secret(x_slipway_router_auth, get_settings().router_key):
        raise unauthorized("Invalid router key.")


def node_auth(x_slipway_node_auth: Annotated[str | None, Header()] = None) -> None:
    if not same_secret(x_slipway_node_auth, get_settings().node_key):
        raise unauthorized("Invalid node key.")


def gc_auth(x_slipway_gc_auth: Annotated[str | None, Header()] = None) -> None:
    if not same_secret(x_slipway_gc_auth, get_settings().registry_gc_key):
        raise unauthorized("Invalid registry GC key.")


def push_holder(db: Session, token: str | None) -> tuple[User, App] | None:
    """The user and app of a valid push token whose user may still use the app, else None."""
    found = pushtokens.holder(db, token)
    return found if found and access.can_use(db, found[1], found[0]) else None


def push_token_auth(db: DB, x_slipway_push_token: Annotated[str | None, Header()] = None) -> tuple[User, App]:
    found = push_holder(db, x_slipway_push_token)
    if found is None:
        raise unauthorized("Invalid or expired push token.")
    return found


PushHolder = Annotated[tuple[User, App], Depends(push_token_auth)]
