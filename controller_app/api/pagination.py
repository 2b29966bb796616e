"""Deis list bodies: {count, next, previous, results} with limit/offset."""
from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import Depends, Query, Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


class Page:
    def __init__(self, limit: int, offset: int):
        self.limit, self.offset = limit, offset


async def page_params(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=2**31 - 1)) -> Page:
    return Page(limit, offset)  # async: FastAPI runs it on the event loop, not on a worker thread


PageDep = Annotated[Page, Depends(page_params)]


def _link(request: Request, limit: int, offset: int) -> str:
    return str(request.url.include_query_params(limit=limit, offset=offset))


def body(request: Request, page: Page, count: int, results: list[dict]) -> dict:
    """A Deis list body for one page of `count` items."""
    nxt = _link(request, page.limit, page.offset + page.limit) if page.offset + page.limit < count else None
    prev = _link(request, page.limit, max(page.offset - page.limit, 0)) if page.offset > 0 else None
    return {"count": count, "next": nxt, "previous": prev, "results": results}


def paginate(db: Session, request: Request, page: Page, query: Select, render: Callable[[Any], dict]) -> dict:
    count = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.scalars(query.limit(page.limit).offset(page.offset)).all()
    return body(request, page, count, [render(r) for r in rows])


def app_rows(db: Session, request: Request, page: Page, app: Any, model: Any, order: Any,
             render: Callable[[Any, str], dict]) -> dict:
    """One page of an app's rows of `model` (builds, releases, domains) in `order`, each rendered with the app's
    id."""
    query = select(model).where(model.app_uuid == app.uuid).order_by(order)
    return paginate(db, request, page, query, lambda row: render(row, app.id))


def listing(items: list[dict]) -> dict:
    """A list that is not backed by a query (pods, perms): one page holding everything."""
    return {"count": len(items), "next": None, "previous": None, "results": items}
