"""What every dashboard page shares: the templates (autoescaped), who is signed in, the app a page is about
(the API's rule: services/access.py), and the parsing and CSRF check of posted forms."""
from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Callable, NamedTuple
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from ..api.deps import DB, current_user, require_app
from ..models import App, User
from ..services import access, accounts
from ..services.errors import Invalid, ServiceError
from ..services.passwords import token_digest
from ..settings import get_settings
from . import sessions

ROOT = "/dashboard"
FORM_MAX_BYTES = 256 * 1024
TEMPLATES = Environment(loader=FileSystemLoader(os.path.join(os.path.dirname(__file__), "templates")),
                        autoescape=True, trim_blocks=True, lstrip_blocks=True)


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _ago(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((dt.datetime.now(dt.timezone.utc) - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


TEMPLATES.filters.update(when=_when, ago=_ago)


class SignIn(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""


class Viewer(NamedTuple):
    user: User
    token: str
    csrf: str
    ends: float  # when the session ends at the latest (its lifetime), as time.time()


def viewer(request: Request, db: DB) -> Viewer:
    """The signed-in user (the API's token check on the session's token), else SignIn. A session that ended
    (its lifetime, its idle timeout) has its token revoked, so the token serves nobody afterwards."""
    cookie = sessions.session_cookie(request)
    if cookie is None:
        raise SignIn()
    if not sessions.live(cookie):
        accounts.revoke_token(db, token_digest(cookie.token))
        raise SignIn()
    try:
        user = current_user(db, f"token {cookie.token}")
    except HTTPException:
        raise SignIn() from None
    sessions.touch(request, cookie)
    return Viewer(user, cookie.token, sessions.csrf_token(cookie.token),
                  cookie.issued + get_settings().dashboard_session_lifetime)


Signed = Annotated[Viewer, Depends(viewer)]


def admin(who: Signed) -> Viewer:
    """The signed-in user when an administrator (403 otherwise, as the API's admin routes)."""
    if not who.user.is_superuser:
        raise HTTPException(403, "Only administrators can see this page.")
    return who


Admin = Annotated[Viewer, Depends(admin)]


def usable_app(db: Session, user: User, app_id: str) -> App:
    """The app `app_id` when `user` may use it: 404 or 403 as the API answers."""
    app, allowed = access.find_app(db, user, app_id)
    require_app(app is not None, allowed)
    return app


async def form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body's fields (the last value of a repeated one)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPException(415, "Forms are sent url-encoded.")
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise HTTPException(413, "The form is too large.")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=1000, strict_parsing=False))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "The form could not be read.") from None


class Posted(NamedTuple):
    who: Viewer
    fields: dict[str, str]


def posted(who: Signed, fields: Annotated[dict[str, str], Depends(form)]) -> Posted:
    """A signed-in user's form, its CSRF token checked (403 otherwise)."""
    if not sessions.same(fields.get(sessions.CSRF_FIELD), who.csrf):
        raise HTTPException(403, "The form's security token is missing or wrong; reload the page and try again.")
    return Posted(who, fields)


Form = Annotated[Posted, Depends(posted)]


def admin_posted(form: Form) -> Posted:
    admin(form.who)
    return form


AdminForm = Annotated[Posted, Depends(admin_posted)]


def render(request: Request, template: str, who: Viewer | None = None, status: int = 200,
           **context) -> HTMLResponse:
    """The page `template`, with the signed-in user, their CSRF token and the pending flash message."""
    body = TEMPLATES.get_template(template).render(
        root=ROOT, user=who.user if who else None, csrf=who.csrf if who else "", flash=sessions.read_flash(request),
        path=request.url.path, **context)
    response = HTMLResponse(body, status_code=status)
    if request.cookies.get(sessions.FLASH):
        sessions.clear_cookie(response, sessions.FLASH)
    return response


def checked(schema: type[BaseModel], **fields):
    """`fields` as the API's request schema `schema` takes them (its rules), else Invalid naming the field."""
    try:
        return schema(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(f"{'.'.join(str(p) for p in error['loc']) or 'form'}: {error['msg']}.") from None


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def act(request: Request, back: str, action: Callable[[], str], done_at: str | None = None) -> RedirectResponse:
    """Run a form's action (a service call returning what it did); on to `done_at` (default `back`) with the
    outcome, or back to `back` with the service's refusal, as the flash message."""
    try:
        done, kind, back = action(), "ok", done_at or back
    except ServiceError as exc:
        done, kind = exc.detail, "error"
    response = redirect(back)
    sessions.flash(request, response, kind, done)
    return response
