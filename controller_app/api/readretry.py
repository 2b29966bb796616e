"""Reads that ride over a database restart.

When PostgreSQL restarts (a converge that changes a setting read at start does one), the statements running
at that moment lose their connection. A GET or HEAD whose database connection was lost that way is run once
more: new connections wait for the restarting server (db.connect_waiting), so the second run gets an answer.
Other methods are never run twice; they answer 503 and the client decides.
"""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

LOST = "slipway.database_connection_lost"
SAFE = ("GET", "HEAD")


async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
    """The answer to a database failure; marks the request for ReadRetry when a running statement lost its
    connection."""
    if exc.connection_invalidated:
        request.scope[LOST] = True
    return JSONResponse({"detail": "The database is unavailable; try again shortly."}, status_code=503,
                        headers={"Retry-After": "1"})


class ReadRetry:
    """Pure ASGI middleware: runs a safe request once more when database_down marked its first run."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in SAFE:
            return await self.inner(scope, receive, send)
        held: list[dict] = []

        async def hold_a_lost_answer(message):
            if held or (message["type"] == "http.response.start" and scope.get(LOST)):
                held.append(message)
            else:
                await send(message)

        await self.inner(scope, receive, hold_a_lost_answer)
        if not held:
            return None
        scope.pop(LOST)
        return await self.inner(scope, receive, send)
