"""Secrets the controller keeps for apps (a private registry's credentials), sealed at rest: Fernet (AES-128-CBC
with HMAC-SHA256) under a key derived with HKDF from the platform secret SLIPWAY_SECRET_KEY, which the controller
role keeps with the platform's other secrets. A database dump or backup alone opens none of them; changing
SLIPWAY_SECRET_KEY makes the sealed values unreadable (set them again)."""
from __future__ import annotations

import base64
import functools
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..settings import get_settings
from .errors import Invalid, Unavailable


@functools.lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"slipway sealed app secrets").derive(
        secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _key() -> Fernet:
    secret = get_settings().secret_key
    if not secret:
        raise Invalid("This controller has no SLIPWAY_SECRET_KEY: it cannot keep credentials.")
    return _fernet(secret)


def seal(value: dict) -> str:
    """`value` as a sealed token ("" for an empty dict)."""
    return _key().encrypt(json.dumps(value, sort_keys=True).encode()).decode() if value else ""


def unseal(token: str | None) -> dict:
    """What `seal` sealed ({} for "")."""
    if not token:
        return {}
    try:
        return json.loads(_key().decrypt(token.encode()))
    except InvalidToken:
        raise Unavailable("Sealed credentials cannot be opened with this controller's SLIPWAY_SECRET_KEY; "
                          "set them again.") from None
