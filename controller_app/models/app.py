"""An app: its owner, collaborators, scale and routing settings."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ._base import Stamped
from .user import User


class App(Stamped, Base):
    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(String(63), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    structure: Mapped[dict] = mapped_column(JSONB, default=dict)
    # settings (no release): what the router does with the app
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    routable: Mapped[bool] = mapped_column(Boolean, default=True)
    enforce_https: Mapped[bool] = mapped_column(Boolean, default=False)
    whitelist: Mapped[list] = mapped_column(JSONB, default=list)
    label: Mapped[dict] = mapped_column(JSONB, default=dict)  # free key/value labels (Deis's labels:set)
    # {"<type>": {"min": N, "max": M, "cpu_percent": P}}: the types the autoscaler sizes (services/autoscale.py)
    autoscale: Mapped[dict] = mapped_column(JSONB, default=dict)
    # what the scheduler last made serve: the router's upstreams are exactly these endpoints
    current_deployment: Mapped[int | None] = mapped_column(Integer, nullable=True)
    endpoints: Mapped[list] = mapped_column(JSONB, default=list)

    owner: Mapped[User] = relationship()
    collaborators: Mapped[list["Collaborator"]] = relationship(cascade="all, delete-orphan")


class Collaborator(Base):
    __tablename__ = "collaborators"
    __table_args__ = (UniqueConstraint("app_uuid", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()
