"""/v2/routes: what the router sync renders (authenticated by the router key: it carries cert keys).

The long poll waits on the event loop (no thread per waiting router): the generation is a fast read there, and
only the brief ORM work (marking the router alive, rendering the routes) goes to the thread pool.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ...db import session_factory
from ...schemas.common import In
from ...services import changes, fastreads, routing
from ..deps import DB, router_auth

router = APIRouter(tags=["routes"], dependencies=[Depends(router_auth)])


class AckIn(In):
    router: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    generation: int = Field(ge=0, le=2**62)


def _touch(router: str) -> None:
    with session_factory()() as db:
        routing.touch(db, router)


def _view() -> dict:
    with session_factory()() as db:
        return routing.view(db)


@router.get("/v2/routes", responses={304: {"description": "Unchanged since `generation`"}})
async def routes(response: Response, generation: int | None = Query(None, ge=0, le=2**62),
                 wait: float = Query(0, ge=0, le=60),
                 router: str | None = Query(None, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")):
    """Every routable app; with `generation` and `wait`, answers when the routes differ from that one.

    A router that names itself stays counted as live while it polls (deploys wait for its ack)."""
    if router:
        await run_in_threadpool(_touch, router)
    current = await changes.until(changes.ROUTES, fastreads.routes_generation,
                                  lambda now: generation is None or now != generation, wait)
    if generation is not None and current == generation:
        return Response(status_code=304, headers={"ETag": f'"{current}"'})
    body = await run_in_threadpool(_view)
    response.headers["ETag"] = f'"{body["generation"]}"'
    return body


@router.post("/v2/routes/ack/", status_code=204)
def ack(body: AckIn, db: DB):
    routing.record_ack(db, body.router, body.generation)
