"""An app's logs: the last lines in the page, then every new line as Server-Sent Events (the API's
`logs -f` stream: services/apps.follow_logs), which static/dashboard.js appends as text."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..api.deps import DB
from ..services import apps, logstream
from ..services.errors import ServiceError
from .pages import ROOT, Signed, render, usable_app

router = APIRouter()
LINES = 200


def event(line: str) -> str:
    """One log line as an SSE message (a carriage return would end the line early)."""
    return "data: " + line.replace("\r", "") + "\n\n"


@router.get("/apps/{app_id}/logs")
def logs_page(request: Request, db: DB, who: Signed, app_id: str):
    app = usable_app(db, who.user, app_id)
    try:
        text, error = apps.logs(app, LINES, None), ""
    except ServiceError as exc:
        text, error = "", exc.detail
    return render(request, "logs.html", who, app=app, lines=text, error=error,
                  stream=f"{ROOT}/apps/{app.id}/logs/stream")


@router.get("/apps/{app_id}/logs/stream")
async def logs_stream(request: Request, db: DB, who: Signed, app_id: str):
    app = await run_in_threadpool(usable_app, db, who.user, app_id)
    stream = await run_in_threadpool(apps.follow_logs, app, None, 0)
    db.close()  # no pooled connection held for as long as the page follows
    return StreamingResponse(logstream.body(stream, request, frame=event), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})
