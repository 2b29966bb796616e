"""Deis-style validation errors: 400 with the offending field and its messages, {"password": ["..."]} (and the
message as "detail", like every other error answer)."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class FieldError(Exception):
    """A request field that breaks a rule; the handler below answers 400 {field: [message]}."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


async def field_error_handler(_: Request, exc: FieldError) -> JSONResponse:
    # "detail" too: every error answer carries it, as the API documents (schemas/common.py ERRORS)
    return JSONResponse({"detail": exc.message, exc.field: [exc.message]}, status_code=400)
