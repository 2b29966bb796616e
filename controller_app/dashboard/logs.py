"""An app's logs: the last lines in the page, then every new line as Server-Sent Events (the API's
`logs -f` stream: services/apps.follow_logs), which static/dashboard.js appends as text.

Each event carries an `id:`, the position of its line (logid.py); a browser that lost the stream reconnects with
it in `Last-Event-ID` (EventSource does so by itself), and the stream resumes after that line: the lines
written meanwhile come once. The page names its own last line the same way (`?after=`), so the first stream
starts right after what the page shows. The stream ends when the session's lifetime does."""
from __future__ import annotations

import time
from typing import AsyncIterator
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..api.deps import DB
from ..scheduler.base import LogPosition, LogStream
from ..services import apps
from ..services.errors import ServiceError
from . import logid
from .pages import ROOT, Signed, render, usable_app

router = APIRouter()
LINES = 200
RETRY_MS = 1000  # how soon a browser reconnects after losing the stream


def event(line: str, position: LogPosition | None = None) -> str:
    """One log line as an SSE message (a carriage return would end the line early)."""
    head = f"id: {logid.format_id(position)}\n" if position is not None else ""
    return head + "data: " + line.replace("\r", "") + "\n\n"


async def events(stream: LogStream, request: Request, ends: float,
                 after: LogPosition | None) -> AsyncIterator[bytes]:
    position = after
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while time.time() < ends and not await request.is_disconnected():
            entries = await run_in_threadpool(stream.read_entries, 0.5)
            if entries:
                chunks = []
                for key, line in entries:
                    position = logid.advance(position, key, line)
                    chunks.append(event(line, position))
                yield "".join(chunks).encode()
    finally:
        await run_in_threadpool(stream.close)


@router.get("/apps/{app_id}/logs")
def logs_page(request: Request, db: DB, who: Signed, app_id: str):
    """The last lines, and a stream that starts right after the last of them (`?after=`), so nothing written
    while the browser opens it is lost."""
    app = usable_app(db, who.user, app_id)
    start, position = logid.now(), None
    try:
        entries, error = apps.log_entries(app, LINES, None), ""
    except ServiceError as exc:
        entries, error = [], exc.detail
    for key, line in entries:
        position = logid.advance(position, key, line)
    position = position or start  # no line shown (or none with a time): from the moment before the page read them
    return render(request, "logs.html", who, app=app, lines="".join(line + "\n" for _key, line in entries),
                  error=error,
                  stream=f"{ROOT}/apps/{app.id}/logs/stream?" + urlencode({"after": logid.format_id(position)}))


@router.get("/apps/{app_id}/logs/stream")
async def logs_stream(request: Request, db: DB, who: Signed, app_id: str):
    """From the browser's last event on a reconnect (`Last-Event-ID`), else from the page's last line."""
    app = await run_in_threadpool(usable_app, db, who.user, app_id)
    after = (logid.parse_id(request.headers.get("last-event-id"))
             or logid.parse_id(request.query_params.get("after")))
    stream = await run_in_threadpool(apps.follow_logs, app, None, 0, after)
    db.close()  # no pooled connection held for as long as the page follows
    return StreamingResponse(events(stream, request, who.ends, after), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})
