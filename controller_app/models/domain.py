"""Domains an app answers on, and TLS certificates attached to them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ._base import Stamped
from .user import User


class Cert(Stamped, Base):
    __tablename__ = "certs"

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(253), unique=True)
    certificate: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    common_name: Mapped[str] = mapped_column(String(253), default="")
    san: Mapped[list] = mapped_column(JSONB, default=list)
    fingerprint: Mapped[str] = mapped_column(String(128))
    issuer: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    starts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    owner: Mapped[User] = relationship()
    domains: Mapped[list["Domain"]] = relationship(back_populates="cert")


class Domain(Stamped, Base):
    __tablename__ = "domains"

    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    cert_uuid = mapped_column(ForeignKey("certs.uuid", ondelete="SET NULL"), nullable=True)

    owner: Mapped[User] = relationship()
    cert: Mapped[Cert | None] = relationship(back_populates="domains")
