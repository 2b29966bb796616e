"""Each serving app's endpoints as the node agents report them (services/taskreports.py keeps the reports).

The monitor uses this view when every ready Swarm node has an agent that reports: then the controller neither
lists each app's tasks nor probes them, and its work does not grow with the number of apps at rest.

The agent's `healthy` is its readiness verdict, thresholds applied (agents/slipway_agents/nodeprobes.py: a task
stays healthy through fewer failed probes in a row than its failure threshold, 3 by default), and is trusted:

- An endpoint joins once its node's agent reports its task healthy.
- It leaves at once when its task is reported unhealthy after failed probes, stopping or gone, or its node is
  no longer ready in Swarm.
- A routed endpoint the reports do not vouch for yet (no report at all, or a task not probed yet or not yet
  passing again: failures 0 and not healthy) is probed once from here before it leaves: a deploy checks its
  tasks itself and may route them before the agent's own first probes pass; an ended task's port refuses at
  once.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import NodeAgentSeen, TaskReport

FAILURES_TO_DROP = 3  # the controller's own probes (monitor.py), as the agents' default failure threshold
STALE_HEARTBEATS = 2.5  # an agent silent for this many heartbeats (and 5 s) no longer speaks for its node


class Reported(NamedTuple):
    node: str
    proc_type: str
    port: int | None
    state: str
    healthy: bool
    failures: int


def agents(db: Session, now: dt.datetime | None = None) -> dict[str, tuple[dt.datetime, bool]]:
    """Each node agent that ever reported: Swarm node id -> (its last report, whether it still speaks for its
    node)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = db.execute(select(NodeAgentSeen.node, NodeAgentSeen.seen, NodeAgentSeen.heartbeat)).all()
    return {node: (seen, (now - seen).total_seconds() <= heartbeat * STALE_HEARTBEATS + 5)
            for node, seen, heartbeat in rows}


def reporting_nodes(db: Session) -> set[str]:
    """The Swarm node ids whose agents reported recently enough to be trusted."""
    return {node for node, (_unused, reporting) in agents(db).items() if reporting}


def reports_by_deployment(db: Session) -> dict[tuple[str, int], list[Reported]]:
    """Every reported task, by (app id, deployment)."""
    found: dict[tuple[str, int], list[Reported]] = {}
    columns = (TaskReport.app_id, TaskReport.deployment, TaskReport.node, TaskReport.proc_type, TaskReport.port,
               TaskReport.state, TaskReport.healthy, TaskReport.failures)
    for app_id, deployment, *rest in db.execute(select(*columns)):
        found.setdefault((app_id, deployment), []).append(Reported(*rest))
    return found


def endpoints(routed: Iterable[dict], reports: Iterable[Reported], proc: str | None, addresses: dict[str, str],
              confirm: Callable[[str, int], bool]) -> list[dict]:
    """The endpoints an app should have: `routed` (its endpoints now), `reports` (its serving deployment's tasks),
    `proc` (the routable process type), `addresses` (ready node id -> where its published ports are reached),
    `confirm(address, port)` (one probe from here)."""
    if proc is None:
        return []
    routed_now = {(e["address"], e["port"]) for e in routed}
    keep, ended, doubted = set(), set(), set()
    for r in reports:
        address = addresses.get(r.node)
        if r.proc_type != proc or r.port is None or address is None:
            continue
        where = (address, r.port)
        if r.state != "running" or (not r.healthy and r.failures > 0):
            ended.add(where)
        elif r.healthy:
            keep.add(where)
        elif where in routed_now:
            doubted.add(where)
    unreported = routed_now - keep - ended - doubted
    unreported = {(a, p) for a, p in unreported if a in addresses.values()}  # a node no longer ready: out
    keep |= {where for where in sorted(doubted | unreported) if confirm(*where)}
    return [{"address": a, "port": p} for a, p in sorted(keep)]
