"""A release's state: `deploying` -> `serving` | `failed` (the reason in `exception`), and who deploys it.

A new release is `deploying` until its deploy settles it: `serving` once its processes are healthy and the
routers acknowledged the switch, `failed` with the reason otherwise. A release without a build is `serving`
from the start (there is nothing to start). Every change is announced on changes.RELEASES, at commit, so the
builder's long poll (GET /v2/hooks/releases/{version}/) answers at once.

Claims: whoever makes a release that is to be deployed holds its claim, a PostgreSQL advisory lock on a
connection of its own, from before the release is committed until its state is settled and committed. A
`deploying` release whose claim nobody holds is therefore an orphan: the process deploying it died (or lost
the database) first. `fail_orphans`, at every controller process's start and on every monitor pass, fails
those with a reason that says so, whichever process made them; PostgreSQL drops a dead process's claims.
"""
from __future__ import annotations

import psycopg2
from sqlalchemy import exc, select, text, update
from sqlalchemy.orm import Session

from ..db import connect_waiting, engine, libpq_dsn
from ..models import Release
from ..models.release import DEPLOYING, FAILED
from . import changes

CLAIMS = 0x534C5057  # advisory lock namespace of claims (the two-key form: apart from the app deploy locks)
INTERRUPTED = ("its deploy was interrupted before it served (the controller restarted or lost its database); "
               "push or deploy again")


def settle(db: Session, release: Release, state: str, reason: str = "") -> None:
    """Set the release's state; waiters wake when the caller commits."""
    release.state, release.exception = state, reason
    changes.announce(db, changes.RELEASES)


def _key(release_uuid) -> int:
    return int.from_bytes(release_uuid.bytes[:4], "big", signed=True)


class Claim:
    """The claim of a release that is flushed but not yet committed; `drop()` once its state is committed."""

    def __init__(self, release: Release) -> None:
        try:  # outside the pool: a queued deploy holds no pooled connection
            self._conn = connect_waiting(lambda: psycopg2.connect(libpq_dsn()))
        except psycopg2.OperationalError as error:
            raise exc.OperationalError("connect", {}, error) from None  # answered 503, as the pool's failures
        self._conn.autocommit = True
        with self._conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s, %s)", (CLAIMS, _key(release.uuid)))

    def drop(self) -> None:
        self._conn.close()  # the server releases the lock with the session


def fail_orphans(db: Session) -> int:
    """Fail every `deploying` release whose claim nobody holds. Returns how many."""
    failed = 0
    with engine().connect() as conn:
        for uuid in db.scalars(select(Release.uuid).where(Release.state == DEPLOYING)).all():
            key = {"ns": CLAIMS, "k": _key(uuid)}
            if not conn.execute(text("SELECT pg_try_advisory_lock(:ns, :k)"), key).scalar():
                continue
            try:  # settled meanwhile (its claim dropped after the commit): the state test leaves it alone
                failed += db.execute(update(Release).where(Release.uuid == uuid, Release.state == DEPLOYING)
                                     .values(state=FAILED, exception=INTERRUPTED)).rowcount
                changes.announce(db, changes.RELEASES)
                db.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:ns, :k)"), key)
                conn.commit()
    return failed
