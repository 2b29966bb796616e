"""Authentication and authorization as reusable FastAPI dependencies (no route repeats a check)."""
from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, Header, HTTPException, Path
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_db
from ..models import App, Domain, Token, User
from ..services import access, certstore, pushtokens
from ..services.passwords import same_secret, token_digest
from ..settings import Settings, get_settings

DB = Annotated[Session, Depends(get_db)]


def unauthorized(detail: str = "Authentication credentials were not provided.") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Token"})


NO_APP = "No App matches the given query."
FORBIDDEN = "You do not have permission to perform this action."


def found(value, kind: str):
    """`value`, or the 404 Deis answers for a missing `kind` ("No Build matches the given query.")."""
    if value is None:
        raise HTTPException(404, f"No {kind} matches the given query.")
    return value


def header_digest(authorization: str | None) -> str:
    """The stored digest of the token an `Authorization: token <key>` header carries (401 when malformed)."""
    if not authorization:
        raise unauthorized()
    scheme, _unused, token = authorization.partition(" ")
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
    """The app domain `name`, when `user` may use its app (404, 403 otherwise: services/certstore.py)."""
    return certstore.usable_domain(db, user, name)


def _service_key(header: str, key: Callable[[Settings], str], what: str):
    """A platform service's key: the header `header` must hold `key(settings)` (401 otherwise). The header is
    given as a default, not in the annotation, which FastAPI reads as a string outside this closure."""
    def check(value: str | None = Header(default=None, alias=header)) -> None:
        if not same_secret(value, key(get_settings())):
            raise unauthorized(f"Invalid {what}.")
    return check


builder_auth = _service_key("X-Deis-Builder-Auth", lambda s: s.builder_key, "builder key")
router_auth = _service_key("X-Slipway-Router-Auth", lambda s: s.router_key, "router key")
node_auth = _service_key("X-Slipway-Node-Auth", lambda s: s.node_key, "node key")
gc_auth = _service_key("X-Slipway-GC-Auth", lambda s: s.registry_gc_key, "registry GC key")
cleanup_auth = _service_key("X-Slipway-Cleanup-Auth", lambda s: s.builder_cleanup_key, "builder cleanup key")


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
