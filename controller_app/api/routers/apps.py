"""/v2/apps/: list, create, get, transfer, destroy, logs, run."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response, WebSocket
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from ...schemas.apps import AppCreate, AppOut, AppTransfer, RunIn, RunOut
from ...schemas.common import Paged
from ...services import apps, fastreads, logstream
from ...services.names import PROC_TYPE
from ...settings import get_settings
from .. import pagination, render, terminal
from ..deps import DB, CurrentUser, OwnedApp, TokenDigest, UsableApp, require_active
from ..pagination import PageDep

router = APIRouter(tags=["apps"])


@router.get("/v2/apps/", response_model=Paged[AppOut])
async def list_apps(request: Request, digest: TokenDigest, page: PageDep):
    # caller, count and page in one statement, on the event loop (see fastreads)
    access, count, results = await fastreads.apps_page(digest, page.limit, page.offset)
    require_active(access.user_found, access.user_active)
    return Response(to_json(pagination.body(request, page, count, results)), media_type="application/json")


@router.post("/v2/apps/", status_code=201, response_model=AppOut)
def create_app(body: AppCreate, db: DB, user: CurrentUser):
    return render.app(apps.create(db, user, body.id))


@router.get("/v2/apps/{id}/", response_model=AppOut)
def get_app(app: UsableApp):
    return render.app(app)


@router.post("/v2/apps/{id}/", response_model=AppOut)
def transfer_app(body: AppTransfer, db: DB, app: OwnedApp):
    return render.app(apps.transfer(db, app, body.owner))


@router.delete("/v2/apps/{id}/", status_code=204)
def destroy_app(db: DB, app: OwnedApp):
    apps.destroy(db, app)


@router.get("/v2/apps/{id}/logs/", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def app_logs(request: Request, app: UsableApp, log_lines: int = Query(100, ge=1, le=10000),
                   type: str | None = Query(None, pattern=PROC_TYPE.pattern),
                   # documented in docs/api.md; kept out of /openapi.json because an answer that never ends
                   # does not fit schema-driven clients and fuzzers
                   follow: bool = Query(False, include_in_schema=False)):
    """The last `log_lines` lines; with `follow=true`, then every new line of every task (new releases'
    included) as it comes, until the client disconnects."""
    if not follow:
        return PlainTextResponse(await run_in_threadpool(apps.logs, app, log_lines, type))
    stream = await run_in_threadpool(apps.follow_logs, app, type, log_lines)
    return StreamingResponse(logstream.body(stream, request), media_type="text/plain; charset=utf-8",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/v2/apps/{id}/run/", response_model=RunOut)
def run_command(body: RunIn, db: DB, app: UsableApp):
    result = apps.run(db, app, body.command)
    return {"exit_code": result.exit_code, "output": result.output}


@router.websocket("/v2/apps/{id}/run/attach")
async def run_attach(websocket: WebSocket, id: str):
    """Interactive one-off session (a terminal) over a WebSocket: see docs/api.md for the frames.
    Authenticated with the `Authorization: token` header of the handshake, like every user request."""
    await terminal.serve(websocket, id, get_settings().run_session_timeout)
