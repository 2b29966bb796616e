"""What the node agents report: each task's latest state on its node, and when each agent last reported."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class TaskReport(Base):
    """One running task as its node's agent last reported it (services/taskreports.py). A task that ends, or
    that a full report of its node leaves out, loses its row."""

    __tablename__ = "task_reports"
    __table_args__ = (Index("ix_task_reports_app_deployment", "app_id", "deployment"),)

    task: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Swarm task id
    node: Mapped[str] = mapped_column(String(64), index=True)  # the Swarm node id
    container: Mapped[str] = mapped_column(String(64))
    app_id: Mapped[str] = mapped_column(String(63))
    deployment: Mapped[int] = mapped_column(Integer)
    proc_type: Mapped[str] = mapped_column(String(30))
    release: Mapped[int] = mapped_column(Integer)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)  # published host port (routable types)
    state: Mapped[str] = mapped_column(String(16))  # running | stopping
    healthy: Mapped[bool] = mapped_column(Boolean)
    failures: Mapped[int] = mapped_column(Integer)  # failed probes in a row
    message: Mapped[str] = mapped_column(Text, default="")
    checked: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started: Mapped[str] = mapped_column(String(64), default="")
    cpu_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # a counter since the task started
    cpu_rate: Mapped[float | None] = mapped_column(Float, nullable=True)  # cores used, over the agent's last interval
    memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # working set
    memory_limit_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    cpu_limit: Mapped[float] = mapped_column(Float, default=0.0)
    reported: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NodeAgentSeen(Base):
    """A node agent's last report: a node whose agent stays silent past a few heartbeats is not reporting."""

    __tablename__ = "node_agents"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_full: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    interval: Mapped[float] = mapped_column(Float)
    heartbeat: Mapped[float] = mapped_column(Float)
