"""Where tasks may run and how they spread over the cluster (Swarm placement), and the nodes they run on.

Swarm's scheduler already puts a service's next task on the eligible node holding the fewest of that
service's tasks, so replicas spread over nodes. On top of that every service prefers to spread over the
`slipway.zone` node label (set by the node role from the inventory's `slipway_node_labels`): nodes without
it count as one zone. An app's `tags` (Deis) are constraints on node labels: `tags:set disk=ssd` runs the
app only on nodes labelled `disk=ssd`.
"""
from __future__ import annotations

from typing import Iterable

from docker.types import Placement

from .base import Node, SchedulerError

SPREAD_LABEL = "slipway.zone"
AVAILABILITIES = ("active", "pause", "drain")


def placement(constraints: Iterable[str]) -> Placement:
    """The Placement of a service: the app's constraints, spread over zones."""
    return Placement(constraints=list(constraints) or None, preferences=[("spread", f"node.labels.{SPREAD_LABEL}")])


def node(raw: dict, address: str | None) -> Node:
    """A Swarm node (the API's JSON) as the scheduler's Node."""
    spec, status = raw.get("Spec", {}), raw.get("Status", {})
    manager = raw.get("ManagerStatus") or {}
    return Node(id=raw["ID"], hostname=raw.get("Description", {}).get("Hostname", ""),
                role=spec.get("Role", "worker"), availability=spec.get("Availability", "active"),
                state=status.get("State", "unknown"), address=address, labels=dict(spec.get("Labels") or {}),
                leader=bool(manager.get("Leader")))


def with_availability(spec: dict, availability: str) -> dict:
    """A node spec with another availability (the rest, labels and role, kept)."""
    if availability not in AVAILABILITIES:
        raise SchedulerError(f"availability must be one of {', '.join(AVAILABILITIES)}")
    return {**spec, "Availability": availability}


def with_labels(spec: dict, changes: dict[str, str | None]) -> dict:
    """A node spec with labels set (a value) or removed (None); the rest kept."""
    labels = dict(spec.get("Labels") or {})
    for key, value in changes.items():
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
    return {**spec, "Labels": labels}


def task_app(task: dict) -> str | None:
    """The app a Swarm task belongs to, when Slipway made it."""
    labels = task.get("Spec", {}).get("ContainerSpec", {}).get("Labels") or {}
    return labels.get("slipway.app") if labels.get("slipway.managed") == "1" else None
