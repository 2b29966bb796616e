"""The node agents' reports (agents/slipway_agents/nodereport.py): each task's latest state, one row per task.

`record` applies one report in one transaction: each task's row written (a `gone` one deleted), and for a full
report every other row of that node deleted, since a full report lists all the node's tasks; the agent's last
report is kept per node. What the routing depends on changing (a task appearing or leaving, its state,
health, failures in a row or port) is announced on changes.TASKS at commit; usage figures alone (the CPU and
memory every heartbeat brings, a change of a task's CPU rate) are stored without a wake-up.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..models import NodeAgentSeen, TaskReport
from . import changes

WATCHED = ("state", "healthy", "failures", "port")
GONE = "gone"


def _when(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def _row(node: str, task: dict, now: dt.datetime) -> dict:
    return {"task": task["task"], "node": node, "container": task["container"], "app_id": task["app"],
            "deployment": task["deployment"], "proc_type": task["type"], "release": task["release"],
            "port": task["port"], "state": task["state"], "healthy": task["healthy"], "failures": task["failures"],
            "message": task["message"], "checked": _when(task["checked_at"]), "started": task["started_at"],
            "cpu_seconds": task["cpu_seconds"], "cpu_rate": task["cpu_rate"], "memory_bytes": task["memory_bytes"],
            "memory_limit_bytes": task["memory_limit_bytes"], "cpu_limit": task["cpu_limit"], "reported": now}


def record(db: Session, node: str, full: bool, interval: float, heartbeat: float, tasks: list[dict]) -> bool:
    """Store one report; True when something the routing depends on changed (and was announced)."""
    now = dt.datetime.now(dt.timezone.utc)
    ids = [t["task"] for t in tasks]
    where = or_(TaskReport.node == node, TaskReport.task.in_(ids)) if full else TaskReport.task.in_(ids)
    before = {task: row for task, *row in db.execute(
        select(TaskReport.task, *(getattr(TaskReport, k) for k in WATCHED)).where(where))}
    rows = [_row(node, t, now) for t in tasks if t["state"] != GONE]
    ended = {t["task"] for t in tasks if t["state"] == GONE}
    if full:
        ended |= {task for task in before if task not in {r["task"] for r in rows}}
    changed = bool(ended & set(before)) or any(
        tuple(r[k] for k in WATCHED) != tuple(before.get(r["task"], ())) for r in rows)
    if ended:
        db.execute(delete(TaskReport).where(TaskReport.task.in_(ended)))
    if rows:
        statement = insert(TaskReport).values(rows)
        db.execute(statement.on_conflict_do_update(
            index_elements=[TaskReport.task], set_={k: statement.excluded[k] for k in rows[0] if k != "task"}))
    agent = insert(NodeAgentSeen).values(node=node, seen=now, last_full=now if full else None, interval=interval,
                                         heartbeat=heartbeat)
    db.execute(agent.on_conflict_do_update(index_elements=[NodeAgentSeen.node], set_={
        "seen": now, "interval": interval, "heartbeat": heartbeat,
        "last_full": agent.excluded.last_full if full else NodeAgentSeen.last_full}))
    if changed:
        changes.announce(db, changes.TASKS)
    db.commit()
    return changed
