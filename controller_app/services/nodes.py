"""The machines that run app processes: listing, labels, and draining without dropping a request.

A drain first stops the node from taking new tasks (Swarm `pause`), then redeploys blue/green every app with
tasks there (new tasks on the other nodes, healthy, routed and acknowledged by the routers, then the old ones
removed), and only then drains the node in Swarm. When an app cannot move, the node takes tasks again.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import App
from ..scheduler.base import Node, SchedulerError
from . import deploy
from .errors import Conflict, NotFound, Unavailable
from .scheduling import get_scheduler


def listing() -> list[Node]:
    try:
        return get_scheduler().nodes()
    except SchedulerError as exc:
        raise Unavailable(f"Could not list the nodes: {exc}") from None


def find(key: str) -> tuple[Node, list[Node]]:
    """The node whose Swarm id (else hostname) is `key`, and every node."""
    nodes = listing()
    found = next((n for n in nodes if n.id == key), None) or next((n for n in nodes if n.hostname == key), None)
    if found is None:
        raise NotFound("No Node matches the given query.")
    return found, nodes


def apps_on(node: Node) -> list[str]:
    try:
        return sorted(get_scheduler().apps_on_node(node.id))
    except SchedulerError as exc:
        raise Unavailable(f"Could not list the node's processes: {exc}") from None


def _move_app(db: Session, app_id: str, node: str) -> bool:
    """Redeploy an app's current release (placement avoids the paused node); False when nothing serves."""
    app = db.scalar(select(App).where(App.id == app_id))
    if app is None or app.current_deployment is None:
        return False  # not a serving app's task: Swarm stops it when the node drains
    release = deploy.current_release(db, app)
    if release is None or release.build is None:
        return False
    deploy.deploy(db, app, release, dict(app.structure or {}), new_release=False, cause=f"moved off node {node}")
    return True


def drain(db: Session, key: str) -> tuple[Node, list[str]]:
    """Move every app off the node, then drain it; the node and the apps that moved."""
    node, nodes = find(key)
    if not any(n.id != node.id and n.availability == "active" and n.state == "ready" for n in nodes):
        raise Conflict(f"{node.hostname} is the only active node: its processes have nowhere to go.")
    sched = get_scheduler()
    previous, moved, app_id = node.availability, [], None
    try:
        if previous == "active":
            sched.set_availability(node.id, "pause")  # keeps its tasks, takes no new ones
        for app_id in sorted(sched.apps_on_node(node.id)):
            if _move_app(db, app_id, node.hostname):
                moved.append(app_id)
        app_id = None
        node = sched.set_availability(node.id, "drain")
    except (deploy.DeployError, SchedulerError) as exc:
        if previous == "active":
            try:
                sched.set_availability(node.id, previous)
            except SchedulerError:
                pass
        where = f"move {app_id}'s processes off {node.hostname}" if app_id else f"drain {node.hostname}"
        kind = Conflict if isinstance(exc, deploy.Busy) else Unavailable
        raise kind(f"Could not {where}: {exc}") from None
    return node, moved


def activate(key: str) -> Node:
    node, _unused = find(key)
    try:
        return get_scheduler().set_availability(node.id, "active")
    except SchedulerError as exc:
        raise Unavailable(f"Could not activate {node.hostname}: {exc}") from None


def label(key: str, changes: dict[str, str | None]) -> Node:
    """Set labels (a value) and remove them (None); the others stay."""
    node, _unused = find(key)
    try:
        return get_scheduler().set_labels(node.id, changes)
    except SchedulerError as exc:
        raise Unavailable(f"Could not label {node.hostname}: {exc}") from None
