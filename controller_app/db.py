"""Database engine and sessions (SQLAlchemy 2, psycopg2)."""
from __future__ import annotations

import functools
from typing import Iterator

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .settings import get_settings


class Base(DeclarativeBase):
    pass


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    # pool_pre_ping: a restarted PostgreSQL costs one failed checkout, not a controller restart.
    return create_engine(get_settings().database_url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         pool_recycle=1800)


@functools.lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=engine(), expire_on_commit=False)


def get_db() -> Iterator[Session]:
    """FastAPI dependency: one session per request, rolled back on error."""
    session = session_factory()()
    try:
        yield session
    finally:
        session.close()
