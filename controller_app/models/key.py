"""SSH public keys users push with; fingerprints are unique across all users."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ._base import Stamped
from .user import User


class Key(Stamped, Base):
    __tablename__ = "keys"
    __table_args__ = (UniqueConstraint("owner_id", "id"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    id: Mapped[str] = mapped_column(String(128))
    public: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # MD5 colon-hex, as Deis
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # "SHA256:..." as sshd says

    owner: Mapped[User] = relationship()
