"""/v2/nodes/: the machines that run app processes (administrators only); a drain never drops a request
(services/nodes.py)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ...scheduler.base import Node
from ...schemas.common import Paged
from ...services import agentview, nodes
from ..deps import DB, AdminUser
from ..pagination import listing

router = APIRouter(tags=["nodes"])
NODE = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
            description="The node's Swarm id or its hostname")
LabelText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,63}$")]


class AgentOut(BaseModel):
    """The node's agent: when it last reported, and whether the controller still takes its word (it reported
    within a few heartbeats)."""
    seen: dt.datetime
    reporting: bool


class NodeOut(BaseModel):
    id: str
    hostname: str
    role: str
    availability: str
    state: str
    address: str | None
    labels: dict[str, str]
    leader: bool
    agent: AgentOut | None = None


class NodeDetail(NodeOut):
    apps: list[str]


class DrainOut(BaseModel):
    node: NodeOut
    moved: list[str]


class LabelsIn(BaseModel):
    """Labels to set (a value) or remove (null); the node's other labels stay."""
    model_config = ConfigDict(extra="forbid")
    labels: dict[LabelText, LabelText | None] = Field(max_length=100)


def _out(node: Node, agents: dict | None = None) -> dict:
    seen, reporting = (agents or {}).get(node.id, (None, False))
    return {"id": node.id, "hostname": node.hostname, "role": node.role, "availability": node.availability,
            "state": node.state, "address": node.address, "labels": node.labels, "leader": node.leader,
            "agent": {"seen": seen, "reporting": reporting} if seen else None}


@router.get("/v2/nodes/", response_model=Paged[NodeOut])
def list_nodes(db: DB, _admin: AdminUser):
    agents = agentview.agents(db)
    return listing([_out(n, agents) for n in nodes.listing()])


@router.get("/v2/nodes/{id}/", response_model=NodeDetail)
def get_node(db: DB, _admin: AdminUser, id: str = NODE):
    node, _all = nodes.find(id)
    return {**_out(node, agentview.agents(db)), "apps": nodes.apps_on(node)}


@router.post("/v2/nodes/{id}/drain/", response_model=DrainOut)
def drain(db: DB, _admin: AdminUser, id: str = NODE):
    node, moved = nodes.drain(db, id)
    return {"node": _out(node), "moved": moved}


@router.post("/v2/nodes/{id}/activate/", response_model=NodeOut)
def activate(_admin: AdminUser, id: str = NODE):
    return _out(nodes.activate(id))


@router.post("/v2/nodes/{id}/labels/", response_model=NodeOut)
def label(body: LabelsIn, _admin: AdminUser, id: str = NODE):
    return _out(nodes.label(id, body.labels))
