"""The dashboard's ASGI app, mounted at /dashboard by controller_app/main.py: its pages, its static files, the
security headers on every answer, and its error pages (HTML, where the API answers JSON)."""
from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from ..api.errors import status_of
from ..services.errors import ServiceError
from . import (account, admin, appactions, applife, appviews, certificates, collaborators, graphs, logs, sessions,
               signin)
from .pages import ROOT, SignIn, redirect, render

# No inline script or style anywhere: the pages load /dashboard/static/ only; graphs are inline SVG elements
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", POLICY.encode()), (b"x-frame-options", b"DENY"),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
           (b"cross-origin-opener-policy", b"same-origin")]
SESSION_COOKIE = f"{sessions.SESSION}=".encode()


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every answer; pages (not static files) are never cached; a
    session's cookie re-signed with the time of this request (sessions.touch), unless the answer sets it."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        static = scope.get("path", "").startswith(f"{ROOT}/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = HEADERS if static else HEADERS + [(b"cache-control", b"no-store")]
                if not any(k.lower() == b"set-cookie" and v.startswith(SESSION_COOKIE) for k, v in headers):
                    extra = extra + sessions.refresh_headers(Request(scope))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.inner(scope, receive, send_with_headers)


app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
app.add_middleware(SecurityHeaders)
app.mount("/static", StaticFiles(directory=os.path.join(os.path.dirname(__file__), "static")), name="static")
for module in (signin, appviews, appactions, applife, collaborators, certificates, account, logs, graphs, admin):
    app.include_router(module.router)


def _error(request: Request, status: int, message: str):
    return render(request, "error.html", status=status, status_code=status, message=message)


@app.exception_handler(SignIn)
async def sign_in(request: Request, _unused: SignIn):
    response = redirect(f"{ROOT}/login")
    if request.cookies.get(sessions.SESSION):
        sessions.clear_cookie(response, sessions.SESSION)
    return response


@app.exception_handler(HTTPException)
async def http_error(request: Request, exc: HTTPException):
    return _error(request, exc.status_code, str(exc.detail))


@app.exception_handler(RequestValidationError)
async def bad_request(request: Request, _unused: RequestValidationError):
    return _error(request, 400, "The request is malformed.")


@app.exception_handler(ServiceError)
async def service_error(request: Request, exc: ServiceError):
    return _error(request, status_of(exc), exc.detail)


@app.exception_handler(sessions.NoSecret)
async def no_secret(request: Request, exc: sessions.NoSecret):
    return _error(request, 503, str(exc))


@app.exception_handler(OperationalError)
async def database_down(request: Request, _unused: OperationalError):
    return _error(request, 503, "The database is unavailable; try again shortly.")
