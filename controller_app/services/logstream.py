"""`GET /v2/apps/{id}/logs/?follow=true`: a scheduler LogStream turned into an async body for
StreamingResponse. The stream is read in worker threads; whatever ends the response (the client went
away, the server shuts down) closes it, which stops every Docker log stream it holds."""
from __future__ import annotations

from typing import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..scheduler.base import LogStream


async def body(stream: LogStream, request: Request, poll: float = 0.5) -> AsyncIterator[bytes]:
    # ASGI 2.4 servers (uvicorn) drop writes to a gone client silently: ask for the disconnect each turn
    try:
        while not await request.is_disconnected():
            lines = await run_in_threadpool(stream.read, poll)
            if lines:
                yield "".join(f"{line}\n" for line in lines).encode()
    finally:
        await run_in_threadpool(stream.close)
