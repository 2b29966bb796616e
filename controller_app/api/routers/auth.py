"""/v2/auth/: register, login, whoami, passwd, tokens, cancel; /v2/users/."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Body, HTTPException, Request
from sqlalchemy import delete, exists, func, select, text

from ...models import App, Token, User
from ...schemas.common import Paged
from ...schemas.users import LoginIn, PasswdIn, RegisterIn, TokenOut, UserOut, UsernameIn
from ...services import ratelimit
from ...services.passwords import hash_password, new_token, token_digest, verify_password
from ...settings import get_settings
from .. import render
from ..deps import DB, AdminUser, CurrentUser, current_user
from ..pagination import PageDep, paginate

router = APIRouter(tags=["auth"])


def _issue_token(db, user: User) -> str:
    token = new_token()
    db.add(Token(user_id=user.id, digest=token_digest(token)))
    return token


def _target(db, user: User, username: str | None) -> User:
    """The user an auth action applies to: oneself, or (admins only) the named user."""
    if not username or username == user.username:
        return user
    if not user.is_superuser:
        raise HTTPException(403, "You do not have permission to perform this action.")
    other = db.scalar(select(User).where(User.username == username))
    if other is None:
        raise HTTPException(404, "No User matches the given query.")
    return other


@router.post("/v2/auth/register/", status_code=201, response_model=UserOut)
def register(body: RegisterIn, db: DB, request: Request):
    mode = get_settings().registration_mode
    first = not db.scalar(select(exists().where(User.id.isnot(None))))
    if not first and mode != "enabled":
        if mode == "disabled":
            raise HTTPException(403, "User registration is disabled.")
        caller = current_user(db, request.headers.get("authorization"))
        if not caller.is_superuser:
            raise HTTPException(403, "Only administrators can register users.")
    if db.scalar(select(exists().where(func.lower(User.username) == body.username.lower()))):
        raise HTTPException(409, f"A user with the username {body.username} already exists.")
    user = User(username=body.username, email=body.email, first_name=body.first_name,
                last_name=body.last_name, password_hash=hash_password(body.password), is_superuser=first)
    db.add(user)
    db.commit()
    return render.user(user)


@router.post("/v2/auth/login/", response_model=TokenOut)
def login(body: LoginIn, db: DB, request: Request):
    client = request.client.host if request.client else "?"
    if not ratelimit.allow(client, body.username, get_settings().login_attempts_per_minute):
        raise HTTPException(429, "Too many login attempts; wait a minute.")
    user = db.scalar(select(User).where(User.username == body.username))
    if user is None or not user.is_active or not verify_password(body.password, user.password_hash):
        raise HTTPException(400, "Unable to log in with provided credentials.")
    token = _issue_token(db, user)
    user.last_login = dt.datetime.now(dt.timezone.utc)
    db.commit()
    return {"token": token}


@router.get("/v2/auth/whoami/", response_model=UserOut)
def whoami(user: CurrentUser):
    return render.user(user)


@router.post("/v2/auth/passwd/", response_model=dict)
def passwd(body: PasswdIn, db: DB, user: CurrentUser):
    target = _target(db, user, body.username)
    if target is user and (body.password is None or not verify_password(body.password, user.password_hash)):
        raise HTTPException(400, "Current password does not match.")
    target.password_hash = hash_password(body.new_password)
    db.commit()
    return {}


@router.post("/v2/auth/tokens/", response_model=TokenOut)
def regenerate(db: DB, user: CurrentUser, body: UsernameIn = Body(default_factory=UsernameIn)):
    target = _target(db, user, body.username)
    db.execute(delete(Token).where(Token.user_id == target.id))
    token = _issue_token(db, target)
    db.commit()
    return {"token": token}


@router.delete("/v2/auth/cancel/", status_code=204)
def cancel(db: DB, user: CurrentUser, body: UsernameIn = Body(default_factory=UsernameIn)):
    target = _target(db, user, body.username)
    owned = db.scalars(select(App.id).where(App.owner_id == target.id).limit(5)).all()
    if owned:
        raise HTTPException(409, f"{target.username} still owns apps ({', '.join(owned)}); destroy or "
                                 f"transfer them first.")
    _hand_over(db, target)
    db.delete(target)
    db.commit()


def _hand_over(db, target: User) -> None:
    """What the user created in other people's apps passes to each app's owner; their certs go."""
    for table in ("configs", "builds", "releases", "domains"):
        db.execute(text(f"UPDATE {table} t SET owner_id = a.owner_id FROM apps a "
                        f"WHERE t.app_uuid = a.uuid AND t.owner_id = :u"), {"u": target.id})
    db.execute(text("DELETE FROM certs WHERE owner_id = :u"), {"u": target.id})


@router.get("/v2/users/", response_model=Paged[UserOut])
def users(db: DB, request: Request, _: AdminUser, page: PageDep):
    return paginate(db, request, page, select(User).order_by(User.username), render.user)
