"""The database engine and sessions (SQLAlchemy 2, psycopg2); the hottest reads use asyncreads.py.

No ping per checkout (it cost a round trip on every request). Instead a pooled connection is checked for
liveness without talking to the server: an idle PostgreSQL connection has nothing to read unless the server
closed it (a restart sends a FATAL message and closes the socket), so a readable socket at checkout means
"dead: connect again". A server that vanished silently (a host lost) is caught on first use: SQLAlchemy
invalidates the pool, and `pool_recycle` bounds a connection's age.

A restart of PostgreSQL (a converge that changes a setting read at start does one) refuses connections for a
second or a few. Every new connection keeps trying for `database_restart_wait` seconds, so requests sent then
wait for the database instead of failing.
"""
from __future__ import annotations

import contextlib
import functools
import select
import time
from typing import Callable, Iterator, TypeVar

import psycopg2
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .settings import get_settings


T = TypeVar("T")
RETRY_PAUSE = 0.1  # seconds between two tries of a refused connection


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


def restart_deadline() -> float:
    """When a connection being made stops waiting for a database that refuses it (time.monotonic())."""
    return time.monotonic() + get_settings().database_restart_wait


def connect_waiting(connect: Callable[[], T]) -> T:
    """connect(), tried again while the server refuses connections, until restart_deadline()."""
    deadline = restart_deadline()
    while True:
        try:
            return connect()
        except psycopg2.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_PAUSE)


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    made = create_engine(get_settings().database_url, pool_size=10, max_overflow=20, pool_recycle=1800)

    @event.listens_for(made, "do_connect")
    def _connect(dialect, _record, cargs, cparams):  # the event's signature
        return connect_waiting(lambda: dialect.loaded_dbapi.connect(*cargs, **cparams))

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
