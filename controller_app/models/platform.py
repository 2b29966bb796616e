"""Platform-wide state: deployments, routing generation, router acknowledgements, settings."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class Deployment(Base):
    """One attempt to make a release serve with a structure; its services carry its id."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    release_version: Mapped[int] = mapped_column(Integer)
    structure: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|succeeded|draining|failed|retired
    reason: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")  # what made it: "v7 by alice", "scale by bob: web=2", ...
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # the time of the change itself (now() is its transaction's start, which a deploy's session may open early)
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.clock_timestamp())


class RoutingState(Base):
    """A single row: the generation bumps whenever anything the router renders changes."""

    __tablename__ = "routing_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=1)


class RouterAck(Base):
    __tablename__ = "router_acks"

    router: Mapped[str] = mapped_column(String(128), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PlatformSetting(Base):
    __tablename__ = "platform_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSONB)
