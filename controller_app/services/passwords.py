"""Password hashing (scrypt, stdlib), the password rule, and API tokens (random, stored as SHA-256 digests)."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from ..settings import get_settings

_N, _R, _P = 2 ** 14, 8, 1


def password_problem(password: str) -> str | None:
    """Why a new password is refused (register, passwd, an admin setting one, the bootstrap), or None."""
    least = get_settings().password_min_length
    if len(password) < least:
        return f"This password is too short. It must contain at least {least} characters."
    return None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(_N, _R, _P, base64.b64encode(salt).decode(),
                                          base64.b64encode(digest).decode())


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                         dklen=32)
    return hmac.compare_digest(got, base64.b64decode(digest))


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random password with the real parameters: checking a login against it costs what checking
    a real user's password costs, so an unknown username answers as slowly as a wrong password."""
    return hash_password(secrets.token_hex(16))


def new_token() -> str:
    return secrets.token_hex(20)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
