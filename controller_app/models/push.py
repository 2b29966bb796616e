"""Push tokens: what one `git push` may do (read its app's config, push and pull its app's images, register
its build), bound to the user who pushed and the app, for a few minutes. Stored as SHA-256 digests."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class PushToken(Base):
    __tablename__ = "push_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RetiredRepository(Base):
    """A destroyed app's repository in the platform registry whose images are not all gone yet: its name cannot
    be taken by a new app until they are (a new owner would otherwise reach the old owner's images)."""
    __tablename__ = "retired_repositories"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
