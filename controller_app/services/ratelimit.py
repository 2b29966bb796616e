"""Login throttling, kept in this process: sliding one-minute windows of failed attempts per client address
and per (client address, username). A client that fails too often is refused; the same username from any
other client is not, so nobody can lock a user out by guessing their password."""
from __future__ import annotations

import collections
import threading
import time

_lock = threading.Lock()
_hits: dict[tuple, collections.deque] = {}


class Attempt:
    """An attempt counted in its windows until `forgive` (a successful login does not count)."""

    def __init__(self, keys: tuple, stamp: float):
        self.keys, self.stamp = keys, stamp


def begin(client: str, username: str, per_user: int, per_client: int) -> Attempt | None:
    """Count an attempt (before the password is checked, so parallel guesses count too); None when refused."""
    now = time.monotonic()
    keys = ((client,), (client, username.lower()))
    with _lock:
        if len(_hits) > 100_000:
            _hits.clear()
        windows = [_hits.setdefault(key, collections.deque()) for key in keys]
        for window in windows:
            while window and now - window[0] > 60:
                window.popleft()
        if len(windows[0]) >= per_client or len(windows[1]) >= per_user:
            return None
        for window in windows:
            window.append(now)
    return Attempt(keys, now)


def forgive(attempt: Attempt) -> None:
    with _lock:
        for key in attempt.keys:
            window = _hits.get(key)
            if window is not None and attempt.stamp in window:
                window.remove(attempt.stamp)
