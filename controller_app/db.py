"""Database engines and sessions (SQLAlchemy 2, psycopg2).

No ping per checkout (it cost a round trip on every request). Instead a pooled connection is checked for
liveness without talking to the server: an idle PostgreSQL connection has nothing to read unless the server
closed it (a restart sends a FATAL message and closes the socket), so a readable socket at checkout means
"dead: connect again". A server that vanished silently (a host lost) is caught on first use: SQLAlchemy
invalidates the pool, the read path retries once, and `pool_recycle` bounds a connection's age.
"""
from __future__ import annotations

import functools
import re
import select
from typing import Any, Iterator

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .settings import get_settings


class Base(DeclarativeBase):
    pass


def _closed_by_server(dbapi_connection) -> bool:
    if dbapi_connection.closed:
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _new_engine(**options) -> Engine:
    made = create_engine(get_settings().database_url, pool_recycle=1800, **options)

    @event.listens_for(made, "checkout")
    def _alive(dbapi_connection, record, proxy):  # noqa: ARG001 - the event's signature
        if _closed_by_server(dbapi_connection):
            raise exc.DisconnectionError("the server closed this connection")  # the pool connects anew

    return made


_PREPARED: dict[str, str] = {}  # name -> statement, prepared on every new read connection


def prepared(name: str, sql: str) -> str:
    """Register a statement that every read connection prepares once (PostgreSQL then skips parsing
    and planning per call); returns the EXECUTE to send, with the same named parameters."""
    _PREPARED[name] = sql
    params = re.findall(r"%\((\w+)\)s", sql)
    return f"EXECUTE {name}({', '.join(f'%({p})s' for p in dict.fromkeys(params))})"


def _prepare(dbapi_connection, record) -> None:  # noqa: ARG001 - the event's signature
    with dbapi_connection.cursor() as cur:
        for name, sql in _PREPARED.items():
            params = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
            positional = re.sub(r"%\((\w+)\)s", lambda m: f"${params.index(m.group(1)) + 1}", sql)
            cur.execute(f"PREPARE {name} AS {positional}")
    dbapi_connection.commit()


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    return _new_engine(pool_size=10, max_overflow=20)


@functools.lru_cache(maxsize=1)
def read_engine() -> Engine:
    """Autocommit connections for single-statement reads: no BEGIN and no ROLLBACK round trips."""
    made = _new_engine(pool_size=10, max_overflow=20, isolation_level="AUTOCOMMIT")
    event.listen(made, "connect", _prepare)
    return made


def read_rows(sql: str, params: dict[str, Any]) -> list[Row]:
    """One statement, one round trip; retried once on a connection the server dropped under us."""
    for attempt in (1, 2):
        try:
            with read_engine().connect() as conn:
                return conn.exec_driver_sql(sql, params).all()
        except exc.DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    return []  # not reached


def read_one(sql: str, params: dict[str, Any]) -> Row | None:
    rows = read_rows(sql, params)
    return rows[0] if rows else None


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
