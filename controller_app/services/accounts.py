"""Accounts: creating users, signing in (throttled), issuing and revoking tokens."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from ..models import Token, User
from ..settings import get_settings
from . import ratelimit
from .errors import FieldError, Invalid, Throttled
from .passwords import (dummy_hash, hash_password, new_token, password_problem, token_digest,
                        verify_password)


def username_taken(db: Session, username: str) -> bool:
    return bool(db.scalar(select(exists().where(func.lower(User.username) == username.lower()))))


def create_user(db: Session, username: str, password: str, *, email: str = "", first_name: str = "",
                last_name: str = "", is_superuser: bool = False) -> User:
    """A new user (not committed); the password must pass the rule (checked by the caller: field errors)."""
    user = User(username=username, email=email, first_name=first_name, last_name=last_name,
                password_hash=hash_password(password), is_superuser=is_superuser)
    db.add(user)
    return user


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user these credentials name, or None. An unknown username is checked against a dummy hash,
    so it costs the same scrypt run as a wrong password and the answer's timing does not tell them apart."""
    user = db.scalar(select(User).where(User.username == username))
    matches = verify_password(password, user.password_hash if user is not None else dummy_hash())
    if user is None or not user.is_active or not matches:
        return None
    return user


def issue_token(db: Session, user: User) -> str:
    token = new_token()
    db.add(Token(user_id=user.id, digest=token_digest(token)))
    return token


def revoke_tokens(db: Session, user: User, keep_digest: str | None = None) -> None:
    """Delete the user's tokens, except the one whose digest is `keep_digest` (the caller's own)."""
    query = delete(Token).where(Token.user_id == user.id)
    if keep_digest is not None:
        query = query.where(Token.digest != keep_digest)
    db.execute(query)


def login(db: Session, client: str, username: str, password: str) -> tuple[User, str]:
    """Sign `username` in from `client` (the real client address, api/clientaddr.py): the user and a new token,
    committed. Failed attempts are throttled per client and per (client, username) (ratelimit.py)."""
    s = get_settings()
    attempt = ratelimit.begin(client, username, s.login_attempts_per_minute, s.login_attempts_per_client_per_minute)
    if attempt is None:
        raise Throttled("Too many login attempts; wait a minute.")
    user = authenticate(db, username, password)
    if user is None:
        raise Invalid("Unable to log in with provided credentials.")
    ratelimit.forgive(attempt)
    token = issue_token(db, user)
    user.last_login = dt.datetime.now(dt.timezone.utc)
    db.commit()
    return user, token


def revoke_token(db: Session, digest: str) -> None:
    """Delete the one token whose digest is `digest` (signing out), committed."""
    db.execute(delete(Token).where(Token.digest == digest))
    db.commit()


def change_password(db: Session, user: User, target: User, current: str | None, new: str,
                    keep_digest: str | None) -> None:
    """`user` gives `target` (themselves, or anyone when an administrator: checked by the caller) the password
    `new`, committed. Changing one's own needs the current password and keeps the token whose digest is
    `keep_digest` (the one used for the change); every other token of `target` is revoked, which ends their
    other API clients and dashboard sessions."""
    if target is user and (current is None or not verify_password(current, user.password_hash)):
        raise Invalid("Current password does not match.")
    problem = password_problem(new)
    if problem:
        raise FieldError("password", problem)
    target.password_hash = hash_password(new)
    revoke_tokens(db, target, keep_digest=keep_digest if target is user else None)
    db.commit()
