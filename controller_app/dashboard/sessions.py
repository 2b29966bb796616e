"""The dashboard's signed cookies and CSRF tokens.

A session is the API token issued at sign-in (services/accounts.login), kept in a cookie signed with a key
derived from SLIPWAY_SECRET_KEY, with the times of the sign-in and of the session's last request. It ends
SLIPWAY_DASHBOARD_SESSION_LIFETIME seconds after the sign-in, or SLIPWAY_DASHBOARD_IDLE_TIMEOUT seconds after
its last request (each page re-signs the cookie with the new time: `refresh_headers`); an ended session's token
is revoked when the cookie comes back (pages.viewer). Signing out revokes the token, and whatever revokes a
user's tokens (a new password, `auth:tokens`) ends their dashboard sessions too. Each session's CSRF token is derived from its token
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

from typing import NamedTuple

from starlette.requests import Request
from starlette.responses import Response

from ..services.passwords import token_digest
from ..settings import get_settings

PATH = "/dashboard/"
SESSION, LOGIN, FLASH = "slipway_session", "slipway_login", "slipway_flash"
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


class Cookie(NamedTuple):
    token: str
    issued: float  # the sign-in
    active: float  # the last request that re-signed the cookie


def session_cookie(request: Request) -> Cookie | None:
    """The request's session cookie, when ours (signed, well formed), expired or not."""
    value = unsign(SESSION, request.cookies.get(SESSION))
    if not value or not isinstance(value.get("t"), str) or not all(
            isinstance(value.get(k), (int, float)) for k in ("i", "a")):
        return None
    return Cookie(value["t"], value["i"], value["a"])


def ends(cookie: Cookie) -> float:
    """When the session ends unless a request comes first (the sooner of its lifetime and its idle timeout)."""
    s = get_settings()
    return min(cookie.issued + s.dashboard_session_lifetime, cookie.active + s.dashboard_idle_timeout)


def live(cookie: Cookie) -> bool:
    now = time.time()
    return cookie.issued - 60 <= now < ends(cookie) and cookie.active <= now + 60


def session_token(request: Request) -> str | None:
    """The API token of the request's session, when its cookie is ours and the session has not ended."""
    cookie = session_cookie(request)
    return cookie.token if cookie is not None and live(cookie) else None


def _write(request: Request, response: Response, cookie: Cookie) -> None:
    left = cookie.issued + get_settings().dashboard_session_lifetime - time.time()
    set_cookie(request, response, SESSION, sign(SESSION, {"t": cookie.token, "i": cookie.issued,
                                                          "a": cookie.active}), max(1, int(left)))


def start_session(request: Request, response: Response, token: str) -> None:
    now = time.time()
    _write(request, response, Cookie(token, now, now))


def touch(request: Request, cookie: Cookie) -> None:
    """Note a live session's request: its cookie is re-signed with the new time on the way out (at most once
    every tenth of the idle timeout, and at most once a minute)."""
    if time.time() - cookie.active >= min(60.0, get_settings().dashboard_idle_timeout / 10):
        request.state.touched = cookie._replace(active=time.time())


def refresh_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """The Set-Cookie header of a touched session's new cookie (none when the answer sets the cookie itself:
    a sign-in, a sign-out)."""
    cookie = getattr(request.state, "touched", None)
    if cookie is None:
        return []
    response = Response()
    _write(request, response, cookie)
    return [(k, v) for k, v in response.raw_headers if k == b"set-cookie"]


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
