"""/v2/apps/{id}/scale/ and /pods/: process counts, listing and restarts (each a blue/green redeploy)."""
from __future__ import annotations

from fastapi import APIRouter, Body, HTTPException, Path

from ...scheduler.base import SchedulerError, Task
from ...schemas.apps import PodOut
from ...schemas.common import Paged
from ...services import deploy as deploys
from ...services import limits
from ...services.names import PROC_TYPE
from ...services.scheduling import get_scheduler
from ..deps import DB, UsableApp
from ..pagination import listing

router = APIRouter(tags=["pods"])
TYPE = Path(pattern=PROC_TYPE.pattern)


def _pod(t: Task) -> dict:
    return {"name": t.name, "type": t.proc_type, "release": f"v{t.release}", "state": t.state,
            "started": t.started, "node": t.node}


def _pods(app, proc_type: str | None = None) -> dict:
    if app.current_deployment is None:
        return listing([])
    try:
        tasks = get_scheduler().tasks(app.id, app.current_deployment)
    except SchedulerError as exc:
        raise HTTPException(503, f"Could not list processes: {exc}") from None
    return listing([_pod(t) for t in tasks if t.desired_state == "running"
                    and (proc_type is None or t.proc_type == proc_type)])


def _redeploy(db, app, structure: dict[str, int]) -> None:
    release = deploys.current_release(db, app)
    if release is None or release.build is None:
        raise HTTPException(400, "No build associated with this release; push the app first.")
    try:
        deploys.deploy(db, app, release, structure, new_release=False, retire_later=True)
    except deploys.Busy as exc:
        raise HTTPException(409, str(exc)) from None
    except (deploys.DeployError, SchedulerError) as exc:
        raise HTTPException(400, f"Could not scale: {exc}") from None


@router.post("/v2/apps/{id}/scale/", status_code=204)
def scale(db: DB, app: UsableApp, body: dict[str, int] = Body(...)):
    current = dict(app.structure or {})
    for proc, count in body.items():
        if proc not in current:
            raise HTTPException(400, f"Container type {proc} does not exist in application "
                                     f"(types: {', '.join(sorted(current)) or 'none until the first build'}).")
        if not 0 <= count <= 10000:
            raise HTTPException(422, f"{proc}={count}: the count must be 0 or more.")
    structure = {**current, **body}
    problem = limits.problem(db, structure)
    if problem:
        raise HTTPException(400, problem)
    if structure != current:
        _redeploy(db, app, structure)


@router.get("/v2/apps/{id}/pods/", response_model=Paged[PodOut])
def list_pods(app: UsableApp):
    return _pods(app)


@router.get("/v2/apps/{id}/pods/{type}/", response_model=Paged[PodOut])
def list_pods_of_type(app: UsableApp, type: str = TYPE):
    return _pods(app, type)


@router.post("/v2/apps/{id}/pods/restart/", response_model=list[PodOut])
def restart_all(db: DB, app: UsableApp):
    _redeploy(db, app, dict(app.structure or {}))
    return _pods(app)["results"]


@router.post("/v2/apps/{id}/pods/{type}/restart/", response_model=list[PodOut])
def restart_type(db: DB, app: UsableApp, type: str = TYPE):
    if type not in (app.structure or {}):
        raise HTTPException(404, f"No process type {type}.")
    _redeploy(db, app, dict(app.structure or {}))
    return _pods(app, type)["results"]


@router.post("/v2/apps/{id}/pods/{type}/{name}/restart/", response_model=list[PodOut])
def restart_one(app: UsableApp, name: str, type: str = TYPE):
    pods = _pods(app, type)["results"]
    if name not in {p["name"] for p in pods}:
        raise HTTPException(404, f"No process named {name}.")
    try:
        get_scheduler().restart(app.id, app.current_deployment, type, name)
    except SchedulerError as exc:
        raise HTTPException(503, f"Could not restart {name}: {exc}") from None
    return _pods(app, type)["results"]
