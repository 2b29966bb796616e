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
