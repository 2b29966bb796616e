"""Health probes the controller runs against task endpoints (so images need no curl).

The controller probes a task's published PORT and nothing else: no tenant can make it probe another port or
host of a node. It runs a readiness probe's `httpGet` and `tcpSocket` handlers on that port; the probes it cannot
run (exec, or another port of the container) are the node agents' (see readiness.py).
"""
from __future__ import annotations

import http.client
import socket

from .. import probes

MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 2.0
FIXED = {"host", "connection", "content-length", "transfer-encoding"}  # headers a probe cannot set
HEADERS = {"User-Agent": "slipway-health", "Host": "health.local", "Connection": "close"}


def runnable(probe: dict | None, port: int) -> bool:
    """Whether the controller runs `probe` itself on a task whose PORT is `port` (no probe: the default check)."""
    return probe is None or probes.on_port(probe, port)


def _connect(address: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        socket.create_connection((address, port), timeout=timeout).close()
    except OSError as exc:
        return False, f"{address}:{port} {type(exc).__name__}"
    return True, f"{address}:{port} accepted a connection"


def _get(address: str, port: int, path: str, headers: dict, timeout: float) -> tuple[int | None, str]:
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        status = answer.status
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return None, f"{address}:{port} {type(exc).__name__}"
    try:  # to its end, up to a bound: closing on unread bytes sends the app a reset, which it logs
        answer.read(MAX_BODY)
    except (OSError, http.client.HTTPException):
        pass  # a page that goes on, or breaks off: its status is the verdict
    finally:
        conn.close()
    return status, f"{address}:{port} answered {status}"


def check(address: str, port: int, probe: dict | None, target: int = 0,
          timeout: float | None = None) -> tuple[bool, str]:
    """One probe of the task at (address, port), as the scheduler published it, whose PORT is `target`:
    (healthy, what happened). `probe`: the type's readiness probe; None is the default check, an HTTP GET / that
    any answer below 500 passes. An httpGet probe passes with 200-399 (its headers sent, but Host and the framing
    headers are the controller's), a tcpSocket probe when the port accepts a connection. A probe the controller
    cannot run (see `runnable`) is replaced by a connection to the port. `timeout` overrides the probe's."""
    kind, spec = probes.handler(probe) if probe else ("", {})
    seconds = float(timeout or (probe or {}).get("timeoutSeconds") or DEFAULT_TIMEOUT)
    if probe is not None and (kind == "tcpSocket" or not runnable(probe, target)):
        return _connect(address, port, seconds)
    headers = dict(HEADERS)
    for header in spec.get("httpHeaders") or []:
        name = header["name"]
        if name.lower() not in FIXED:
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
            headers[name] = header["value"]
    status, message = _get(address, port, spec.get("path", "/"), headers, seconds)
    return status is not None and status < (400 if probe else 500), message
