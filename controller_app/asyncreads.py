"""The hottest reads on the event loop itself: psycopg2 asynchronous connections, no worker thread.

A read is one prepared statement (`prepared` registers it; every connection prepares it once, so
PostgreSQL skips parsing and planning per call) on an autocommit connection: one round trip, and the
request never leaves the event loop (no hand-over to a thread and back, which under load cost more than
the query). A small pool per event loop; an idle connection found readable was closed by the server
(db.closed_by_server) and is replaced; a statement whose connection broke is retried once on a new one, and a
new connection waits for a restarting server as the pool's do (db.restart_deadline).
Failures reach the caller as SQLAlchemy's OperationalError, which the app answers with 503.
"""
from __future__ import annotations

import asyncio
import re
import time

import psycopg2
import psycopg2.extensions as ext
from sqlalchemy import exc

from .db import RETRY_PAUSE, closed_by_server, libpq_dsn, restart_deadline

SIZE = 10  # connections per event loop (and so concurrent reads)
TIMEOUT = 30.0  # seconds for one read, connecting included
PARAM = re.compile(r"%\((\w+)\)s")

_statements: dict[str, str] = {}  # name -> PREPARE statement
_pools: dict[int, "_Pool"] = {}


def prepared(name: str, sql: str) -> str:
    """Register `sql` (with %(name)s parameters) as prepared statement `name`; returns the EXECUTE to send
    with the same parameters."""
    params = list(dict.fromkeys(PARAM.findall(sql)))
    _statements[name] = f"PREPARE {name} AS " + PARAM.sub(lambda m: f"${params.index(m.group(1)) + 1}", sql)
    return f"EXECUTE {name}" + (f"({', '.join(f'%({p})s' for p in params)})" if params else "")


async def rows(sql: str, params: dict) -> list[tuple]:
    loop = asyncio.get_running_loop()
    pool = _pools.get(id(loop))
    if pool is None:
        pool = _pools[id(loop)] = _Pool()
    try:
        return await asyncio.wait_for(pool.rows(sql, params), TIMEOUT)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:  # could not connect: server down
        raise exc.OperationalError(sql, params, error) from None
    except asyncio.TimeoutError:
        raise exc.OperationalError(sql, params, TimeoutError("the database did not answer in time")) from None


async def _ready(conn) -> None:
    """Wait, on the event loop, until the connection's current operation has completed."""
    loop = asyncio.get_running_loop()
    while (state := conn.poll()) != ext.POLL_OK:
        waiter = loop.create_future()
        fd = conn.fileno()
        add, remove = ((loop.add_reader, loop.remove_reader) if state == ext.POLL_READ
                       else (loop.add_writer, loop.remove_writer))
        add(fd, lambda: waiter.done() or waiter.set_result(None))
        try:
            await waiter
        finally:
            remove(fd)


async def _execute(conn, sql: str, params: dict | None = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        await _ready(conn)
        return cur.fetchall() if cur.description else []


class _Pool:
    def __init__(self) -> None:
        self.idle: list = []
        self.slots = asyncio.Semaphore(SIZE)

    async def _connect(self):
        deadline = restart_deadline()  # a restarting server refuses connections for a moment: wait for it
        while True:
            conn = None
            try:
                conn = psycopg2.connect(libpq_dsn(), async_=1)
                await _ready(conn)
                break
            except psycopg2.OperationalError:
                if conn is not None:
                    conn.close()
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(RETRY_PAUSE)
        for statement in _statements.values():
            await _execute(conn, statement)
        return conn

    async def _take(self):
        while self.idle:
            conn = self.idle.pop()
            if not closed_by_server(conn):
                return conn
            conn.close()
        return await self._connect()

    def drop_idle(self) -> None:
        while self.idle:
            self.idle.pop().close()

    async def rows(self, sql: str, params: dict) -> list[tuple]:
        async with self.slots:
            for attempt in (1, 2):
                conn = await self._take()
                try:
                    found = await _execute(conn, sql, params)
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                    conn.close()
                    self.drop_idle()  # a restarted server dropped them all: the retry connects anew
                    if attempt == 2:
                        raise exc.OperationalError(sql, params, error) from None
                    continue
                except BaseException:
                    conn.close()  # cancelled or failed mid-statement: its state is unknown
                    raise
                self.idle.append(conn)
                return found
        return []  # not reached
