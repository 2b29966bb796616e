"""The real client behind the routers: one rule for everything that reads `request.client` (login throttling,
logs) and the URL scheme.

The socket peer is the client, unless it is a trusted proxy (setting SLIPWAY_TRUSTED_PROXIES, the routers;
default loopback). Then the client is what the proxies forwarded: reading X-Forwarded-For from the right, the
first address that is not itself a trusted proxy (what lies left of it came from the client and is not
believed), else X-Real-IP; and the scheme is X-Forwarded-Proto. uvicorn runs with --no-proxy-headers so that
this middleware sees the socket peer.
"""
from __future__ import annotations

import ipaddress

from ..settings import get_settings


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def real_client(peer: str, headers: dict[str, str], trusted: tuple) -> str:
    """The client address, from the socket peer and the request's (lowercase) headers."""
    if not _trusted(peer, trusted):
        return peer
    forwarded = [a.strip() for a in headers.get("x-forwarded-for", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if not _trusted(address, trusted):
            return address
    if forwarded:
        return forwarded[0]
    return headers.get("x-real-ip", "").strip() or peer


class RealClient:
    """Pure ASGI middleware: sets scope["client"] (and the scheme) to the real client's."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            peer, port = scope["client"]
            trusted = get_settings().trusted_proxies
            if _trusted(peer, trusted):
                headers: dict[str, str] = {}
                for key, value in scope.get("headers", ()):
                    name = key.decode("latin-1").lower()
                    if name in ("x-forwarded-for", "x-real-ip", "x-forwarded-proto"):
                        text = value.decode("latin-1")
                        headers[name] = f"{headers[name]},{text}" if name in headers else text
                scope = {**scope, "client": (real_client(peer, headers, trusted), port)}
                proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else ("wss" if proto == "https" else "ws")
        await self.inner(scope, receive, send)
