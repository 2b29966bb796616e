"""Wake-ups across controller processes through PostgreSQL LISTEN/NOTIFY.

Writers `announce(db, channel)` inside their transaction (PostgreSQL delivers at commit). One listener
thread per process holds a connection that LISTENs and bumps a counter per channel; waiters take `mark()`
before they read the state they wait on, then `wait(channel, mark, timeout)` (a thread) or
`await wait_async(channel, mark, timeout)` (a coroutine: the long polls, which hold no thread while they wait)
returns as soon as anything was announced since (so nothing announced in between is missed). The listener
thread wakes coroutines through their event loop's `call_soon_threadsafe`. A waiter still re-reads its state
at its own fallback interval: while the listener reconnects, nothing is announced to it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import threading
from typing import Awaitable, Callable, TypeVar

import psycopg2
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..db import libpq_dsn

log = logging.getLogger("slipway.changes")
T = TypeVar("T")
ROUTES = "slipway_routes"  # the routing generation moved
ACKS = "slipway_acks"  # a router acknowledged a generation
RELEASES = "slipway_releases"  # a release's state changed
TASKS = "slipway_tasks"  # a node agent reported a task's change (services/taskreports.py)
CHANNELS = (ROUTES, ACKS, RELEASES, TASKS)
RECHECK = 1.0  # seconds: a long poll re-reads its state at least this often (the wake-up is the fast path)

_cond = threading.Condition()
_counts = dict.fromkeys(CHANNELS, 0)
_futures: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = {c: set() for c in CHANNELS}
_thread: threading.Thread | None = None
_stopping = False


def stop_waiting() -> None:
    """The process is stopping: every long poll answers now with what it has (a route sync's "no change"),
    rather than hold the process's exit up to its wait."""
    global _stopping  # pylint: disable=global-statement
    _stopping = True
    _wake(CHANNELS)


def announce(db: Session, channel: str) -> None:
    db.execute(text(f"NOTIFY {channel}"))


def poke(channel: str) -> None:
    """Wake this process's waiters on `channel` (a change seen here first, such as a Swarm event)."""
    _wake((channel,))


def mark(channel: str) -> int:
    _ensure_listener()
    with _cond:
        return _counts[channel]


def wait(channel: str, since: int, timeout: float) -> bool:
    """True once `channel` was announced after `since` (a mark()); False after `timeout` seconds."""
    with _cond:
        return _cond.wait_for(lambda: _counts[channel] != since, timeout)


async def wait_async(channel: str, since: int, timeout: float) -> bool:
    """As `wait`, on the event loop."""
    loop = asyncio.get_running_loop()
    waiter = (loop, loop.create_future())
    with _cond:
        if _counts[channel] != since:
            return True
        _futures[channel].add(waiter)
    try:
        done, _unused = await asyncio.wait((waiter[1],), timeout=timeout)
        return bool(done)
    finally:
        with _cond:
            _futures[channel].discard(waiter)


async def until(channel: str, read: Callable[[], Awaitable[T]], settled: Callable[[T], bool], wait: float) -> T:
    """A long poll: `read()` until `settled(value)` or `wait` seconds have passed, woken by `channel`'s
    announcements and re-reading at least every RECHECK seconds anyway; the last value read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        since = mark(channel)
        value = await read()
        left = deadline - loop.time()
        if settled(value) or left <= 0 or _stopping:
            return value
        await wait_async(channel, since, min(left, RECHECK))


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _listen(retry: float = 1.0) -> None:
    while True:
        conn = None
        try:
            conn = psycopg2.connect(libpq_dsn())
            conn.autocommit = True
            with conn.cursor() as cur:
                for channel in CHANNELS:
                    cur.execute(f"LISTEN {channel}")
            _wake(CHANNELS)  # anything may have changed while nobody listened
            while True:
                if select.select([conn], [], [], 30)[0]:
                    conn.poll()
                    heard = {n.channel for n in conn.notifies}
                    conn.notifies.clear()
                    _wake(heard)
        except Exception as exc:  # noqa: BLE001 - a database restart: listen again shortly
            log.warning("change listener: %s; listening again in %ss", type(exc).__name__, retry)
        finally:
            if conn is not None:
                conn.close()
        threading.Event().wait(retry)


def _wake(channels) -> None:
    with _cond:
        for channel in channels:
            if channel in _counts:
                _counts[channel] += 1
                for loop, future in _futures[channel]:
                    with contextlib.suppress(RuntimeError):  # its loop closed (the process is stopping)
                        loop.call_soon_threadsafe(_resolve, future)
        _cond.notify_all()


def _ensure_listener() -> None:
    global _thread
    if _thread is not None:
        return
    with _cond:
        if _thread is None:
            _thread = threading.Thread(target=_listen, name="slipway-changes", daemon=True)
            _thread.start()
