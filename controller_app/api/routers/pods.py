"""/v2/apps/{id}/scale/ and /pods/: process counts, listing and restarts (each a blue/green redeploy), and
/deployments/: the app's history of those changes."""
from __future__ import annotations

from fastapi import APIRouter, Body, Path, Request

from ...models import Deployment
from ...scheduler.base import Task
from ...schemas.apps import DeploymentOut, PodOut
from ...schemas.common import Paged
from ...services import pods
from ...services.names import PROC_TYPE
from ..deps import DB, CurrentUser, UsableApp
from ..pagination import PageDep, app_rows, listing

router = APIRouter(tags=["pods"])
TYPE = Path(pattern=PROC_TYPE.pattern)


def _pod(t: Task) -> dict:
    return {"name": t.name, "type": t.proc_type, "release": f"v{t.release}", "state": t.state,
            "started": t.started, "node": t.node}


@router.post("/v2/apps/{id}/scale/", status_code=204)
def scale(db: DB, app: UsableApp, user: CurrentUser, body: dict[str, int] = Body(...)):
    pods.scale(db, app, body, user.username)


def _deployment(d: Deployment, app_id: str) -> dict:
    return {"app": app_id, "id": d.id, "release": f"v{d.release_version}", "structure": d.structure or {},
            "status": d.status, "cause": d.cause, "reason": d.reason, "created": d.created.isoformat(),
            "updated": d.updated.isoformat()}


@router.get("/v2/apps/{id}/deployments/", response_model=Paged[DeploymentOut])
def list_deployments(db: DB, request: Request, app: UsableApp, page: PageDep):
    """The app's deployments, newest first: what each was made for (`cause`) and how it ended."""
    return app_rows(db, request, page, app, Deployment, Deployment.id.desc(), _deployment)


@router.get("/v2/apps/{id}/pods/", response_model=Paged[PodOut])
def list_pods(app: UsableApp):
    return listing([_pod(t) for t in pods.running(app)])


@router.get("/v2/apps/{id}/pods/{type}/", response_model=Paged[PodOut])
def list_pods_of_type(app: UsableApp, type: str = TYPE):
    return listing([_pod(t) for t in pods.running(app, type)])


@router.post("/v2/apps/{id}/pods/restart/", response_model=list[PodOut])
def restart_all(db: DB, app: UsableApp, user: CurrentUser):
    return [_pod(t) for t in pods.restart(db, app, user.username)]


@router.post("/v2/apps/{id}/pods/{type}/restart/", response_model=list[PodOut])
def restart_type(db: DB, app: UsableApp, user: CurrentUser, type: str = TYPE):
    return [_pod(t) for t in pods.restart(db, app, user.username, type)]


@router.post("/v2/apps/{id}/pods/{type}/{name}/restart/", response_model=list[PodOut])
def restart_one(app: UsableApp, name: str, type: str = TYPE):
    return [_pod(t) for t in pods.restart_one(app, type, name)]
