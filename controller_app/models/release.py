"""Config snapshots, builds and releases: a release is (build, config), numbered per app."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, literal_column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ._base import Stamped
from .user import User


class Config(Stamped, Base):
    __tablename__ = "configs"

    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    values: Mapped[dict] = mapped_column(JSONB, default=dict)
    memory: Mapped[dict] = mapped_column(JSONB, default=dict)
    cpu: Mapped[dict] = mapped_column(JSONB, default=dict)
    tags: Mapped[dict] = mapped_column(JSONB, default=dict)
    healthcheck: Mapped[dict] = mapped_column(JSONB, default=dict)
    # a private registry's credentials for the app's images: shown masked, kept sealed (services/sealing.py)
    registry: Mapped[dict] = mapped_column(JSONB, default=dict)
    registry_sealed: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[User] = relationship()


class Build(Stamped, Base):
    __tablename__ = "builds"

    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    image: Mapped[str] = mapped_column(String(512))
    sha: Mapped[str] = mapped_column(String(64), default="")
    procfile: Mapped[dict] = mapped_column(JSONB, default=dict)
    dockerfile: Mapped[str] = mapped_column(Text, default="")

    owner: Mapped[User] = relationship()


DEPLOYING, SERVING, FAILED = "deploying", "serving", "failed"  # a release's states (services/releasestate.py)


class Release(Stamped, Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("app_uuid", "version"),  # the few deploying: orphan sweeps, deploy turns
                      Index("ix_releases_deploying", "app_uuid", "version",
                            postgresql_where=literal_column(f"state = '{DEPLOYING}'")))

    app_uuid = mapped_column(ForeignKey("apps.uuid", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    build_uuid = mapped_column(ForeignKey("builds.uuid"), nullable=True)
    config_uuid = mapped_column(ForeignKey("configs.uuid"))
    summary: Mapped[str] = mapped_column(String(512), default="")
    state: Mapped[str] = mapped_column(String(16), default=DEPLOYING)
    exception: Mapped[str] = mapped_column(Text, default="")  # why it failed (Deis's name)

    owner: Mapped[User] = relationship()
    build: Mapped[Build | None] = relationship()
    config: Mapped[Config] = relationship()

    @hybrid_property
    def failed(self) -> bool:
        """Deis's flag: the release failed (it keeps its number, and is never served again)."""
        return self.state == FAILED

    @failed.expression
    def failed(cls):  # pylint: disable=no-self-argument
        # a literal, not a parameter: the fast reads compile it into prepared statements
        return cls.state == literal_column(f"'{FAILED}'")
