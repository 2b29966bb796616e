"""/v2/hooks/nodes/report/: the node agents' reports of their tasks (X-Slipway-Node-Auth, services/taskreports.py).

Every field is checked as the agent writes it (agents/slipway_agents/nodereport.py describes the report): ids as
Swarm and the Engine make them, app ids by the controller's rule, process types by the scheduler's, ports
1-65535. A report that is wrong anywhere is refused whole (400), so the agent sends it again in full.
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field, model_validator

from ...appid import APP_ID_PATTERN
from ...schemas.common import In
from ...services import taskreports
from ...services.names import PROC_TYPE
from ..deps import DB, node_auth

router = APIRouter(tags=["hooks"], dependencies=[Depends(node_auth)])
SWARM_ID = r"^[a-z0-9]{1,64}$"
MAX_TASKS = 10_000  # tasks of one node in one report
TOO_LONG = 2**31 - 1


class TaskIn(In):
    model_config = ConfigDict(strict=True)  # numbers as numbers, booleans as booleans: what the agent writes

    task: str = Field(pattern=SWARM_ID)
    container: str = Field(pattern=r"^[0-9a-f]{64}$")
    app: str = Field(max_length=63, pattern=APP_ID_PATTERN)
    deployment: int = Field(ge=1, le=TOO_LONG)
    type: str = Field(pattern=PROC_TYPE.pattern)
    release: int = Field(ge=0, le=TOO_LONG)
    port: int | None = Field(None, ge=1, le=65535)
    state: Literal["running", "stopping", "gone"]
    healthy: bool
    failures: int = Field(ge=0, le=TOO_LONG)
    message: str = Field("", max_length=500)
    checked_at: float | None = Field(None, ge=0, le=1e11)
    started_at: str = Field("", max_length=64, pattern=r"^[0-9A-Za-z:.+-]*$")
    cpu_seconds: float | None = Field(None, ge=0, le=1e12)
    cpu_rate: float | None = Field(None, ge=0, le=1e6)  # cores, over the agent's last usage interval
    memory_bytes: int | None = Field(None, ge=0, le=2**62)
    memory_limit_bytes: int = Field(0, ge=0, le=2**62)
    cpu_limit: float = Field(0.0, ge=0, le=1e6)


class ReportIn(In):
    model_config = ConfigDict(strict=True)

    node: str = Field(pattern=SWARM_ID)
    full: bool
    at: float | None = Field(None, ge=0, le=1e11)
    interval: float = Field(2.0, gt=0, le=3600)
    heartbeat: float = Field(30.0, gt=0, le=86400)
    tasks: list[TaskIn] = Field(max_length=MAX_TASKS)

    @model_validator(mode="after")
    def _once_each(self):
        if len({t.task for t in self.tasks}) != len(self.tasks):
            raise ValueError("a task is listed twice")
        return self


@router.post("/v2/hooks/nodes/report/", status_code=204)
def report(body: ReportIn, db: DB):
    taskreports.record(db, body.node, body.full, body.interval, body.heartbeat,
                       [t.model_dump() for t in body.tasks])
