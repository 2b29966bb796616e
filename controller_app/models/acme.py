"""Automatic TLS (ACME): the platform's account per directory, domains under automatic certificates, and
the HTTP-01 answers of pending orders (in the database, so any controller process can serve them)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ._base import Stamped
from .domain import Cert, Domain
from .user import User


class AcmeAccount(Base):
    __tablename__ = "acme_accounts"

    directory: Mapped[str] = mapped_column(Text, primary_key=True)  # the ACME directory URL
    key: Mapped[str] = mapped_column(Text)  # the account key as a JWK (JSON)
    uri: Mapped[str | None] = mapped_column(Text, nullable=True)  # the account URL once registered
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AutoCert(Stamped, Base):
    """A domain whose certificate the controller obtains and renews (status: pending, valid, failed)."""

    __tablename__ = "auto_certs"

    domain_uuid = mapped_column(ForeignKey("domains.uuid", ondelete="CASCADE"), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cert_uuid = mapped_column(ForeignKey("certs.uuid", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failures in a row (backoff)
    last_attempt: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_attempt: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    issued: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    domain: Mapped[Domain] = relationship()
    owner: Mapped[User] = relationship()
    cert: Mapped[Cert | None] = relationship()


class AcmeChallenge(Base):
    __tablename__ = "acme_challenges"

    token: Mapped[str] = mapped_column(String(256), primary_key=True)
    key_authorization: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(253))
    expires: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
