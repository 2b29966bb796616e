"""The controller's ASGI app: `uvicorn controller_app.main:app`."""
from __future__ import annotations

import contextlib
import gc
import logging
import threading

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError

from . import __version__
from .api.routers import (acme, apps, auth, builds, certs, config, domains, health, hooks, images, keys, metrics,
                          nodereports, nodes, perms, pods, releases, routes, settings, whitelist)
from .api.clientaddr import RealClient
from .api.readretry import ReadRetry, database_down
from .api.requestmetrics import RequestMetrics
from .api.errors import service_error_handler, validation_error_handler
from .dashboard import site as dashboard
from .db import session_factory
from .schemas.common import ERRORS
from .services import autoscale, deploy, monitor, revive
from .services.errors import ServiceError
from .settings import get_settings

log = logging.getLogger("slipway")
API_HEADERS = {"DEIS_API_VERSION": "2.3", "DEIS_PLATFORM_VERSION": __version__}


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    stop = threading.Event()
    s = get_settings()
    if s.scheduler != "none":
        try:
            with session_factory()() as db:
                failed = deploy.recover(db)
            if failed:
                log.warning("%d deploys interrupted by a restart were marked failed", failed)
        except Exception:  # noqa: BLE001 - a scheduler outage must not keep the API down
            log.exception("could not recover interrupted deploys")
        if s.monitor_interval > 0:
            monitor.start(s.monitor_interval, stop)
        if s.autoscale_interval > 0:
            autoscale.start(s.autoscale_interval, s.autoscale_up_window, s.autoscale_down_window, stop)
        if s.revive_interval > 0:
            revive.start(s.revive_interval, stop)
    gc.freeze()  # start-up objects leave the collector's view: no 50-90 ms full collections under load
    yield
    stop.set()


app = FastAPI(title="Slipway controller", version=__version__, lifespan=lifespan,
              description="Deis Workflow v2 compatible controller API.")
for module in (health, auth, apps, config, builds, releases, pods, domains, acme, certs, keys, perms, settings,
               hooks, routes, images, nodes, nodereports, whitelist, metrics):
    app.include_router(module.router, responses=ERRORS)
app.mount("/dashboard", dashboard.app)  # the web dashboard: HTML pages over the same services (dashboard/)


class ApiVersionHeaders:
    """Pure ASGI middleware (cheaper than @app.middleware): Deis clients check these on every answer."""

    raw = [(k.encode(), v.encode()) for k, v in API_HEADERS.items()]

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.raw}
            await send(message)

        await self.inner(scope, receive, send_with_headers)


app.add_middleware(ReadRetry)  # innermost of ours: a retried read is counted and logged once
app.add_middleware(RequestMetrics)  # it reads the route the router matched
app.add_middleware(ApiVersionHeaders)
app.add_middleware(RealClient)  # outermost: everything after it sees the real client


app.add_exception_handler(ServiceError, service_error_handler)


@app.exception_handler(IntegrityError)
async def integrity_error(_request: Request, exc: IntegrityError):
    return JSONResponse({"detail": "This conflicts with an existing resource."}, status_code=409)


app.add_exception_handler(OperationalError, database_down)


app.add_exception_handler(RequestValidationError, validation_error_handler)
