"""The HTTP answers of the services' refusals (services/errors.py): {"detail": message} with the kind's status;
Deis-style validation errors, 400 with the offending field and its messages, {"password": ["..."]} (and the
messages as "detail", like every other error answer), whether a service or the request's schema refused it."""
from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..services.errors import (Conflict, FieldError, Forbidden, Invalid, NotFound, ServiceError, Throttled,
                               Unavailable, Unprocessable)

STATUS = {Invalid: 400, Forbidden: 403, NotFound: 404, Conflict: 409, Unprocessable: 422, Throttled: 429,
          Unavailable: 503}


def status_of(exc: ServiceError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


async def service_error_handler(_request: Request, exc: ServiceError) -> JSONResponse:
    if isinstance(exc, FieldError):
        # "detail" too: every error answer carries it, as the API documents (schemas/common.py ERRORS)
        return JSONResponse({"detail": exc.message, exc.field: [exc.message]}, status_code=400)
    return JSONResponse({"detail": exc.detail}, status_code=status_of(exc))


SOURCES = ("body", "query", "path", "header", "cookie")


def field_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    """The schema's refusals by field, Deis's way: {"whitelist.0": ["'x' is not an IP address or CIDR"]};
    a refusal of the whole body (not JSON, not an object) goes under "detail"."""
    out: dict[str, list[str]] = {}
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        field = ".".join(loc[1:] if loc[:1] and loc[0] in SOURCES else loc) or "detail"
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        out.setdefault(field, []).append(message)
    return out


async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = field_errors(exc)
    detail = "; ".join(f"{k}: {' '.join(v)}" if k != "detail" else " ".join(v) for k, v in fields.items())
    return JSONResponse({**fields, "detail": detail}, status_code=400)
