"""Columns every Deis-style resource carries: a uuid, created and updated times."""
from __future__ import annotations

import datetime as dt
import uuid as uuidlib

from sqlalchemy import DateTime, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Stamped:
    uuid: Mapped[uuidlib.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuidlib.uuid4)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=now)
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), default=now,
                                                 onupdate=now)
