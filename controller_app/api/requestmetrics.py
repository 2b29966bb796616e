"""Counts each API request for /metrics (services/metrics.py) by the template of the route that answered it.

A pure ASGI middleware: the router records the route it matched in the request's scope, which this reads once
the answer is sent; a path no route matched is counted as `unmatched`, so no label value ever comes from a path.
"""
from __future__ import annotations

import time

from ..services import metrics


class RequestMetrics:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        started = time.perf_counter()
        status = [500]  # an exception that escapes every handler is answered 500 by the server

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.inner(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or metrics.UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "other"
            metrics.requests_total.labels(method, route, str(status[0])).inc()
            metrics.request_seconds.labels(method, route).observe(time.perf_counter() - started)


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
