"""/v2/nodes/: the machines that run app processes (administrators only).

Draining a node never drops a request: the node first stops taking new tasks (Swarm `pause`), then every
app with tasks there is redeployed blue/green (new tasks on the other nodes, healthy, routed and acknowledged
by the routers, then the old ones removed), and only then is the node drained in Swarm.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel
from sqlalchemy import select

from ...models import App
from ...scheduler.base import Node, SchedulerError
from ...schemas.common import Paged
from ...services import deploy as deploys
from ...services.scheduling import get_scheduler
from ..deps import DB, AdminUser
from ..pagination import listing

router = APIRouter(tags=["nodes"])
NODE = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
            description="The node's Swarm id or its hostname")


class NodeOut(BaseModel):
    id: str
    hostname: str
    role: str
    availability: str
    state: str
    address: str | None
    labels: dict[str, str]
    leader: bool


class NodeDetail(NodeOut):
    apps: list[str]


class DrainOut(BaseModel):
    node: NodeOut
    moved: list[str]


def _scheduler_error(what: str, exc: SchedulerError) -> HTTPException:
    return HTTPException(503, f"{what}: {exc}")


def _nodes() -> list[Node]:
    try:
        return get_scheduler().nodes()
    except SchedulerError as exc:
        raise _scheduler_error("Could not list the nodes", exc) from None


def _find(key: str) -> tuple[Node, list[Node]]:
    nodes = _nodes()
    found = next((n for n in nodes if n.id == key), None) or next((n for n in nodes if n.hostname == key), None)
    if found is None:
        raise HTTPException(404, "No Node matches the given query.")
    return found, nodes


def _out(node: Node) -> dict:
    return {"id": node.id, "hostname": node.hostname, "role": node.role, "availability": node.availability,
            "state": node.state, "address": node.address, "labels": node.labels, "leader": node.leader}


@router.get("/v2/nodes/", response_model=Paged[NodeOut])
def list_nodes(_: AdminUser):
    return listing([_out(n) for n in _nodes()])


@router.get("/v2/nodes/{id}/", response_model=NodeDetail)
def get_node(_: AdminUser, id: str = NODE):
    node, _nodes_ = _find(id)
    try:
        apps = sorted(get_scheduler().apps_on_node(node.id))
    except SchedulerError as exc:
        raise _scheduler_error("Could not list the node's processes", exc) from None
    return {**_out(node), "apps": apps}


def _move_app(db, app_id: str) -> bool:
    """Redeploy an app's current release (placement avoids the paused node); False when nothing serves."""
    app = db.scalar(select(App).where(App.id == app_id))
    if app is None or app.current_deployment is None:
        return False  # not a serving app's task: Swarm stops it when the node drains
    release = deploys.current_release(db, app)
    if release is None or release.build is None:
        return False
    deploys.deploy(db, app, release, dict(app.structure or {}), new_release=False)
    return True


@router.post("/v2/nodes/{id}/drain/", response_model=DrainOut)
def drain(db: DB, _: AdminUser, id: str = NODE):
    node, nodes = _find(id)
    if not any(n.id != node.id and n.availability == "active" and n.state == "ready" for n in nodes):
        raise HTTPException(409, f"{node.hostname} is the only active node: its processes have nowhere to go.")
    sched = get_scheduler()
    previous, moved, app_id = node.availability, [], None
    try:
        if previous == "active":
            sched.set_availability(node.id, "pause")  # keeps its tasks, takes no new ones
        for app_id in sorted(sched.apps_on_node(node.id)):
            if _move_app(db, app_id):
                moved.append(app_id)
        app_id = None
        node = sched.set_availability(node.id, "drain")
    except (deploys.DeployError, SchedulerError) as exc:
        if previous == "active":
            try:
                sched.set_availability(node.id, previous)
            except SchedulerError:
                pass
        status = 409 if isinstance(exc, deploys.Busy) else 503
        where = f"move {app_id}'s processes off {node.hostname}" if app_id else f"drain {node.hostname}"
        raise HTTPException(status, f"Could not {where}: {exc}") from None
    return {"node": _out(node), "moved": moved}


@router.post("/v2/nodes/{id}/activate/", response_model=NodeOut)
def activate(_: AdminUser, id: str = NODE):
    node, _nodes_ = _find(id)
    try:
        return _out(get_scheduler().set_availability(node.id, "active"))
    except SchedulerError as exc:
        raise _scheduler_error(f"Could not activate {node.hostname}", exc) from None
