"""`GET /v2/apps/{id}/logs/?follow=true` (and the dashboard's Server-Sent Events): a scheduler LogStream turned
into an async body for StreamingResponse, each line framed by `frame`. The stream is read in worker threads; whatever ends the response (the client went
away, the server shuts down) closes it, which stops every Docker log stream it holds."""
from __future__ import annotations

from typing import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..scheduler.base import LogStream


def plain(line: str) -> str:
    return f"{line}\n"


async def body(stream: LogStream, request: Request, poll: float = 0.5,
               frame: Callable[[str], str] = plain) -> AsyncIterator[bytes]:
    # ASGI 2.4 servers (uvicorn) drop writes to a gone client silently: ask for the disconnect each turn
    try:
        while not await request.is_disconnected():
            lines = await run_in_threadpool(stream.read, poll)
            if lines:
                yield "".join(frame(line) for line in lines).encode()
    finally:
        await run_in_threadpool(stream.close)
