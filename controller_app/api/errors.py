"""The HTTP answers of the services' refusals (services/errors.py): {"detail": message} with the kind's status;
Deis-style validation errors, 400 with the offending field and its messages, {"password": ["..."]} (and the
message as "detail", like every other error answer)."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from ..services.errors import (Conflict, FieldError, Forbidden, Invalid, NotFound, ServiceError, Unavailable,
                               Unprocessable)

STATUS = {Invalid: 400, Forbidden: 403, NotFound: 404, Conflict: 409, Unprocessable: 422, Unavailable: 503}


def status_of(exc: ServiceError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


async def service_error_handler(_: Request, exc: ServiceError) -> JSONResponse:
    if isinstance(exc, FieldError):
        # "detail" too: every error answer carries it, as the API documents (schemas/common.py ERRORS)
        return JSONResponse({"detail": exc.message, exc.field: [exc.message]}, status_code=400)
    return JSONResponse({"detail": exc.detail}, status_code=status_of(exc))
