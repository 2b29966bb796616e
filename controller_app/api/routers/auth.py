"""/v2/auth/: register, login, whoami, passwd, tokens, cancel; /v2/users/."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Request
from sqlalchemy import select, text

from ...models import App, User
from ...schemas.common import Paged
from ...schemas.users import LoginIn, PasswdIn, RegisterIn, TokenOut, UserOut, UsernameIn
from ...services import accounts
from ...services.errors import FieldError
from ...services.passwords import password_problem
from ...settings import get_settings
from .. import render
from ..deps import DB, AdminUser, CurrentUser, TokenDigest, current_user, found
from ..pagination import PageDep, paginate

router = APIRouter(tags=["auth"])


def _target(db, user: User, username: str | None) -> User:
    """The user an auth action applies to: oneself, or (admins only) the named user."""
    if not username or username == user.username:
        return user
    if not user.is_superuser:
        raise HTTPException(403, "You do not have permission to perform this action.")
    other = found(db.scalar(select(User).where(User.username == username)), "User")
    return other


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise FieldError("password", problem)


def registration_allowed(db: DB, authorization: Annotated[str | None, Header()] = None) -> None:
    """SLIPWAY_REGISTRATION_MODE: admin_only (an admin's token), enabled (anyone), disabled (nobody). Checked
    before the body, so a refused caller learns nothing from validation errors. The platform's first admin
    comes from `python -m controller_app.bootstrap` on the controller host, never from this route."""
    mode = get_settings().registration_mode
    if mode == "enabled":
        return
    if mode == "disabled":
        raise HTTPException(403, "User registration is disabled.")
    if not current_user(db, authorization).is_superuser:
        raise HTTPException(403, "Only administrators can register users.")


@router.post("/v2/auth/register/", status_code=201, response_model=UserOut,
             dependencies=[Depends(registration_allowed)])
def register(body: RegisterIn, db: DB):
    _check_password(body.password)
    if accounts.username_taken(db, body.username):
        raise HTTPException(409, f"A user with the username {body.username} already exists.")
    user = accounts.create_user(db, body.username, body.password, email=body.email, first_name=body.first_name,
                                last_name=body.last_name)
    db.commit()
    return render.user(user)


@router.post("/v2/auth/login/", response_model=TokenOut)
def login(body: LoginIn, db: DB, request: Request):
    client = request.client.host if request.client else "?"  # the real client (api/clientaddr.py)
    _unused, token = accounts.login(db, client, body.username, body.password)
    return {"token": token}


@router.get("/v2/auth/whoami/", response_model=UserOut)
def whoami(user: CurrentUser):
    return render.user(user)


@router.post("/v2/auth/passwd/", response_model=dict)
def passwd(body: PasswdIn, db: DB, user: CurrentUser, digest: TokenDigest):
    """A new password revokes every other token of the user: changing one's own keeps the token used for the
    change (the Deis client goes on with its stored token); an admin setting someone's revokes all of theirs."""
    accounts.change_password(db, user, _target(db, user, body.username), body.password, body.new_password, digest)
    return {}


@router.post("/v2/auth/tokens/", response_model=TokenOut)
def regenerate(db: DB, user: CurrentUser, body: UsernameIn = Body(default_factory=UsernameIn)):
    target = _target(db, user, body.username)
    accounts.revoke_tokens(db, target)
    token = accounts.issue_token(db, target)
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
def users(db: DB, request: Request, _admin: AdminUser, page: PageDep):
    return paginate(db, request, page, select(User).order_by(User.username), render.user)
