"""/v2/apps/{id}/scale/ and /pods/: process counts, listing and restarts (each a blue/green redeploy)."""
from __future__ import annotations

from fastapi import APIRouter, Body, Path

from ...scheduler.base import Task
from ...schemas.apps import PodOut
from ...schemas.common import Paged
from ...services import pods
from ...services.names import PROC_TYPE
from ..deps import DB, UsableApp
from ..pagination import listing

router = APIRouter(tags=["pods"])
TYPE = Path(pattern=PROC_TYPE.pattern)


def _pod(t: Task) -> dict:
    return {"name": t.name, "type": t.proc_type, "release": f"v{t.release}", "state": t.state,
            "started": t.started, "node": t.node}


@router.post("/v2/apps/{id}/scale/", status_code=204)
def scale(db: DB, app: UsableApp, body: dict[str, int] = Body(...)):
    pods.scale(db, app, body)


@router.get("/v2/apps/{id}/pods/", response_model=Paged[PodOut])
def list_pods(app: UsableApp):
    return listing([_pod(t) for t in pods.running(app)])


@router.get("/v2/apps/{id}/pods/{type}/", response_model=Paged[PodOut])
def list_pods_of_type(app: UsableApp, type: str = TYPE):
    return listing([_pod(t) for t in pods.running(app, type)])


@router.post("/v2/apps/{id}/pods/restart/", response_model=list[PodOut])
def restart_all(db: DB, app: UsableApp):
    return [_pod(t) for t in pods.restart(db, app)]


@router.post("/v2/apps/{id}/pods/{type}/restart/", response_model=list[PodOut])
def restart_type(db: DB, app: UsableApp, type: str = TYPE):
    return [_pod(t) for t in pods.restart(db, app, type)]


@router.post("/v2/apps/{id}/pods/{type}/{name}/restart/", response_model=list[PodOut])
def restart_one(app: UsableApp, name: str, type: str = TYPE):
    return [_pod(t) for t in pods.restart_one(app, type, name)]
