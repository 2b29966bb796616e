"""What the router renders, its generation counter, and routers' acknowledgements."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..db import session_factory
from ..models import App, Domain, RouterAck, RoutingState
from ..settings import get_settings
from . import changes

ACK_RECHECK = 0.5  # seconds: a deploy re-reads acks at least this often (the wake-up is the fast path)


def bump(db: Session) -> int:
    """Mark routes changed; commits with the caller's transaction (waiting routers wake at commit)."""
    gen = db.execute(update(RoutingState).values(generation=RoutingState.generation + 1)
                     .returning(RoutingState.generation)).scalar_one()
    changes.announce(db, changes.ROUTES)
    return gen


def generation(db: Session) -> int:
    return db.scalar(select(RoutingState.generation)) or 0


def view(db: Session) -> dict:
    gen = generation(db)
    apps = db.scalars(select(App).where(App.routable.is_(True)).order_by(App.id)).all()
    domains = db.scalars(select(Domain).options(selectinload(Domain.cert))).all()
    by_app: dict = {}
    for d in domains:
        by_app.setdefault(d.app_uuid, []).append(d)
    out = []
    for app in apps:
        mine = sorted(by_app.get(app.uuid, []), key=lambda d: d.domain)
        out.append({
            "id": app.id,
            "domains": [d.domain for d in mine],
            "certs": {d.domain: {"certificate": d.cert.certificate, "key": d.cert.key} for d in mine if d.cert},
            "whitelist": app.whitelist or [],
            "maintenance": app.maintenance,
            "enforce_https": app.enforce_https,
            "endpoints": app.endpoints or [],
        })
    return {"generation": gen, "apps": out}


def touch(db: Session, router: str) -> None:
    """A router polled: it is alive (its applied generation does not change)."""
    ack = db.get(RouterAck, router)
    if ack is not None:
        ack.seen = dt.datetime.now(dt.timezone.utc)
        db.commit()


def record_ack(db: Session, router: str, gen: int) -> None:
    ack = db.get(RouterAck, router)
    now = dt.datetime.now(dt.timezone.utc)
    if ack is None:
        db.add(RouterAck(router=router, generation=gen, seen=now))
    else:
        ack.generation, ack.seen = max(ack.generation, gen), now
    changes.announce(db, changes.ACKS)
    db.commit()


def wait_for_acks(gen: int, timeout: float) -> bool:
    """Wait until every live router has applied `gen`. True when all did (or none is known).

    A router is live while it keeps polling (each poll and ack refreshes `seen`)."""
    window = dt.timedelta(seconds=get_settings().router_alive_seconds)
    deadline = time.monotonic() + timeout
    while True:
        mark = changes.mark(changes.ACKS)
        with session_factory()() as db:
            alive = dt.datetime.now(dt.timezone.utc) - window
            behind = db.scalar(select(RouterAck.router).where(RouterAck.seen > alive,
                                                              RouterAck.generation < gen).limit(1))
        left = deadline - time.monotonic()
        if behind is None:
            return True
        if left <= 0:
            return False
        changes.wait(changes.ACKS, mark, min(left, ACK_RECHECK))
