"""Health probes the controller runs against task endpoints (so images need no curl)."""
from __future__ import annotations

import http.client

MAX_BODY = 1024 * 1024
DEFAULT = {"path": "/", "timeout": 2, "interval": 1, "initial_delay": 0, "healthy_threshold": 1}


def check(address: str, port: int, spec: dict | None) -> tuple[bool, str]:
    """HTTP GET on the task's endpoint, (address, port) as the scheduler published it, and nowhere else: a
    `port` a check may hold (stored before it was refused) is ignored, so no tenant can make the controller
    probe other services of a node. With an explicit path, 200-399 is healthy; by default any answer < 500."""
    explicit = bool(spec and "path" in spec)
    spec = {**DEFAULT, **(spec or {})}
    conn = http.client.HTTPConnection(address, port, timeout=float(spec["timeout"]))
    try:
        conn.request("GET", spec["path"], headers={"User-Agent": "slipway-health", "Host": "health.local",
                                                   "Connection": "close"})
        answer = conn.getresponse()
        status = answer.status
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return False, f"{address}:{port} {type(exc).__name__}"
    try:  # to its end, up to a bound: closing on unread bytes sends the app a reset, which it logs
        answer.read(MAX_BODY)
    except (OSError, http.client.HTTPException):
        pass  # a page that goes on, or breaks off: its status is the verdict
    finally:
        conn.close()
    return status < (400 if explicit else 500), f"{address}:{port} answered {status}"
