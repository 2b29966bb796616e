"""The database engine and sessions (SQLAlchemy 2, psycopg2); the hottest reads use asyncreads.py.

No ping per checkout (it cost a round trip on every request). Instead a pooled connection is checked for
liveness without talking to the server: an idle PostgreSQL connection has nothing to read unless the server
closed it (a restart sends a FATAL message and closes the socket), so a readable socket at checkout means
"dead: connect again". A server that vanished silently (a host lost) is caught on first use: SQLAlchemy
invalidates the pool, and `pool_recycle` bounds a connection's age.
"""
from __future__ import annotations

import contextlib
import functools
import select
from typing import Iterator

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .settings import get_settings


class Base(DeclarativeBase):
    pass


def closed_by_server(dbapi_connection) -> bool:
    """True when an idle psycopg2 connection can no longer be used (no round trip: see above)."""
    if dbapi_connection.closed:
        return True
    try:
        readable, _unused, _unused = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def libpq_dsn() -> str:
    """The database URL for psycopg2 itself (without SQLAlchemy's driver name)."""
    url = make_url(get_settings().database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    made = create_engine(get_settings().database_url, pool_size=10, max_overflow=20, pool_recycle=1800)

    @event.listens_for(made, "checkout")
    def _alive(dbapi_connection, _record, _proxy):  # the event's signature
        if closed_by_server(dbapi_connection):
            raise exc.DisconnectionError("the server closed this connection")  # the pool connects anew

    return made


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


@contextlib.contextmanager
def one_at_a_time(key: int) -> Iterator[bool]:
    """Hold the cluster-wide advisory lock `key` for the block, if no other process does: the block gets True
    when it holds it (a background pass that one controller process at a time makes), False otherwise."""
    with engine().connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
