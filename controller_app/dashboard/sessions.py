"""The dashboard's signed cookies and CSRF tokens.

A session is the API token issued at sign-in (services/accounts.login), kept in a cookie signed with a key
derived from SLIPWAY_SECRET_KEY: signing out revokes that token, and whatever revokes a user's tokens (a new
password, `auth:tokens`) ends their dashboard sessions too. Each session's CSRF token is derived from its token
(HMAC), so it needs no storage; the sign-in form's comes from a nonce cookie of its own. Flash messages (the
outcome of a form, shown on the next page) travel in a signed cookie as well.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from ..services.passwords import token_digest
from ..settings import get_settings

PATH = "/dashboard/"
SESSION, LOGIN, FLASH = "slipway_session", "slipway_login", "slipway_flash"
SESSION_SECONDS = 12 * 3600
CSRF_FIELD = "csrf"


class NoSecret(RuntimeError):
    """The controller has no SLIPWAY_SECRET_KEY: it cannot sign the dashboard's cookies."""


def _key(purpose: str) -> bytes:
    secret = get_settings().secret_key
    if not secret:
        raise NoSecret("The dashboard needs SLIPWAY_SECRET_KEY to sign its cookies; this controller has none.")
    return hmac.new(secret.encode(), f"slipway dashboard {purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(purpose: str, value: dict) -> str:
    payload = _b64(json.dumps(value, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(_key(purpose), payload.encode(), hashlib.sha256).digest())}"


def unsign(purpose: str, text: str | None) -> dict | None:
    """What `sign(purpose, ...)` signed, or None (no cookie, a bad signature, not ours)."""
    if not text or text.count(".") != 1:
        return None
    payload, mac = text.split(".")
    expected = _b64(hmac.new(_key(purpose), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        value = json.loads(_unb64(payload))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """HttpOnly, SameSite=Lax, the dashboard's path; Secure when the request came over HTTPS (the scheme the
    routers forwarded: api/clientaddr.py)."""
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH)


def session_token(request: Request) -> str | None:
    """The API token of the request's session, when its cookie is ours and not too old."""
    value = unsign(SESSION, request.cookies.get(SESSION))
    if not value or not isinstance(value.get("t"), str) or not isinstance(value.get("i"), (int, float)):
        return None
    return value["t"] if 0 <= time.time() - value["i"] < SESSION_SECONDS else None


def start_session(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, SESSION, sign(SESSION, {"t": token, "i": int(time.time())}), SESSION_SECONDS)


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose API token is `token`."""
    return hmac.new(_key("csrf"), token_digest(token).encode(), hashlib.sha256).hexdigest()


def login_nonce(request: Request) -> str:
    """The sign-in form's nonce: the one its cookie holds, else a new one (the caller sets the cookie)."""
    value = unsign(LOGIN, request.cookies.get(LOGIN))
    return value["n"] if value and isinstance(value.get("n"), str) else secrets.token_urlsafe(24)


def login_csrf(nonce: str) -> str:
    return hmac.new(_key("login"), nonce.encode(), hashlib.sha256).hexdigest()


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def flash(request: Request, response: Response, kind: str, text: str) -> None:
    """A message for the next page ("ok" or "error")."""
    set_cookie(request, response, FLASH, sign(FLASH, {"k": kind, "m": text[:2000], "i": int(time.time())}), 60)


def read_flash(request: Request) -> dict | None:
    value = unsign(FLASH, request.cookies.get(FLASH))
    if not value or not isinstance(value.get("m"), str) or time.time() - value.get("i", 0) > 60:
        return None
    return {"kind": "error" if value.get("k") == "error" else "ok", "text": value["m"]}
