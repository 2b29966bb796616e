"""Login throttling: a sliding window per (client, username), kept in this process."""
from __future__ import annotations

import collections
import threading
import time

_lock = threading.Lock()
_hits: dict[tuple[str, str], collections.deque] = {}


def allow(client: str, username: str, per_minute: int) -> bool:
    now = time.monotonic()
    with _lock:
        if len(_hits) > 100_000:
            _hits.clear()
        window = _hits.setdefault((client, username.lower()), collections.deque())
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= per_minute:
            return False
        window.append(now)
        return True
