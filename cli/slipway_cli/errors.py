"""The errors the CLI shows its user, and the wording of the controller's answers and of transport failures."""
from __future__ import annotations

from typing import Any


class CLIError(Exception):
    """An error to show the user as `Error: <message>` (exit code 1)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class APIError(CLIError):
    pass


class NotLoggedIn(CLIError):
    pass


def format_detail(detail: Any) -> str:
    """Turn a server `detail` (a string, Deis's {"field": ["message"]} or a list of errors) into one line."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(x) for x in item.get("loc", []) if x not in ("body", "query", "path")]
                msg = item.get("msg") or item.get("message") or str(item)
                parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts) if parts else "invalid request"
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {format_detail(v)}" for k, v in detail.items())
    return str(detail)


def reason(e: Exception) -> str:
    """A short reason from a requests exception, without the long urllib3 object reprs."""
    inner = e.args[0] if e.args else e
    reason = getattr(inner, "reason", None) or inner
    text = str(reason)
    # "<urllib3.connection.HTTPConnection object at 0x..>: Failed to establish a new connection: [Errno 111] ..."
    if "object at 0x" in text and ": " in text:
        text = text.split(": ", 1)[1]
    # "HTTPConnection(host='127.0.0.1', port=1): Failed to establish ..." (the URL is already in the message)
    if text.startswith(("HTTPConnection(", "HTTPSConnection(", "HTTPConnectionPool(", "HTTPSConnectionPool(")) \
            and "): " in text:
        text = text.split("): ", 1)[1]
    return text
