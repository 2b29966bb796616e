"""The signed-in user's account: a new password through services/accounts.change_password, as
`POST /v2/auth/passwd/`. It needs the current password, keeps the browser that changed it signed in and signs
the user out everywhere else (their other dashboard sign-ins and API tokens)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from ..api.deps import DB
from ..schemas.users import PasswdIn
from ..services import accounts
from ..services.errors import Invalid
from ..services.passwords import token_digest
from .pages import ROOT, Form, Signed, act, checked, render

router = APIRouter()


@router.get("/account")
def account_page(request: Request, who: Signed):
    return render(request, "account.html", who)


@router.post("/account/password")
def change_password(request: Request, db: DB, posted: Form):
    fields = posted.fields

    def change() -> str:
        if fields.get("new_password", "") != fields.get("repeat", ""):
            raise Invalid("The new password and its repetition differ.")
        body = checked(PasswdIn, password=fields.get("password", ""), new_password=fields.get("new_password", ""))
        user = posted.who.user
        accounts.change_password(db, user, user, body.password, body.new_password, token_digest(posted.who.token))
        return "Your password changed; your other sessions ended."
    return act(request, f"{ROOT}/account", change)
