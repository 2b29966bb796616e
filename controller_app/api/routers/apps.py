"""/v2/apps/: list, create, get, transfer, destroy, logs, run."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response, WebSocket
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic_core import to_json
from sqlalchemy import exists, select
from starlette.concurrency import run_in_threadpool

from ...models import App, Domain, User
from ...scheduler.base import SchedulerError
from ...schemas.apps import AppCreate, AppOut, AppTransfer, RunIn, RunOut
from ...schemas.common import Paged
from ...services import deploy as deploys
from ...services import fastreads, interactive, logstream, registrypurge, releases, routing
from ...services.names import PROC_TYPE, app_id_problem, random_app_id
from ...services.scheduling import get_scheduler
from ...settings import get_settings
from .. import pagination, render
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
    app_id = body.id
    if app_id is None:
        app_id = next(n for n in iter(random_app_id, None)
                      if not db.scalar(select(exists().where(App.id == n))))
    problem = app_id_problem(app_id)
    if problem:
        raise HTTPException(400, problem)
    domain = f"{app_id}.{get_settings().platform_domain}"
    if db.scalar(select(exists().where(App.id == app_id))) or db.scalar(
            select(exists().where(Domain.domain == domain))):
        raise HTTPException(409, f"App with this id already exists: {app_id}")
    if not registrypurge.settle(db, app_id):
        raise HTTPException(409, f"The images of a destroyed app named {app_id} are still being removed from the "
                                 "registry; try again in a few minutes.")
    app = App(id=app_id, owner_id=user.id, structure={})
    db.add(app)
    db.flush()
    releases.initial(db, app, user)
    db.add(Domain(app_uuid=app.uuid, owner_id=user.id, domain=domain))
    routing.bump(db)
    db.commit()
    db.refresh(app)
    return render.app(app)


@router.get("/v2/apps/{id}/", response_model=AppOut)
def get_app(app: UsableApp):
    return render.app(app)


@router.post("/v2/apps/{id}/", response_model=AppOut)
def transfer_app(body: AppTransfer, db: DB, app: OwnedApp):
    owner = db.scalar(select(User).where(User.username == body.owner))
    if owner is None:
        raise HTTPException(404, f"No user named {body.owner}.")
    app.owner_id = owner.id
    db.commit()
    db.refresh(app)
    return render.app(app)


@router.delete("/v2/apps/{id}/", status_code=204)
def destroy_app(db: DB, app: OwnedApp):
    app_id = app.id
    try:
        with deploys.app_lock(app, get_settings().deploy_timeout):
            get_scheduler().remove(app.id)
            db.delete(app)
            registrypurge.retire(db, app_id)
            routing.bump(db)
            db.commit()
    except deploys.Busy as exc:
        raise HTTPException(409, str(exc)) from None
    except SchedulerError as exc:
        raise HTTPException(503, f"Could not remove the app's processes: {exc}") from None
    registrypurge.settle(db, app_id)  # its images leave the registry now, else before the name is taken again


@router.get("/v2/apps/{id}/logs/", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def app_logs(request: Request, app: UsableApp, log_lines: int = Query(100, ge=1, le=10000),
                   type: str | None = Query(None, pattern=PROC_TYPE.pattern),
                   # documented in docs/api.md; kept out of /openapi.json because an answer that never ends
                   # does not fit schema-driven clients and fuzzers
                   follow: bool = Query(False, include_in_schema=False)):
    """The last `log_lines` lines; with `follow=true`, then every new line of every task (new releases'
    included) as it comes, until the client disconnects."""
    scheduler = get_scheduler()
    try:
        if not follow:
            return PlainTextResponse(await run_in_threadpool(scheduler.logs, app.id, log_lines, type))
        stream = await run_in_threadpool(scheduler.open_log_stream, app.id, type, log_lines)
    except SchedulerError as exc:
        raise HTTPException(503, f"Could not read logs: {exc}") from None
    return StreamingResponse(logstream.body(stream, request), media_type="text/plain; charset=utf-8",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/v2/apps/{id}/run/", response_model=RunOut)
def run_command(body: RunIn, db: DB, app: UsableApp):
    release = releases.latest(db, app)
    if release is None or release.build is None:
        raise HTTPException(400, "No build associated with this release; push the app first.")
    try:
        result = get_scheduler().run(app.id, release.build.image, body.command,
                                     deploys.environment(app, release),
                                     memory=(release.config.memory or {}).get("run"))
    except SchedulerError as exc:
        raise HTTPException(503, f"Could not run the command: {exc}") from None
    return {"exit_code": result.exit_code, "output": result.output}


@router.websocket("/v2/apps/{id}/run/attach")
async def run_attach(websocket: WebSocket, id: str):
    """Interactive one-off session (a terminal) over a WebSocket: see docs/api.md for the frames.
    Authenticated with the `Authorization: token` header of the handshake, like every user request."""
    await interactive.serve(websocket, id, get_settings().run_session_timeout)
