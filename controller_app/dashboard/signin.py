"""Signing in (the API's login: services/accounts.login, throttled alike) and out."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ..api.deps import DB
from ..api.errors import status_of
from ..services import accounts
from ..services.errors import ServiceError
from ..services.passwords import token_digest
from . import sessions
from .pages import ROOT, Form, form, redirect, render

router = APIRouter()


def _form(request: Request, status: int = 200, username: str = "", error: str = ""):
    nonce = sessions.login_nonce(request)
    response = render(request, "login.html", status=status, username=username, error=error,
                      login_csrf=sessions.login_csrf(nonce))
    sessions.set_cookie(request, response, sessions.LOGIN, sessions.sign(sessions.LOGIN, {"n": nonce}), 3600)
    return response


@router.get("/login")
def login_page(request: Request):
    if sessions.session_token(request):
        return redirect(f"{ROOT}/")
    return _form(request)


@router.post("/login")
def login(request: Request, db: DB, fields: Annotated[dict[str, str], Depends(form)]):
    nonce = (sessions.unsign(sessions.LOGIN, request.cookies.get(sessions.LOGIN)) or {}).get("n")
    username = fields.get("username", "")[:150]
    if not isinstance(nonce, str) or not sessions.same(fields.get(sessions.CSRF_FIELD), sessions.login_csrf(nonce)):
        return _form(request, 403, username, "The form expired; sign in again.")
    client = request.client.host if request.client else "?"  # the real client (api/clientaddr.py)
    try:
        _unused, token = accounts.login(db, client, username, fields.get("password", ""))
    except ServiceError as exc:
        return _form(request, status_of(exc), username, exc.detail)
    response = redirect(f"{ROOT}/")
    sessions.start_session(request, response, token)
    sessions.clear_cookie(response, sessions.LOGIN)
    return response


@router.post("/logout")
def logout(db: DB, posted: Form):
    accounts.revoke_token(db, token_digest(posted.who.token))
    response = redirect(f"{ROOT}/login")
    sessions.clear_cookie(response, sessions.SESSION)
    return response
